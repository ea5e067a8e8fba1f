"""Plot views. Each creates its pyqtgraph items once and updates them with ``setData``."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

REAL_COLOR = (40, 120, 220)
FAKE_COLOR = (235, 90, 40)
D_COLOR = (120, 60, 200)
G_COLOR = (20, 160, 90)


class ScatterView(pg.PlotWidget):
    """Real samples vs generated samples (from fixed noise) for 2-D data."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("scatter_view")
        self.setAspectLocked(True)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.addLegend(offset=(10, 10))
        self.setTitle("Real vs generated")
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL_COLOR, 110), name="real")
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*FAKE_COLOR, 170), name="generated")
        self.addItem(self.real)
        self.addItem(self.fake)
        self._real_id = None
        self._autorange_pending = True

    def show_snapshot(self, snap) -> None:
        if self._real_id is not id(snap.real):  # the real sample changes only with a new run
            self.real.setData(pos=snap.real)
            self._real_id = id(snap.real)
            self._autorange_pending = True
        self.fake.setData(pos=snap.generated)
        if self._autorange_pending:
            self._fit(snap.real)
            self._autorange_pending = False

    def _fit(self, pts: np.ndarray) -> None:
        # Python floats: numpy float32 bounds make pyqtgraph's range-limit checks overflow.
        lo = [float(v) for v in np.percentile(pts, 0.5, axis=0)]
        hi = [float(v) for v in np.percentile(pts, 99.5, axis=0)]
        pad = 0.25 * max(hi[0] - lo[0], hi[1] - lo[1], 1e-3)
        self.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)


class CurvesView(pg.PlotWidget):
    """Several metric curves over steps, decimated by the history and clipped to view."""

    def __init__(self, title: str, series: dict[str, tuple[str, tuple]], parent=None, y_range=None):
        super().__init__(parent)
        self.setTitle(title)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.addLegend(offset=(-10, 10))
        self.setLabel("bottom", "step")
        self.setClipToView(True)
        self.setDownsampling(auto=True, mode="peak")
        if y_range is not None:
            self.setYRange(*y_range, padding=0.02)
        self.curves = {}
        for key, (label, color) in series.items():
            self.curves[key] = self.plot([], [], pen=pg.mkPen(color, width=1.5), name=label)

    def show_snapshot(self, snap) -> None:
        steps = snap.history["step"]
        for key, curve in self.curves.items():
            curve.setData(steps, moving_average(snap.history[key]))


def moving_average(values: np.ndarray, points: int = 200) -> np.ndarray:
    """Trailing mean over ``len/points`` samples: per-step GAN metrics are too noisy to read raw."""
    n = len(values)
    w = max(1, n // points)
    if w == 1:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty(n)
    out[w - 1:] = (c[w:] - c[:-w]) / w
    out[: w - 1] = c[1:w] / np.arange(1, w)
    return out


def loss_view(parent=None) -> CurvesView:
    return CurvesView("Losses", {"d_loss": ("D loss", D_COLOR), "g_loss": ("G loss", G_COLOR)}, parent)


def d_output_view(parent=None) -> CurvesView:
    return CurvesView(
        "Discriminator output",
        {"d_real": ("D(x) real", REAL_COLOR), "d_fake": ("D(G(z)) generated", FAKE_COLOR)},
        parent,
        y_range=(0.0, 1.0),
    )
