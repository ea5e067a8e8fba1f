"""Plot views. Each creates its pyqtgraph items once and updates them with ``setData``."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

REAL_COLOR = (40, 120, 220)
FAKE_COLOR = (235, 90, 40)
D_COLOR = (120, 60, 200)
G_COLOR = (20, 160, 90)


MANIFOLD_COLOR = (90, 90, 90)
ARROW_COLOR = (30, 30, 30)
PATH_COLOR = (200, 20, 120)
MOVED_LINES = 400  # step-by-step mode: lines from where G's update moved this many points


class ScatterView(pg.PlotWidget):
    """Real samples vs generated samples (from fixed noise) for 2-D data, with GAN Lab's overlays.

    Overlays (each optional, computed by the worker only while shown): D's decision field as a
    heat map under the points with a colour bar, the gradient G's loss puts on each generated
    point as an arrow, the generator's manifold (the image of a regular noise grid) as a mesh,
    and a latent interpolation path. ``drawing`` turns mouse drags into user data points.
    """

    points_drawn = pg.QtCore.Signal(int)  # number of drawn points so far

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("scatter_view")
        self.setAspectLocked(True)
        # No grid lines on the live plots: pyqtgraph draws a grid as part of each axis, so every
        # data update repainted both axes whole (2 ms each, a third of the window's CPU).
        # The title is the legend: a legend inside the plot sat on the points early in training.
        self.setTitle(f"{_coloured('● real', REAL_COLOR)} vs {_coloured('● generated', FAKE_COLOR)}")
        self.field = pg.ImageItem(axisOrder="row-major")
        self.field.setZValue(-10)
        self.field.setOpacity(0.75)
        self.field.setVisible(False)
        self.addItem(self.field)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("CET-D1A"),
                                        label="D(x): probability real", interactive=False, width=12)
        self.colorbar.setImageItem(self.field, insert_in=self.getPlotItem())
        self.colorbar.setVisible(False)
        self.colorbar.axis.setWidth(40)
        self.getAxis("left").setWidth(48)
        self.manifold = pg.PlotCurveItem(pen=pg.mkPen(*MANIFOLD_COLOR, 110, width=1), connect="finite")
        self.manifold.setVisible(False)
        self.addItem(self.manifold)
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL_COLOR, 110), name="real")
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*FAKE_COLOR, 170), name="generated")
        # The real sample stays put while training runs: Qt keeps its painting as a pixmap and
        # redraws it only when the view's range changes (1,500 points drawn cost a third of a frame).
        self.real.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # A sampler (DRS, MH) on: ``fake`` holds the samples it accepted, ``rejected`` the rest, as rings.
        self.rejected = pg.ScatterPlotItem(size=5, pen=pg.mkPen(*FAKE_COLOR, 120, width=1), brush=None,
                                           name="rejected")
        self.rejected.setVisible(False)
        self.addItem(self.real)
        self.addItem(self.rejected)
        self.addItem(self.fake)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen(*ARROW_COLOR, 160, width=1), connect="pairs")
        self.arrows.setVisible(False)
        self.addItem(self.arrows)
        self.path = pg.PlotDataItem(pen=pg.mkPen(*PATH_COLOR, width=2), symbol="o", symbolSize=5,
                                    symbolBrush=pg.mkBrush(*PATH_COLOR), symbolPen=None)
        self.path.setVisible(False)
        self.addItem(self.path)
        # Step-by-step mode: rings on the batch the step uses, and a line from each generated
        # point to where G's update moved it.
        self.batch_real = pg.ScatterPlotItem(size=10, pen=pg.mkPen(*REAL_COLOR, 230, width=1.5), brush=None)
        self.batch_fake = pg.ScatterPlotItem(size=10, pen=pg.mkPen(*FAKE_COLOR, 230, width=1.5), brush=None)
        self.moved = pg.PlotCurveItem(pen=pg.mkPen(*G_COLOR, 200, width=1), connect="pairs")
        for item in (self.batch_real, self.batch_fake, self.moved):
            item.setVisible(False)
            self.addItem(item)
        self.drawn = pg.ScatterPlotItem(size=6, pen=pg.mkPen("k"), brush=pg.mkBrush(250, 200, 0, 220))
        self.addItem(self.drawn)
        self.drawn_points: list[tuple[float, float]] = []
        self.drawing = False
        self.brush_spread = 0.05  # a drag sprays points this far around the cursor (data units)
        self._rng = np.random.default_rng(0)
        self.show_field = self.show_arrows = self.show_manifold = self.show_path = False
        self._real_id = None
        self._sampler_shown = None
        self._autorange_pending = True

    def show_snapshot(self, snap) -> None:
        if self._real_id != id(snap.real):  # the real sample changes only with a new run
            self.real.setData(pos=snap.real)
            self._real_id = id(snap.real)
            self._autorange_pending = True
        self._show_sampled(snap.generated, snap.sampler)
        field = snap.field if self.show_field else None
        if field is not None:
            x0, x1, y0, y1 = (float(v) for v in field.extent)
            self.field.setImage(np.asarray(field.values, np.float32), autoLevels=False, levels=(0.0, 1.0))
            self.field.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.field.setVisible(field is not None)
        self.colorbar.setVisible(field is not None)
        arrows = snap.arrows if self.show_arrows else None
        if arrows is not None:
            self.arrows.setData(*_arrow_segments(snap.generated[: len(arrows)], arrows, self._view_size()))
        self.arrows.setVisible(arrows is not None)
        mesh = snap.manifold if self.show_manifold else None
        if mesh is not None:
            self.manifold.setData(*_mesh_lines(np.asarray(mesh)))
        self.manifold.setVisible(mesh is not None)
        path = snap.interpolation if self.show_path else None
        if path is not None and np.ndim(path) == 2:
            self.path.setData(path[:, 0], path[:, 1])
        self.path.setVisible(path is not None and np.ndim(path) == 2)
        self._show_substep(snap, snap.substep)
        if self._autorange_pending:
            self._fit(snap.real)
            self._autorange_pending = False

    def _show_sampled(self, generated: np.ndarray, sampled) -> None:
        """G's samples; with a sampler on, those it accepted filled and the rest as rings."""
        name = None if sampled is None else sampled.name
        if name != self._sampler_shown:
            self._sampler_shown = name
            rejected = "" if name is None else f" · {_coloured('○ rejected by ' + name.upper(), FAKE_COLOR)}"
            self.setTitle(f"{_coloured('● real', REAL_COLOR)} vs {_coloured('● generated', FAKE_COLOR)}{rejected}")
        if sampled is None:
            move_points(self.fake, generated)
            self.rejected.setVisible(False)
            return
        accepted = np.asarray(sampled.accepted, bool)
        move_points(self.fake, generated[accepted])
        move_points(self.rejected, generated[~accepted])
        self.rejected.setVisible(True)

    def _show_substep(self, snap, sub) -> None:
        """Step-by-step mode: ring the batch a sample/D sub-step drew; after G's update, a line
        from each generated point's previous place to its new one. Hidden once training plays."""
        batch = sub is not None and sub.phase in ("sample", "d") and sub.batch_real is not None
        if batch:
            self.batch_real.setData(pos=sub.batch_real)
            self.batch_fake.setData(pos=sub.batch_fake)
        self.batch_real.setVisible(batch)
        self.batch_fake.setVisible(batch)
        before = sub.previous_fake if sub is not None else None
        if before is not None:  # a few hundred lines: all 2,500 would hide the points
            n = min(len(before), len(snap.generated), MOVED_LINES)
            pairs = np.empty((2 * n, 2), np.float64)
            pairs[0::2], pairs[1::2] = before[:n], snap.generated[:n]
            self.moved.setData(pairs[:, 0], pairs[:, 1])
        self.moved.setVisible(before is not None)

    def view_extent(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.getViewBox().viewRange()
        return float(x0), float(x1), float(y0), float(y1)

    def _view_size(self) -> float:
        x0, x1, y0, y1 = self.view_extent()
        return max(x1 - x0, y1 - y0, 1e-9)

    # -- draw mode --------------------------------------------------------------------------------
    def set_drawing(self, on: bool) -> None:
        self.drawing = on
        self.getViewBox().setMouseEnabled(x=not on, y=not on)  # drags paint instead of panning
        self.setCursor(pg.QtCore.Qt.CrossCursor if on else pg.QtCore.Qt.ArrowCursor)

    def clear_drawn(self) -> None:
        self.drawn_points.clear()
        self.drawn.setData(pos=np.zeros((0, 2)))
        self.points_drawn.emit(0)

    def add_drawn(self, x: float, y: float, n: int = 6) -> None:
        pts = np.array([x, y]) + self._rng.normal(0.0, self.brush_spread * self._view_size() / 4, (n, 2))
        self.drawn_points.extend(map(tuple, pts.tolist()))
        self.drawn.setData(pos=np.asarray(self.drawn_points))
        self.points_drawn.emit(len(self.drawn_points))

    def mousePressEvent(self, ev):
        if self.drawing and ev.button() == pg.QtCore.Qt.LeftButton:
            self._paint_at(ev.position())
            ev.accept()
            return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev):
        if self.drawing and ev.buttons() & pg.QtCore.Qt.LeftButton:
            self._paint_at(ev.position())
            ev.accept()
            return
        super().mouseMoveEvent(ev)

    def _paint_at(self, pos) -> None:
        p = self.getViewBox().mapSceneToView(self.mapToScene(pos.toPoint()))
        self.add_drawn(p.x(), p.y())

    def _fit(self, pts: np.ndarray) -> None:
        # Python floats: numpy float32 bounds make pyqtgraph's range-limit checks overflow.
        lo = [float(v) for v in np.percentile(pts, 0.5, axis=0)]
        hi = [float(v) for v in np.percentile(pts, 99.5, axis=0)]
        pad = 0.25 * max(hi[0] - lo[0], hi[1] - lo[1], 1e-3)
        self.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)


class TidyAxis(pg.AxisItem):
    """An axis whose tick labels never run into each other; with ``steps`` they read 500, 1k, 2.5k.

    pyqtgraph spaces ticks by the axis length alone, so on a narrow plot neighbouring labels touch
    ("01000 2000"). Labels are kept in pyqtgraph's order (major ticks first) and any that would
    overlap one already kept, with a small gap, is dropped. This runs only when the axis is
    redrawn (a range change), on a handful of rectangles.
    """

    GAP = 6  # pixels between two labels

    def __init__(self, orientation: str, steps: bool = False, **kwargs):
        super().__init__(orientation, **kwargs)
        self.steps = steps

    def tickStrings(self, values, scale, spacing):
        if not self.steps:
            return super().tickStrings(values, scale, spacing)
        return [compact_count(v * scale) for v in values]

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        g = self.GAP / 2
        kept = []
        for spec in texts:
            rect = spec[0].adjusted(-g, -g / 3, g, g / 3)
            if not any(rect.intersects(k[0]) for k in kept):
                kept.append(spec)
        return axis, ticks, kept


def compact_count(value: float) -> str:
    """A step count as a short tick label: 0, 750, 1.5k, 20k, 1.2M."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= unit:
            return f"{value / unit:.3g}{suffix}"
    return f"{value:.0f}" if value == round(value) else f"{value:.3g}"


def metric_axes() -> dict[str, TidyAxis]:
    """Axis items for a metric plot over steps."""
    return {"left": TidyAxis("left"), "bottom": TidyAxis("bottom", steps=True)}


TITLE_HEIGHT = 20  # px: pyqtgraph's 30 is a lot of a small plot's height


def compact_title(plot: pg.PlotItem, text: str, color=None) -> None:
    """A small title (9 pt in a 20 px row) so that narrow plots keep most of their height."""
    plot.setTitle(text, size="9pt", **({"color": color} if color is not None else {}))
    plot.titleLabel.setMaximumHeight(TITLE_HEIGHT)
    plot.layout.setRowFixedHeight(0, TITLE_HEIGHT)


def series_key(plot: pg.PlotItem, series) -> pg.LabelItem:
    """The curves' names in their colours, on a row of their own under the plot.

    A legend inside the plot sits on the curves whenever they pass its corner; below the axis it
    covers nothing. ``series`` is (label, colour, dashed) tuples.
    """
    parts = [_coloured(f"{'╌' if dashed else '━'}&nbsp;{label}", color) for label, color, dashed in series]
    key = pg.LabelItem("&nbsp;&nbsp;".join(parts), size="8pt")
    plot.layout.addItem(key, 4, 1)
    plot.layout.setRowFixedHeight(4, 16)
    return key


def _coloured(html: str, color) -> str:
    return f"<span style='color:{pg.mkColor(color).name()}'>{html}</span>"


class CurvesView(pg.PlotWidget):
    """Several metric curves over steps (at most 4,096 points each: the history decimates)."""

    def __init__(self, title: str, series: dict[str, tuple[str, tuple]], parent=None, y_range=None):
        super().__init__(parent, axisItems=metric_axes())
        plot = self.getPlotItem()
        compact_title(plot, title)
        # The step axis needs no label: its ticks read 1k, 2k, and the dock says what is plotted.
        self.key = series_key(plot, [(label, color, False) for label, color in series.values()])
        # No clipToView/auto-downsampling: with auto-ranged axes they feed back into each other
        # (the clipped data sets the range, the range sets the clip) and the plot repainted itself
        # forever after ~5,000 steps, starving every timer. The history holds at most 4,096
        # points per curve, cheap to draw whole.
        _fix_axis_widths(self)
        if y_range is not None:
            self.setYRange(*y_range, padding=0.02)
        self.curves = {}
        for key, (label, color) in series.items():
            self.curves[key] = self.plot([], [], pen=pg.mkPen(color, width=1.5), name=label)

    def show_snapshot(self, snap) -> None:
        steps = snap.history["step"]
        # The moving average leaves ~200 independent points; drawing all 4,096 cost ~2 ms a curve
        # per paint, the largest share of the window's CPU (taken from training).
        keep = decimation(len(steps), DRAWN_POINTS)
        for key, curve in self.curves.items():
            curve.setData(steps[keep], moving_average(snap.history[key])[keep])


def move_points(item: pg.ScatterPlotItem, pos: np.ndarray) -> None:
    """Give a scatter's points new positions, keeping their style.

    ``setData`` re-styles every point in a Python loop (3 ms for a thousand points, every frame);
    for the same number of identically styled points only the coordinates need to change.
    """
    pos = np.asarray(pos)
    data = item.data
    if len(data) != len(pos) or len(pos) == 0 or pos.ndim != 2:
        item.setData(pos=pos)
        return
    data["x"] = pos[:, 0]
    data["y"] = pos[:, 1]
    item.prepareGeometryChange()
    item.informViewBoundsChanged()
    item.bounds = [None, None]
    item.invalidate()
    item.sigPlotChanged.emit(item)


def _fix_axis_widths(plot: pg.PlotWidget, width: int = 48) -> None:
    """Fixed axis widths: pyqtgraph sizes an axis to its tick labels, and labels whose width
    changes with every redraw re-layout the plot, which asks for another paint; fixed widths keep
    a live plot from repainting itself in a loop."""
    for side in ("left", "right"):
        plot.getAxis(side).setWidth(width)


def _arrow_segments(points: np.ndarray, grads: np.ndarray, view: float):
    """Line segments (for ``connect="pairs"``) from each point along its gradient.

    Gradient norms vary by orders of magnitude, so lengths are scaled so the longest arrow is
    8% of the view; directions and relative lengths stay true.
    """
    g = np.asarray(grads, np.float64)
    norm = np.linalg.norm(g, axis=1).max(initial=0.0)
    scale = 0.08 * view / norm if norm > 0 and np.isfinite(norm) else 0.0
    ends = points + g * scale
    xy = np.empty((2 * len(points), 2))
    xy[0::2], xy[1::2] = points, ends
    return xy[:, 0], xy[:, 1]


def _mesh_lines(mesh: np.ndarray):
    """The rows and columns of an [a, b, 2] grid of points as NaN-separated polylines."""
    a, b, _ = mesh.shape
    rows = np.concatenate([mesh, np.full((a, 1, 2), np.nan)], axis=1).reshape(-1, 2)
    if a > 1:
        cols_src = mesh.transpose(1, 0, 2)
        cols = np.concatenate([cols_src, np.full((b, 1, 2), np.nan)], axis=1).reshape(-1, 2)
        rows = np.concatenate([rows, cols])
    return rows[:, 0], rows[:, 1]


DRAWN_POINTS = 512  # per curve: a few per pixel column of a typical plot


def decimation(n: int, at_most: int) -> slice:
    """Every k-th index so that at most ``at_most`` remain, always ending on the newest."""
    k = max(1, -(-n // at_most))
    return slice((n - 1) % k, n, k)


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
        {"d_real": ("D(x) real", REAL_COLOR), "d_fake": ("D(G(z)) fake", FAKE_COLOR)},
        parent,
        y_range=(0.0, 1.0),
    )
