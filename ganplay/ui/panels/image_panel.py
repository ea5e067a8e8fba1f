"""The image panel: generated and real grids, the interpolation strip, the class histogram and
the semi-supervised views, with the bar that sets what the grids show."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ganplay.ui.class_views import SemiSupervisedPanel
from ganplay.ui.image_views import ImageGridView
from ganplay.ui.quality_views import ClassHistogramView
from ganplay.ui.widgets import tool_bar


class ImagePanel(QWidget):
    """Everything an image model shows above the metric docks; ``show_snapshot`` draws a frame."""

    noise_requested = Signal()
    interpolation_toggled = Signal(bool)
    draw_class_chosen = Signal(object)  # a class index, or None for one row per class
    baseline_requested = Signal()
    redraw_needed = Signal()  # the grids changed shape: draw the current snapshot again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("image_panel")
        self.fake_grid = ImageGridView("Generated (fixed noise)", show_scores=True)
        self.real_grid = ImageGridView("Real")
        self._real_shown = None
        self._filling_classes = False  # the class picker is being refilled: ignore its signals

        self.grid_size_box = QComboBox()
        self.grid_size_box.addItems(["4×4", "5×5", "8×8"])
        self.grid_size_box.setCurrentText("5×5")
        self.grid_size_box.setToolTip("How many generated and real images to show")
        self.grid_size_box.currentTextChanged.connect(self._on_grid_size)
        self.scores_box = QCheckBox("D's score under each image")
        self.scores_box.setChecked(True)
        self.scores_box.setToolTip("Show D's probability that each generated image is real")
        self.scores_box.toggled.connect(self._on_scores_toggled)
        self.interp_box = QCheckBox("Interpolation")
        self.interp_box.setToolTip("G along a path between two fixed noise vectors")
        self.interp_box.toggled.connect(self.interpolation_toggled)
        self.class_label = QLabel("Class")
        self.class_box = QComboBox()
        self.class_box.setObjectName("draw_class")
        self.class_box.setToolTip("Conditional GANs: the class G is asked to draw; all classes shows one row per class")
        self.class_box.currentIndexChanged.connect(self._on_draw_class)
        self.class_label.setVisible(False)
        self.class_box.setVisible(False)
        noise = QPushButton("New noise")
        noise.setToolTip("Draw a new fixed noise for the displayed samples (N)")
        noise.clicked.connect(self.noise_requested)
        bar = tool_bar([QLabel("Grid "), self.grid_size_box, self.scores_box, None, self.interp_box,
                        self.class_label, self.class_box, noise])

        grids = QSplitter(Qt.Horizontal)
        grids.addWidget(self.fake_grid)
        grids.addWidget(self.real_grid)
        lower = QSplitter(Qt.Horizontal)
        self.interp_view = ImageGridView("Interpolation between two noise vectors", strip=True)
        self.interp_view.setMaximumHeight(140)
        self.interp_view.setToolTip("G along a spherical path between two fixed noise vectors (tick Interpolation)")
        self.interp_view.setVisible(False)
        self.class_view = ClassHistogramView()
        lower.addWidget(self.interp_view)
        lower.addWidget(self.class_view)
        self.sgan_panel = SemiSupervisedPanel()
        self.sgan_panel.baseline_requested.connect(self.baseline_requested)
        self.sgan_panel.setVisible(False)
        # One vertical splitter: the grids keep most of the height, the rest can be dragged.
        stack = QSplitter(Qt.Vertical)
        for widget, stretch in ((grids, 3), (lower, 1), (self.sgan_panel, 2)):
            stack.addWidget(widget)
            stack.setStretchFactor(stack.count() - 1, stretch)
        stack.setSizes([450, 150, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(bar)
        layout.addWidget(stack, 1)

    def set_interpolation(self, on: bool) -> None:
        self.interp_view.setVisible(on)
        if self.interp_box.isChecked() != on:
            self.interp_box.setChecked(on)

    def show_snapshot(self, snap) -> None:
        """Draw the fast-changing parts of an image snapshot (the grids; the real grid only when new)."""
        classes = snap.classes
        rows = classes.rows if classes is not None else 0
        cols = len(snap.generated) // rows if rows else None
        # A class grid's tiles are too small for a score under each: scores with one class.
        scores = None if rows else snap.d_scores
        self.fake_grid.show_images(snap.generated, scores, cols=cols)
        self._show_class_picker(classes.count if classes is not None else 0)
        if self._real_shown is not snap.real:
            self.real_grid.show_images(snap.real)
            self._real_shown = snap.real
        hist = snap.quality.class_hist
        if hist is not None:
            self.class_view.show_hist(hist)
        interp = snap.interpolation
        if interp is not None and self.interp_view.isVisible() and np.ndim(interp) == 4:
            self.interp_view.show_images(interp)

    def _on_grid_size(self, text: str) -> None:
        n = int(text.split("×")[0])
        for grid in (self.fake_grid, self.real_grid):
            grid.set_grid_size(n)
        self._real_shown = None
        self.redraw_needed.emit()

    def _on_scores_toggled(self, on: bool) -> None:
        self.fake_grid.show_scores = on
        self.fake_grid.set_grid_size(self.fake_grid.n)
        self.redraw_needed.emit()

    def _on_draw_class(self, index: int) -> None:
        if self._filling_classes or index < 0:
            return
        self.draw_class_chosen.emit(None if index == 0 else index - 1)

    def _show_class_picker(self, n_classes: int) -> None:
        """Fill the class picker for a conditional model (hidden for the others)."""
        shown = n_classes > 0
        self.class_label.setVisible(shown)
        self.class_box.setVisible(shown)
        if not shown or self.class_box.count() == n_classes + 1:
            return
        self._filling_classes = True
        try:
            self.class_box.clear()
            self.class_box.addItem("all (a row each)")
            self.class_box.addItems([str(c) for c in range(n_classes)])
        finally:
            self._filling_classes = False
