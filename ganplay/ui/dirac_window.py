"""The Dirac-GAN lab: the update field of the two-parameter GAN of Mescheder et al. (2018) over
(θ, ψ), trajectories from a draggable start point, and the eigenvalues at the equilibrium beside
the disc where gradient descent at the chosen step is stable.

Everything it shows comes from :mod:`ganplay.engine.dirac` (the registered losses, penalties and
optimizers). The computations are tiny (a 2000-step scan of two scalars: about a millisecond once
compiled; a new setting compiles in under a second), so they run on the GUI thread, coalesced by
a timer while the start point is dragged.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg  # (ganplay.ui's __init__ has imported PySide6 first)
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganplay.config import OPTIMIZERS
from ganplay.engine import dirac
from ganplay.engine.dirac import PRESETS, UPDATES, DiracSettings
from ganplay.engine.spectrum import step_growth
from ganplay.errors import GanplayError
from ganplay.losses import loss_names

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]
MAX_PATHS = 4
EXTENT = 2.5  # the phase plane shows θ, ψ in [−EXTENT, EXTENT]
GRID = 17
REGION = 200  # cells per side of the stable region's image
# The paper's comparison (its Figures 1-4): the current setting becomes the first of these.
PAPER_FOUR = (("ns simultaneous", DiracSettings(loss="ns", updates="simultaneous")),
              ("ns alternating", DiracSettings(loss="ns", updates="alternating")),
              ("ns + R1 γ 1", DiracSettings(loss="ns", r1_weight=1.0)),
              ("wgan-gp λ 1", DiracSettings(loss="wgan", updates="alternating", gp_weight=1.0)))
# (field, label, maximum, decimals, tooltip) of the penalty spin boxes
PENALTIES = (
    ("r1_weight", "R1 γ", 10.0, 2, "γ/2·‖∇D(x)‖² on the real point: damps D, the eigenvalues get real parts −γ/2"),
    ("r2_weight", "R2 γ", 10.0, 2, "γ/2·‖∇D(x)‖² on the generated point"),
    ("gp_weight", "Gradient penalty λ", 10.0, 2, "WGAN-GP's λ·(‖∇D‖ − 1)²: here it wants |ψ| = 1, not 0"),
    ("weight_clip", "Weight clip c", 5.0, 2, "clip ψ to [−c, c] after each D update (WGAN); 0: off"),
    ("instance_noise", "Instance noise σ", 3.0, 2, "Gaussian noise on D's inputs (in expectation): adds damping"),
)


def _pen(i: int, width: float = 2.0):
    return pg.mkPen(COLORS[i], width=width)


class DiracWindow(QWidget):
    """The lab's window: controls on the left, the phase plane and the eigenvalue plane, and one
    line per trajectory saying what its eigenvalues mean."""

    def __init__(self, parent=None):
        super().__init__(parent, Qt.Window)
        self.setObjectName("dirac_window")
        self.setWindowTitle("Dirac-GAN: why it cycles")
        self.start = (1.0, 1.0)
        self.pinned: list[tuple[str, DiracSettings]] = []  # overlays kept beside the current setting
        self._loading = False
        self._timer = QTimer(self, singleShot=True, interval=15)
        self._timer.timeout.connect(self.recompute)
        self.paths: list[np.ndarray] = []
        self._build_controls()
        self._build_plots()
        layout = QHBoxLayout(self)
        layout.addWidget(self.controls, 0)
        right = QVBoxLayout()
        plots = QHBoxLayout()
        plots.addWidget(self.phase, 3)
        plots.addWidget(self.eigen, 2)
        right.addLayout(plots, 1)
        right.addWidget(self.explanation)
        layout.addLayout(right, 1)
        self.resize(1180, 640)
        self.recompute()

    # -- construction ---------------------------------------------------------------------------
    def _combo(self, items, tip: str) -> QComboBox:
        box = QComboBox()
        box.addItems(list(items))
        box.setToolTip(tip)
        box.currentIndexChanged.connect(self._edited)
        return box

    def _spin(self, cls, lo, hi, step, decimals, tip: str):
        box = cls()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        if decimals is not None:
            box.setDecimals(decimals)
        box.setToolTip(tip)
        box.valueChanged.connect(self._edited)
        return box

    def _build_controls(self) -> None:
        self.controls = QWidget()
        form = QFormLayout(self.controls)
        self.preset_box = QComboBox()
        self.preset_box.addItem("(choose a preset)")
        for name, (text, _) in PRESETS.items():
            self.preset_box.addItem(name)
            self.preset_box.setItemData(self.preset_box.count() - 1, text, Qt.ToolTipRole)
        self.preset_box.setToolTip("The paper's cases: pick one to load its settings")
        self.preset_box.currentIndexChanged.connect(self._preset_chosen)
        form.addRow("Preset", self.preset_box)
        self.loss_box = self._combo(loss_names(), "The adversarial loss (the same functions a real run uses)")
        self.opt_box = self._combo(OPTIMIZERS, "Both players' optimizer")
        self.updates_box = self._combo(UPDATES, "simultaneous: G's gradient at D's old ψ; alternating: after D's step")
        self.lr_box = self._spin(QDoubleSpinBox, 0.001, 10.0, 0.05, 3, "The step size h of both players")
        self.d_steps_box = self._spin(QSpinBox, 1, 10, 1, None, "D updates per iteration")
        self.g_steps_box = self._spin(QSpinBox, 1, 10, 1, None, "G updates per iteration")
        self.steps_box = self._spin(QSpinBox, 10, 20000, 500, None, "Iterations each trajectory runs")
        self.steps_box.setValue(2000)
        for label, box in (("Loss", self.loss_box), ("Optimizer", self.opt_box), ("Updates", self.updates_box),
                           ("Step size h", self.lr_box), ("D steps", self.d_steps_box), ("G steps", self.g_steps_box),
                           ("Iterations", self.steps_box)):
            form.addRow(label, box)
        self.penalty_boxes = {}
        for field, label, hi, decimals, tip in PENALTIES:
            box = self._spin(QDoubleSpinBox, 0.0, hi, 0.1, decimals, tip)
            self.penalty_boxes[field] = box
            form.addRow(label, box)
        self.pin_button = QPushButton("Pin as overlay")
        self.pin_button.setToolTip(f"Keep this trajectory drawn while you change the settings (up to {MAX_PATHS} in all)")
        self.pin_button.clicked.connect(self.pin_current)
        self.four_button = QPushButton("The paper's four")
        self.four_button.setToolTip("ns simultaneous, ns alternating, ns + R1, wgan-gp: from the same start")
        self.four_button.clicked.connect(self.show_paper_four)
        self.clear_button = QPushButton("Clear overlays")
        self.clear_button.setToolTip("Draw only the current setting")
        self.clear_button.clicked.connect(self.clear_pins)
        for b in (self.pin_button, self.four_button, self.clear_button):
            form.addRow(b)
        hint = QLabel("Drag the ringed start point. Arrows: where each player's own gradient step moves "
                      "(θ, ψ); +: the equilibrium.")
        hint.setWordWrap(True)
        form.addRow(hint)
        self.load(DiracSettings())

    def _build_plots(self) -> None:
        self.phase = pg.PlotWidget(title="update field over (θ, ψ)", background="w")
        self.phase.setObjectName("dirac_phase")
        self.phase.setAspectLocked(True)
        self.phase.setLabel("bottom", "θ (the generator's point)")
        self.phase.setLabel("left", "ψ (the discriminator's slope)")
        self.phase.setRange(xRange=(-EXTENT, EXTENT), yRange=(-EXTENT, EXTENT), padding=0)
        self.phase.setToolTip("The update field (−∂L_G/∂θ, −∂L_D/∂ψ): each player descends its own loss")
        self.arrows = pg.PlotDataItem(pen=pg.mkPen((165, 165, 165), width=1), connect="pairs")
        self.phase.addItem(self.arrows)
        self.path_items = [pg.PlotDataItem(pen=_pen(i)) for i in range(MAX_PATHS)]
        for item in self.path_items:
            self.phase.addItem(item)
        self.phase.addItem(pg.ScatterPlotItem([0.0], [0.0], symbol="+", size=16, pen=pg.mkPen("k", width=2),
                                              brush=pg.mkBrush("k")))
        self.target = pg.TargetItem(pos=self.start, size=14, pen=pg.mkPen((20, 20, 20), width=2), movable=True)
        self.target.setToolTip("The start point: drag it")
        self.target.sigPositionChanged.connect(self._target_moved)
        self.phase.addItem(self.target)

        self.eigen = pg.PlotWidget(title="eigenvalues λ at the equilibrium", background="w")
        self.eigen.setObjectName("dirac_eigen")
        self.eigen.setAspectLocked(True)
        self.eigen.setLabel("bottom", "real part")
        self.eigen.setLabel("left", "imaginary part")
        self.eigen.setToolTip("×: the Jacobian's eigenvalues λ; ○: one gradient-descent step's eigenvalues μ as "
                              "(μ − 1)/h. Green: where the first setting's optimizer at step h contracts a direction "
                              "with eigenvalue λ (|1 + hλ| < 1 for gradient descent)")
        self.region = pg.ImageItem(axisOrder="row-major")
        self.region.setZValue(-10)
        self.eigen.addItem(self.region)
        self.eigen.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen((180, 180, 180))))
        self.eigen.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen((180, 180, 180))))
        self.lambda_items = [pg.ScatterPlotItem(symbol="x", size=14, pen=_pen(i), brush=pg.mkBrush(COLORS[i]))
                             for i in range(MAX_PATHS)]
        self.mu_items = [pg.ScatterPlotItem(symbol="o", size=16, pen=_pen(i, 1.5), brush=pg.mkBrush(None))
                         for i in range(MAX_PATHS)]
        for item in self.lambda_items + self.mu_items:
            self.eigen.addItem(item)
        self.explanation = QLabel()
        self.explanation.setObjectName("dirac_explanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.RichText)
        self.explanation.setToolTip("What the eigenvalues at the equilibrium mean for each trajectory")

    # -- settings -------------------------------------------------------------------------------
    def load(self, s: DiracSettings) -> None:
        """Show ``s`` in the controls (and recompute once)."""
        self._loading = True
        try:
            self.loss_box.setCurrentText(s.loss)
            self.opt_box.setCurrentText(s.opt)
            self.updates_box.setCurrentText(s.updates)
            self.lr_box.setValue(s.lr)
            self.d_steps_box.setValue(s.d_steps)
            self.g_steps_box.setValue(s.g_steps)
            for field, box in self.penalty_boxes.items():
                box.setValue(getattr(s, field))
        finally:
            self._loading = False
        self._edited()

    def settings(self) -> DiracSettings:
        """The controls' setting (the current trajectory, drawn first)."""
        return DiracSettings(loss=self.loss_box.currentText(), opt=self.opt_box.currentText(),
                             updates=self.updates_box.currentText(), lr=self.lr_box.value(),
                             d_steps=self.d_steps_box.value(), g_steps=self.g_steps_box.value(),
                             **{f: box.value() for f, box in self.penalty_boxes.items()})

    def _preset_chosen(self, index: int) -> None:
        if index > 0:
            self.load(PRESETS[self.preset_box.itemText(index)][1])

    def _edited(self, *_) -> None:
        if not self._loading:
            self._timer.start()

    def pin_current(self) -> None:
        s = self.settings()
        if len(self.pinned) >= MAX_PATHS - 1:
            self.pinned.pop(0)
        self.pinned.append((_label(s), s))
        self._timer.start()

    def clear_pins(self) -> None:
        self.pinned = []
        self._timer.start()

    def show_paper_four(self) -> None:
        """The paper's comparison: its first case in the controls, the other three pinned."""
        self.pinned = list(PAPER_FOUR[1:])
        self.load(PAPER_FOUR[0][1])

    def _target_moved(self) -> None:
        pos = self.target.pos()
        self.start = (float(pos.x()), float(pos.y()))
        self._timer.start()

    def set_start(self, theta: float, psi: float) -> None:
        """Move the start point (as dragging it does)."""
        self.target.setPos(theta, psi)

    def runs(self) -> list[tuple[str, DiracSettings]]:
        """What is drawn: the current setting, then the pinned ones (oldest first)."""
        current = self.settings()
        return [(_label(current), current)] + self.pinned[: MAX_PATHS - 1]

    # -- drawing --------------------------------------------------------------------------------
    def recompute(self) -> None:
        """Compute and draw the field, every trajectory, the eigenvalues and the explanation."""
        try:
            runs = self.runs()
            self.paths = [dirac.trajectory(s, self.start, self.steps_box.value()) for _, s in runs]
            spectra = [(dirac.eigenvalues(s), dirac.step_eigenvalues(s)) for _, s in runs]
        except GanplayError as exc:
            self.explanation.setText(f"<span style='color:#b00'>{exc}</span>")
            return
        self._draw_field(runs[0][1])
        for i, item in enumerate(self.path_items):
            if i < len(runs):
                path = self.paths[i]
                keep = np.all(np.isfinite(path), axis=1) & (np.abs(path).max(axis=1) < 50 * EXTENT)
                item.setData(path[keep, 0], path[keep, 1])
            else:
                item.setData([], [])
        self._draw_eigen(runs, spectra)
        lines = []
        for i, ((label, s), (ev, step_ev), path) in enumerate(zip(runs, spectra, self.paths)):
            dist = float(np.hypot(*path[-1])) if np.all(np.isfinite(path[-1])) else float("inf")
            colour = QColor(*COLORS[i]).name()
            lines.append(f"<span style='color:{colour}'>■</span> <b>{label}</b>: {dirac.explain(s, ev, step_ev)}; "
                         f"distance after {len(path) - 1} steps {dist:.3g}")
        self.explanation.setText("<br>".join(lines))

    def _draw_field(self, s: DiracSettings) -> None:
        theta, psi, values = dirac.field_grid(s, EXTENT * (GRID - 1) / GRID, GRID)
        tt, pp = np.meshgrid(theta, psi)
        norm = np.hypot(values[..., 0], values[..., 1])
        ok = np.isfinite(norm) & (norm > 1e-9)
        unit = np.where(ok[..., None], values / np.where(ok, norm, 1.0)[..., None], 0.0)
        length = 0.4 * (2 * EXTENT / GRID)  # one length for every arrow: the direction shows the rotation
        tip = np.stack([tt + length * unit[..., 0], pp + length * unit[..., 1]], -1)
        tail = np.stack([tt - length * unit[..., 0], pp - length * unit[..., 1]], -1)
        back = tip - 0.45 * (tip - tail)
        side = 0.25 * np.stack([-(tip - tail)[..., 1], (tip - tail)[..., 0]], -1)
        segments = [tail, tip, tip, back + side, tip, back - side]
        pts = np.stack(segments, axis=2)[ok].reshape(-1, 2)  # pairs: shaft, then the head's two strokes
        self.arrows.setData(pts[:, 0], pts[:, 1])

    def _draw_eigen(self, runs, spectra) -> None:
        first = runs[0][1]
        h = first.lr
        shown = []
        for i in range(MAX_PATHS):
            if i < len(runs):
                ev, step_ev = spectra[i]
                mapped = (step_ev - 1.0) / runs[i][1].lr
                small = [z for z in ev if np.isfinite(z) and abs(z) < 1e3]
                self.lambda_items[i].setData([z.real for z in small], [z.imag for z in small])
                plain = runs[i][1].opt == "sgd" and not runs[i][1].beta1  # the ○ are gradient descent's
                mapped = [z for z in mapped if abs(z) < 1e3] if plain else []
                self.mu_items[i].setData([z.real for z in mapped], [z.imag for z in mapped])
                shown += small
            else:
                self.lambda_items[i].setData([], [])
                self.mu_items[i].setData([], [])
        half = max([1.0] + [1.4 * abs(z) for z in shown])
        self.eigen.setRange(xRange=(-half, half), yRange=(-half, half), padding=0)
        momentum = first.beta1 if first.opt == "sgd" else 0.0
        growth_of = lambda z: step_growth(z, h, first.opt, momentum)
        if growth_of(np.zeros(1)) is None:  # Adam, RMSProp: no linear step; gradient descent's region
            growth_of = lambda z: step_growth(z, h)
        span = 2 * half  # the aspect lock may widen one axis: cover more than the square
        axis = (np.arange(REGION) + 0.5) / REGION * 2 * span - span
        rgba = np.zeros((REGION, REGION, 4), np.uint8)
        rgba[growth_of(axis[None, :] + 1j * axis[:, None]) < 1.0] = (200, 235, 205, 170)
        self.region.setImage(rgba, autoLevels=False)
        self.region.setRect(-span, -span, 2 * span, 2 * span)
        self.eigen.setTitle(f"λ (green: {first.opt} stable at h = {h:g})")


def _label(s: DiracSettings) -> str:
    parts = [s.loss, s.updates]
    if s.opt != "sgd":
        parts.insert(1, s.opt)
    parts += [f"{name} {getattr(s, f):g}" for f, name, *_ in PENALTIES if getattr(s, f) > 0]
    return ", ".join(parts)


def open_dirac(parent=None) -> DiracWindow:
    """Open the lab as its own window (shown)."""
    window = DiracWindow()
    window.setAttribute(Qt.WA_DeleteOnClose)
    window.show()
    return window
