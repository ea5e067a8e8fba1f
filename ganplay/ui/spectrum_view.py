"""The game's eigenvalues, live: a dock plotting the top eigenvalues of the joint gradient field's
Jacobian (:mod:`ganplay.engine.spectrum`) in the complex plane, older evaluations fading, beside
the disc |1 + hλ| < 1 where gradient descent at D's step size h is stable.

The worker evaluates them (its ``spectrum`` observer, set only while this dock is visible) and
hands them over in ``snapshot.extras["spectrum"]``; the view only draws.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsEllipseItem, QLabel, QVBoxLayout, QWidget

from ganplay.engine.spectrum import explain

TRAIL = 16  # evaluations drawn, the newest solid and the oldest faint
COLOR = (200, 40, 60)
TIP = ("The top eigenvalues of the Jacobian of the game's joint gradient field (−∇_G L_G, −∇_D L_D) at the "
       "current parameters, by Arnoldi iteration on Jacobian-vector products. Large imaginary parts: the "
       "players rotate around each other; a positive real part: the update expands along that direction. "
       "Green: |1 + hλ| < 1, where plain gradient descent at D's step size h is stable.")


class SpectrumView(QWidget):
    """The eigenvalue dock: the plot, and one sentence on what the newest evaluation means."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("spectrum_view")
        self.plot = pg.PlotWidget(title="the game's eigenvalues λ")
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "real part")
        self.plot.setLabel("left", "imaginary part")
        self.plot.setToolTip(TIP)
        self.disc = QGraphicsEllipseItem()
        self.disc.setBrush(pg.mkBrush(200, 235, 205, 150))
        self.disc.setPen(pg.mkPen((60, 150, 80), width=1.5))
        self.disc.setZValue(-10)
        self.plot.addItem(self.disc)
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
        spec = snap.extras.get("spectrum")
        if spec is None:
            return
        if spec["note"]:
            self.text.setText(spec["note"])
        key = (tuple(spec["steps"]), snap.config.lr_d)
        if not spec["steps"] or key == self._shown:
            return
        self._shown = key
        self.show_eigenvalues(spec["steps"][-TRAIL:], spec["eigenvalues"][-TRAIL:], snap.config.lr_d,
                              spec["seconds"][-1], spec["share"])

    def show_eigenvalues(self, steps, eigenvalues, lr: float, seconds: float = 0.0, share: float = 0.0) -> None:
        """Draw the evaluations (oldest first; the last is the newest) for step size ``lr``."""
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
        centre, radius = -1.0 / lr, 1.0 / lr
        self.disc.setRect(centre - radius, -radius, 2 * radius, 2 * radius)
        newest = np.asarray(eigenvalues[-1])
        half = 1.25 * float(np.max(np.abs(newest))) if newest.size else 1.0
        self.plot.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)
        self.plot.setTitle(f"the game's eigenvalues λ at step {steps[-1]:,} (green: stable at h = {lr:g})")
        cost = f" ({seconds * 1000:.0f} ms each, {100 * share:.1f}% of training time)" if seconds else ""
        self.text.setText(f"{explain(newest, lr)}.{cost}")
        self.text.setAlignment(Qt.AlignLeft)
