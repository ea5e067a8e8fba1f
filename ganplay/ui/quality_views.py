"""The quality plots: each quality metric on its own axis over steps (modes or FID above, KL or
IS below, a dashed line at a perfect score), and the generated images' class histogram."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ganplay.ui.views import D_COLOR, FAKE_COLOR, G_COLOR, TidyAxis, compact_title, metric_axes


class QualityView(pg.GraphicsLayoutWidget):
    """Quality metrics over steps: modes captured and KL for 2-D data, FID and IS for images.

    Each metric has a small plot of its own, with its own axis, one above the other on the same
    steps (a second y axis on the right was cut off whenever the plot was narrow). Reference
    lines (dashed) show what a perfect generator scores (all modes; the real-vs-real FID floor and
    the real data's IS), so the numbers read against something.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("quality_view")
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.ci.layout.setVerticalSpacing(0)
        self.primary_plot = self.addPlot(row=0, col=0, axisItems=metric_axes())
        self.secondary_plot = self.addPlot(row=1, col=0, axisItems=metric_axes())
        # Not x-linked: both plot the same steps, so each one's own auto-range agrees (a link goes
        # stale when the docks are re-laid out: docs/decisions.md).
        self.plots = (self.primary_plot, self.secondary_plot)
        self.primary, self.primary_ref = self._metric(self.primary_plot, G_COLOR, "o", pg.QtCore.Qt.DashLine)
        self.secondary, self.secondary_ref = self._metric(self.secondary_plot, D_COLOR, "t", pg.QtCore.Qt.DotLine)
        for plot in self.plots:
            plot.getAxis("left").setWidth(48)
        compact_title(self.primary_plot, "Quality: not evaluated yet")
        self.secondary_plot.setVisible(False)  # until the first evaluation says which metrics
        self.summary = ""
        self._keys = None

    @staticmethod
    def _metric(plot: pg.PlotItem, color, symbol: str, ref_style):
        curve = plot.plot([], [], pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=4,
                          symbolBrush=pg.mkBrush(*color), symbolPen=None)
        ref = pg.InfiniteLine(angle=0, pen=pg.mkPen(color, style=ref_style))
        plot.addItem(ref)
        return curve, ref

    def show_snapshot(self, snap) -> None:
        q = snap.quality.series
        if len(q.get("step", ())) == 0:
            self.primary.setData([], [])
            self.secondary.setData([], [])
            self.summary = ""
            return
        steps = np.asarray(q["step"], np.float64)
        if "modes" in q:
            total = snap.quality.modes_total
            keys = ("modes", "kl", f"Modes captured (of {'?' if total is None else total})", "KL(real‖gen)")
            ref1, ref2 = total, 0.0
        elif "fid" in q:
            keys = ("fid", "inception_score", "Classifier FID", "Classifier IS")
            floor = snap.quality.floor or {}
            ref1, ref2 = floor.get("fid"), floor.get("inception_score")
        else:
            keys = ("kl", None, "KL(real‖gen)", "")
            ref1, ref2 = 0.0, None
        if keys != self._keys:  # a new kind of run: new titles, and the second plot only if used
            self._keys = keys
            compact_title(self.primary_plot, keys[2], G_COLOR)
            compact_title(self.secondary_plot, keys[3], D_COLOR)
            self.secondary_plot.setVisible(keys[1] is not None)
            self.primary_plot.showAxis("bottom", keys[1] is None)  # else the plot below shows the steps
        self.primary.setData(steps, np.asarray(q[keys[0]], np.float64))
        self.primary_ref.setVisible(ref1 is not None)
        if ref1 is not None:
            self.primary_ref.setValue(float(ref1))
        if keys[1] and keys[1] in q:
            self.secondary.setData(steps, np.asarray(q[keys[1]], np.float64))
        else:
            self.secondary.setData([], [])
        self.secondary_ref.setVisible(ref2 is not None)
        if ref2 is not None:
            self.secondary_ref.setValue(float(ref2))
        last = {k: float(np.asarray(q[k])[-1]) for k in q if k != "step" and len(q[k])}
        if "modes" in last:
            total = snap.quality.modes_total
            self.summary = f"modes {last['modes']:.0f}/{'?' if total is None else total}"
            if "high_quality" in last:
                self.summary += f" · {100 * last['high_quality']:.0f}% high quality"
        elif "fid" in last:
            self.summary = f"FID {last['fid']:.1f}" + (f" (floor {ref1:.1f})" if ref1 is not None else "")
        elif "kl" in last:
            self.summary = f"KL {last['kl']:.3f}"


class ClassHistogramView(pg.PlotWidget):
    """Predicted classes of generated images: a tall single bar is mode collapse at a glance."""

    def __init__(self, parent=None):
        super().__init__(parent, axisItems={"left": TidyAxis("left"), "bottom": TidyAxis("bottom")})
        self.setObjectName("class_histogram")
        self.setTitle("Generated classes")
        self.setLabel("bottom", "predicted class")
        self.setYRange(0, 1, padding=0.02)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.8, brush=pg.mkBrush(*FAKE_COLOR))
        self.addItem(self.bars)
        self.uniform = pg.InfiniteLine(pos=0.1, angle=0, pen=pg.mkPen((100, 100, 100), style=pg.QtCore.Qt.DashLine))
        self.addItem(self.uniform)

    def show_hist(self, hist) -> None:
        h = np.asarray(hist, np.float64)
        self.bars.setOpts(x=np.arange(len(h)), height=h)
        self.uniform.setValue(1.0 / max(len(h), 1))
