"""The latent lab dock: steer the generator being trained by hand (image models).

A focus sample (click a generated tile, press R for a random one, or type its seed) drawn large
beside its 3 nearest training images; sliders along the discovered GANSpace directions (or the
raw noise axes for small noise sizes) and a truncation slider; the sheet of one direction; for
conditional models the class x style grid and a class interpolation. The lab's thread
(:class:`~ganplay.ui.latent_worker.LatentWorker`) does every JAX call; this widget only keeps
NumPy values (the focus noise, the slider amounts, the directions) and draws results.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from ganplay.engine import latent as lab_math
from ganplay.engine.latent import Directions, noise_from_seed, same_network
from ganplay.ui import latent_jobs as jobs
from ganplay.ui.image_views import ImageGridView
from ganplay.ui.latent_files import LatentFiles
from ganplay.ui.latent_layout import SLIDER_STEPS, lay_out, slider_row
from ganplay.ui.latent_worker import LatentWorker
from ganplay.ui.widgets import int_box

MAX_SLIDERS = 16  # rows built once: 10 discovered directions, or up to 16 raw axes
REDISCOVER_STEPS = 500  # training steps after which the directions are found again (Auto)
REDISCOVER_BUDGET = 10.0  # ... at most once per this many times the last discovery's duration
REDISCOVER_MIN_S = 20.0
REDISCOVER_MAX_S = 120.0


class LatentDock(LatentFiles, QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("latent_lab")
        self.worker = LatentWorker()
        self.worker.ready.connect(self._on_ready)
        self.worker.failed.connect(self._on_failed)
        self.snap = None  # the GeneratorSnapshot in use (NumPy; the lab's thread has its LatentLab)
        self.directions: Directions | None = None
        self.amounts = np.zeros(MAX_SLIDERS, np.float32)  # slider positions, in sd
        self.z = None  # the focus noise before truncation and steering
        self.focus_class = 0
        self._discovered_at = -1e9
        self._discover_seconds = 1.0
        self._render_asked = 0.0
        self.last_latency_s = None  # slider move to focus image drawn (measured for the README)
        self.focus_image = None
        self.rendered_z = None  # the noise ``focus_image`` was drawn from

        self.focus_view = ImageGridView("Focus", strip=True)
        self.focus_view.setMinimumSize(180, 180)
        self.nearest_view = ImageGridView("Nearest training images", strip=True)
        self.nearest_label = QLabel("L2 distance: –")
        self.nearest_label.setToolTip("Distances in pixel space (pixels in [-1, 1]) to the 3 nearest training images")
        self.seed_box = int_box(-1, 2**31 - 1)
        self.seed_box.setSpecialValueText("clicked")  # -1: the focus came from the grid or a file
        self.seed_box.setToolTip("The focus sample's noise seed (type one; R draws one at random)")
        self.seed_box.valueChanged.connect(self._on_seed)
        random_button = QPushButton("Random (R)")
        random_button.clicked.connect(self.random_focus)
        QShortcut(QKeySequence("R"), self, self.random_focus, context=Qt.WidgetWithChildrenShortcut)
        self.class_box = QComboBox()
        self.class_box.setToolTip("Conditional models: the focus sample's class")
        self.class_box.currentIndexChanged.connect(self._on_class)
        self.psi_slider = QSlider(Qt.Horizontal)
        self.psi_slider.setRange(0, 150)
        self.psi_slider.setValue(100)
        self.psi_slider.setToolTip("Truncation psi: 0 pulls the focus to the mean noise, 1 leaves it, 1.5 pushes it out")
        self.psi_slider.valueChanged.connect(self._on_psi)
        self.psi_label = QLabel("psi 1.00")

        self.rediscover_button = QPushButton("Rediscover")
        self.rediscover_button.setToolTip("Find the directions again on the generator as it is now (GANSpace)")
        self.rediscover_button.clicked.connect(self.rediscover)
        self.auto_box = QCheckBox("Auto")
        self.auto_box.setChecked(True)
        self.auto_box.setToolTip(f"Rediscover by itself when training has moved on {REDISCOVER_STEPS} steps "
                                 f"(at most a tenth of the time)")
        self.axes_box = QComboBox()
        self.axes_box.addItems(["GANSpace directions", "raw noise axes"])
        self.axes_box.setToolTip(f"Raw noise axes: for noise sizes up to {lab_math.RAW_AXES_MAX_Z}")
        self.axes_box.currentIndexChanged.connect(self._on_axes)
        self.found_label = QLabel("directions: not found yet")
        self.rows = [slider_row(self, i) for i in range(MAX_SLIDERS)]
        zero = QPushButton("Zero")
        zero.setToolTip("Every slider back to 0")
        zero.clicked.connect(self.zero_sliders)

        self.sheet_box = QComboBox()
        self.sheet_box.setToolTip("The direction the sheet and the walk follow")
        self.sheet_box.currentIndexChanged.connect(lambda _i: self.request_sheet())
        self.sheet_view = ImageGridView("Direction sheet (-3 sd to +3 sd)")
        self.class_grid_view = ImageGridView("Class x style (rows: classes; columns: noise)")
        self.class_a, self.class_b = QComboBox(), QComboBox()
        for box in (self.class_a, self.class_b):
            box.currentIndexChanged.connect(lambda _i: self.request_classes())
        self.class_path_view = ImageGridView("Class interpolation", strip=True)
        buttons = []
        for text, slot, tip in (("Sheet PNG…", self.export_sheet_dialog, "Save the direction sheet as PNG"),
                                ("Walk GIF…", self.export_walk_dialog, "Save the focus walking along the direction"),
                                ("Save noise…", self.save_noise_dialog, "Save the focus noise as .npy"),
                                ("Load noise…", self.load_noise_dialog, "Make a saved .npy noise the focus")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons.append(b)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        lay_out(self, random_button, zero, buttons)

    # -- the generator, from the window's snapshots ---------------------------------------------------
    def show_snapshot(self, snap) -> None:
        """Take the generator a window snapshot carries (its ``latent``), if it is new."""
        latent = snap.latent if snap is not None else None
        if latent is None or latent is self.snap:
            return
        new = not same_network(self.snap, latent)
        jump = self.snap is not None and abs(latent.step - self.snap.step) >= REDISCOVER_STEPS  # a run opened
        self.snap = latent
        if new:
            self.worker.post("generator", lambda st, s=latent: jobs.new_lab(st, s))
            self._reset_for_network()
            return
        self.worker.post("generator", lambda st, s=latent: jobs.update_lab(st, s))
        self.request_render()
        self.request_sheet()
        self.request_classes()
        d = self.directions
        budget = min(max(REDISCOVER_MIN_S, REDISCOVER_BUDGET * self._discover_seconds), REDISCOVER_MAX_S)
        due = time.monotonic() - self._discovered_at >= budget
        if (self.auto_box.isChecked() and d is not None and d.kind == "ganspace"
                and (jump or latent.step < d.step or (latent.step - d.step >= REDISCOVER_STEPS and due))):
            self.rediscover()

    def _reset_for_network(self) -> None:
        s = self.snap
        raw_ok = s.z_dim <= lab_math.RAW_AXES_MAX_Z
        self.axes_box.model().item(1).setEnabled(raw_ok)
        if not raw_ok:
            self.axes_box.setCurrentIndex(0)
        self.focus_class = 0
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItems([f"class {c}" for c in range(s.n_classes)])
        self.class_box.setVisible(s.conditional)
        self.class_box.blockSignals(False)
        for box in (self.class_a, self.class_b):
            box.blockSignals(True)
            box.clear()
            box.addItems([str(c) for c in range(s.n_classes)])
            box.blockSignals(False)
        self.class_b.setCurrentIndex(min(1, s.n_classes - 1))
        self.tabs.setTabEnabled(1, s.conditional)
        self.directions = None
        self.found_label.setText("directions: finding…")
        self.zero_sliders(render=False)
        self.set_seed(max(self.seed_box.value(), 0))
        if self.axes_box.currentIndex() == 1:
            self._use(Directions.raw(s.z_dim, s.noise))
        self.rediscover()

    # -- the focus ----------------------------------------------------------------------------------
    def set_seed(self, seed: int) -> None:
        self.seed_box.blockSignals(True)
        self.seed_box.setValue(seed)
        self.seed_box.blockSignals(False)
        if self.snap is not None:
            self.z = noise_from_seed(seed, self.snap.z_dim, self.snap.noise)
            self.request_render()
            self.request_sheet()
            self.request_classes()

    def random_focus(self) -> None:
        self.set_seed(int(np.random.default_rng().integers(0, 2**31 - 1)))

    def focus_on(self, z: np.ndarray, label: int | None = None) -> None:
        """Make ``z`` (a grid tile's or a file's noise) the focus; the seed box shows "clicked"."""
        self.seed_box.blockSignals(True)
        self.seed_box.setValue(-1)
        self.seed_box.blockSignals(False)
        self.z = np.asarray(z, np.float32).reshape(-1)
        if label is not None and self.snap is not None and self.snap.conditional:
            self.class_box.setCurrentIndex(int(label))
        self.request_render()
        self.request_sheet()
        self.request_classes()

    def focus_on_tile(self, index: int) -> None:
        s = self.snap
        if s is None or s.display_z is None or not 0 <= index < len(s.display_z):
            return
        labels = s.display_labels
        self.focus_on(s.display_z[index], None if labels is None else int(labels[index]))

    def _on_seed(self, seed: int) -> None:
        if seed >= 0:
            self.set_seed(seed)

    def _on_class(self, index: int) -> None:
        self.focus_class = max(index, 0)
        self.request_render()
        self.request_sheet()

    def _on_psi(self, value: int) -> None:
        self.psi_label.setText(f"psi {value / 100:.2f}")
        self.request_render()
        self.request_sheet()

    def focus_noise(self) -> np.ndarray | None:
        """The focus as drawn: truncated, then moved along the sliders' directions."""
        if self.z is None:
            return None
        z = lab_math.truncate(self.z, self.psi_slider.value() / 100)
        d = self.directions
        return z if d is None else lab_math.steer(z, d, self.amounts[:len(d)])

    # -- directions and sliders ----------------------------------------------------------------------
    def set_amount(self, i: int, value: float) -> None:
        """Slider ``i`` (and its number box) at ``value`` sd; the focus follows."""
        _label, slider, box = self.rows[i]
        for w, v in ((slider, round(value * SLIDER_STEPS)), (box, float(value))):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self.amounts[i] = value
        self.request_render()

    def zero_sliders(self, render: bool = True) -> None:
        self.amounts[:] = 0
        for _label, slider, box in self.rows:
            for w in (slider, box):
                w.blockSignals(True)
                w.setValue(0)
                w.blockSignals(False)
        if render:
            self.request_render()

    def rediscover(self) -> None:
        if self.snap is None or self.axes_box.currentIndex() == 1:
            return
        self._discovered_at = time.monotonic()
        self.rediscover_button.setEnabled(False)
        self.worker.post("discover", jobs.discover)

    def _on_axes(self, index: int) -> None:
        if self.snap is None:
            return
        if index == 1:
            self._use(Directions.raw(self.snap.z_dim, self.snap.noise))
        else:
            self.directions = None
            self.rediscover()

    def _use(self, d: Directions) -> None:
        """Show directions ``d`` on the sliders (which keep their positions)."""
        self.directions = d
        for i, (label, slider, box) in enumerate(self.rows):
            shown = i < len(d)
            for w in (label, slider, box):
                w.setVisible(shown)
            if shown:
                share = "" if d.kind == "raw" else f" {100 * d.explained_variance[i]:.1f}%"
                label.setText(f"{'z' if d.kind == 'raw' else 'd'}{i + 1}{share}")
                label.setToolTip("A raw noise axis" if d.kind == "raw" else
                                 f"Direction {i + 1}: {100 * d.explained_variance[i]:.1f}% of the first layer's variance")
        names = [self.rows[i][0].text() for i in range(len(d))]
        current = self.sheet_box.currentIndex()
        self.sheet_box.blockSignals(True)
        self.sheet_box.clear()
        self.sheet_box.addItems(names)
        self.sheet_box.setCurrentIndex(min(max(current, 0), len(d) - 1))
        self.sheet_box.blockSignals(False)
        self.found_label.setText("raw noise axes" if d.kind == "raw" else
                                 f"{len(d)} directions found at step {d.step:,} ({self._discover_seconds:.1f} s)")
        self.request_render()
        self.request_sheet()

    # -- requests to the lab's thread ------------------------------------------------------------------
    def request_render(self) -> None:
        z = self.focus_noise()
        if z is None or self.snap is None:
            return
        self._render_asked = time.perf_counter()
        label = self.focus_class if self.snap.conditional else None
        self.worker.post("render", lambda st, z=z, label=label: jobs.render(st, z, label))

    def _sheet_inputs(self):
        d, s = self.directions, self.snap
        if d is None or s is None or self.z is None:
            return None
        base = lab_math.truncate(self.z, self.psi_slider.value() / 100)
        seed = max(self.seed_box.value(), 0)
        rows = [base] + [noise_from_seed(seed + r, s.z_dim, s.noise) for r in range(1, lab_math.SHEET_ROWS)]
        labels = [(self.focus_class + r) % s.n_classes for r in range(len(rows))] if s.conditional else None
        return d, max(self.sheet_box.currentIndex(), 0), np.stack(rows), labels

    def request_sheet(self) -> None:
        inputs = self._sheet_inputs()
        if inputs is not None and self.tabs.currentIndex() == 0:
            self.worker.post("sheet", lambda st, a=inputs: lab_math.direction_sheet(st["lab"], a[0], a[1], a[2], a[3]))

    def request_classes(self) -> None:
        inputs = self._sheet_inputs()
        if inputs is None or not self.snap.conditional or self.tabs.currentIndex() != 1:
            return
        z, a, b = inputs[2], self.class_a.currentIndex(), self.class_b.currentIndex()
        self.worker.post("classes", lambda st: (lab_math.class_style_grid(st["lab"], z)[0],
                                                lab_math.class_interpolation(st["lab"], z[0], max(a, 0), max(b, 0))))

    # -- results -------------------------------------------------------------------------------------
    def _on_ready(self, name: str) -> None:
        result = self.worker.take(name)
        if result is None:
            return
        if name == "render":
            image, nearest, distances, self.rendered_z = result
            self.focus_image = image
            self.focus_view.show_images(image)
            if nearest is not None:
                self.nearest_view.show_images(nearest)
                self.nearest_label.setText("L2 distance: " + " · ".join(f"{x:.2f}" for x in distances))
            self.last_latency_s = time.perf_counter() - self._render_asked
        elif name == "index":
            self.request_render()
        elif name == "sheet":
            self.sheet_view.show_images(result, cols=lab_math.SHEET_STEPS)
        elif name == "classes":
            grid, path = result
            self.class_grid_view.show_images(grid, cols=lab_math.SHEET_ROWS)
            self.class_path_view.show_images(path)
        elif name == "discover":
            self.rediscover_button.setEnabled(True)
            d, seconds = result
            if self.axes_box.currentIndex() == 0 and self.snap is not None and len(d.vectors[0]) == self.snap.z_dim:
                self._discover_seconds = seconds
                self._use(d)
        elif name == "generator":
            self.worker.post("index", jobs.index)
        elif name in ("walk", "sheet_file"):
            self.note.setText(f"saved {result}")

    def _on_failed(self, message: str) -> None:
        self.rediscover_button.setEnabled(True)
        self.note.setText(message)

    def close_lab(self) -> None:
        self.worker.stop()
