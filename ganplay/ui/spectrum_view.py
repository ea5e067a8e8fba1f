"""The game's eigenvalues, live: a dock plotting the top eigenvalues of the joint gradient field's
Jacobian (:mod:`ganplay.engine.spectrum`) in the complex plane, older evaluations fading, beside
the disc |1 + hλ| < 1 where gradient descent at D's step size h is stable.

The worker evaluates them (its ``spectrum`` observer, set only while this dock is visible) and
hands them over in ``snapshot.spectrum``; the view only draws.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ganplay.engine.spectrum import explain, step_growth

TRAIL = 16  # evaluations drawn, the newest solid and the oldest faint
REGION = 480  # the stable region's image: REGION × REGION cells over six times the plotted square
REGION_RGBA = (200, 235, 205, 170)
COLOR = (200, 40, 60)
TIP = ("The top eigenvalues of the Jacobian of the game's joint gradient field (−∇_G L_G, −∇_D L_D) at the "
       "current parameters, by Arnoldi iteration on Jacobian-vector products. Large imaginary parts: the "
       "players rotate around each other; a positive real part: the update expands along that direction. "
       "Green: where D's optimizer at its step size h contracts the linearised game (|1 + hλ| < 1 for plain "
       "gradient descent; optimistic and momentum steps have wider or other regions; Adam and RMSProp, "
       "which rescale their steps, are shown gradient descent's).")


class SpectrumView(QWidget):
    """The eigenvalue dock: the plot, and one sentence on what the newest evaluation means."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("spectrum_view")
        self.plot = pg.PlotWidget(title="eigenvalues λ")  # short: the dock can be a third of 1024 px
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "real part")
        self.plot.setLabel("left", "imaginary part")
        self.plot.setToolTip(TIP)
        self.region = pg.ImageItem(axisOrder="row-major")
        self.region.setZValue(-10)
        self.plot.addItem(self.region)
        self.plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((170, 170, 170))))
        self.plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen((170, 170, 170))))
        self.points = pg.ScatterPlotItem(symbol="x", size=12)
        self.plot.addItem(self.points)
        self.text = QLabel("Play a toy model: the eigenvalues come every few hundred steps "
                           "(at most a tenth of the training time)")
        self.text.setObjectName("spectrum_explanation")
        self.text.setWordWrap(True)
        self.text.setToolTip(TIP)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.text)
        self._shown = None

    def show_snapshot(self, snap) -> None:
        spec = snap.spectrum
        if spec is None:
            return
        if spec.note:
            self.text.setText(spec.note)
        c = snap.config
        key = (tuple(spec.steps), c.lr_d, c.opt_d, c.beta1)
        if not spec.steps or key == self._shown:
            return
        self._shown = key
        costs = [t for t in spec.seconds if t > 0]  # (the first evaluation compiled: not a cost)
        self.show_eigenvalues(spec.steps[-TRAIL:], spec.eigenvalues[-TRAIL:], c.lr_d,
                              costs[-1] if costs else 0.0, spec.share, c.opt_d, c.beta1 if c.opt_d == "sgd" else 0.0)

    def show_eigenvalues(self, steps, eigenvalues, lr: float, seconds: float = 0.0, share: float = 0.0,
                         opt: str = "sgd", momentum: float = 0.0) -> None:
        """Draw the evaluations (oldest first; the last is the newest) and ``opt``'s stable region
        at step size ``lr``."""
        xs, ys, brushes, pens = [], [], [], []
        n = len(eigenvalues)
        for i, ev in enumerate(eigenvalues):
            alpha = int(255 * (0.15 + 0.85 * (i + 1) / n))
            for z in ev:
                xs.append(z.real)
                ys.append(z.imag)
                brushes.append(pg.mkBrush(*COLOR, alpha))
                pens.append(pg.mkPen(*COLOR, alpha, width=2 if i == n - 1 else 1))
        self.points.setData(xs, ys, brush=brushes, pen=pens)
        newest = np.asarray(eigenvalues[-1])
        half = 1.25 * float(np.max(np.abs(newest))) if newest.size else 1.0
        self.plot.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)
        self._draw_region(half, lr, opt, momentum)
        self.plot.setTitle(f"eigenvalues λ, step {steps[-1]:,}")
        cost = f" ({seconds * 1000:.0f} ms per evaluation" if seconds else ""
        cost += f", {100 * share:.1f}% of the training time)" if share else (")" if seconds else "")
        sentence = _sentence(explain(newest, lr, opt, momentum))
        self.text.setText(f"{sentence.split('; the largest real part')[0].split('; try')[0]}.{cost}")
        self.text.setToolTip(f"{sentence}.\n\n{TIP}")
        self.text.setAlignment(Qt.AlignLeft)

    def _draw_region(self, half: float, lr: float, opt: str, momentum: float) -> None:
        """Green where a step of ``opt`` contracts the linearised game (gradient descent's region
        for an optimizer with no linear step)."""
        half *= 6  # the aspect lock widens one axis (a short, wide dock: by 3 or more): cover it
        axis = (np.arange(REGION) + 0.5) / REGION * 2 * half - half
        grid = axis[None, :] + 1j * axis[:, None]  # row i at imaginary part axis[i]
        growth = step_growth(grid, lr, opt, momentum)
        if growth is None:
            growth = step_growth(grid, lr)
        rgba = np.zeros((REGION, REGION, 4), np.uint8)
        rgba[growth < 1.0] = REGION_RGBA
        self.region.setImage(rgba, autoLevels=False)
        self.region.setRect(-half, -half, 2 * half, 2 * half)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
