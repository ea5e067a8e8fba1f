"""The 2-D panel: real vs generated points, GAN Lab's overlays, and drawing your own data."""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QPushButton, QVBoxLayout, QWidget

from ganplay.ui.views import ScatterView
from ganplay.ui.widgets import tool_bar

OVERLAYS = (
    ("field", "Decision field", "D's probability that a point is real, as a heat map under the points"),
    ("arrows", "Gradients", "The direction G's loss pushes each generated point (arrow length is relative)"),
    ("manifold", "Manifold", "The image under G of a regular grid of noise values: how G warps noise space"),
    ("interpolation", "Interpolation", "G along a path between two fixed noise vectors"),
)
VIEW_SETTLE_MS = 120  # pans and zooms are sent to the worker once they pause this long


class ToyPanel(QWidget):
    """The scatter view with its bar of overlay switches and drawing tools.

    Signals say what the user asked for; the window routes them to the worker.
    """

    overlay_toggled = Signal(str, bool)
    noise_requested = Signal()
    drawing_toggled = Signal(bool)
    train_drawn_requested = Signal()
    view_settled = Signal()  # the user panned or zoomed, and stopped

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("toy_panel")
        self.scatter_view = ScatterView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.overlay_boxes = {}
        for key, label, tip in OVERLAYS:
            box = QCheckBox(label)
            box.setToolTip(tip)
            box.toggled.connect(lambda on, k=key: self.overlay_toggled.emit(k, on))
            self.overlay_boxes[key] = box
        self.noise_button = QPushButton("New noise")
        self.noise_button.setToolTip("Draw a new fixed noise for the displayed samples (N)")
        self.noise_button.clicked.connect(self.noise_requested)
        self.draw_box = QCheckBox("Draw data")
        self.draw_box.setToolTip("Paint your own 2-D data with the mouse (drag), then press Train on it")
        self.draw_box.toggled.connect(self.drawing_toggled)
        self.use_drawn_button = QPushButton("Train on drawn")
        self.use_drawn_button.setToolTip("Save the drawn points as a CSV and train on them (then Presets ▸ "
                                         "own-2d-data: the recipe measured on a family of 24 mixtures)")
        self.use_drawn_button.clicked.connect(self.train_drawn_requested)
        self.use_drawn_button.setEnabled(False)
        self.clear_drawn_button = QPushButton("Clear")
        self.clear_drawn_button.setToolTip("Remove the drawn points")
        self.clear_drawn_button.clicked.connect(self.scatter_view.clear_drawn)
        self.scatter_view.points_drawn.connect(self._on_points_drawn)
        layout.addWidget(tool_bar([*self.overlay_boxes.values(), self.noise_button, None, self.draw_box,
                                   self.use_drawn_button, self.clear_drawn_button]))
        layout.addWidget(self.scatter_view, 1)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(VIEW_SETTLE_MS)
        self._settle.timeout.connect(self.view_settled)
        self.scatter_view.sigRangeChanged.connect(lambda *_: self._settle.start())

    def set_overlay(self, key: str, on: bool) -> None:
        """Show or hide one overlay, and keep its switch in step."""
        setattr(self.scatter_view, {"field": "show_field", "arrows": "show_arrows", "manifold": "show_manifold",
                                    "interpolation": "show_path"}[key], on)
        if self.overlay_boxes[key].isChecked() != on:
            self.overlay_boxes[key].setChecked(on)

    def set_drawing(self, on: bool) -> None:
        self.scatter_view.set_drawing(on)
        if self.draw_box.isChecked() != on:
            self.draw_box.setChecked(on)

    def _on_points_drawn(self, n: int) -> None:
        self.use_drawn_button.setEnabled(n >= 2)
        self.use_drawn_button.setText(f"Train on drawn ({n})" if n else "Train on drawn")
