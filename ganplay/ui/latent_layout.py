"""The latent lab dock's layout: the focus and its nearest images on top, the focus bar, the
directions' sliders, the sheet and class tabs, the export buttons (a scroll area holds it all)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ganplay.ui.widgets import float_box

SLIDER_STEPS = 100  # slider ticks per sd


def slider_row(lab, i: int):
    label = QLabel(f"d{i + 1}")
    slider = QSlider(Qt.Horizontal)
    slider.setRange(-3 * SLIDER_STEPS, 3 * SLIDER_STEPS)
    box = float_box(-3.0, 3.0, 2, 0.1)
    slider.valueChanged.connect(lambda v, i=i: lab.set_amount(i, v / SLIDER_STEPS))
    box.valueChanged.connect(lambda v, i=i: lab.set_amount(i, v))
    return label, slider, box

def lay_out(lab, random_button, zero, buttons) -> None:
    top = QHBoxLayout()
    top.addWidget(lab.focus_view, 3)
    side = QVBoxLayout()
    side.addWidget(lab.nearest_view, 2)
    side.addWidget(lab.nearest_label)
    top.addLayout(side, 3)
    focus_bar = QHBoxLayout()
    for w in (QLabel("Seed"), lab.seed_box, random_button, lab.class_box, QLabel("Truncation"),
              lab.psi_slider, lab.psi_label):
        focus_bar.addWidget(w)
    found = QHBoxLayout()
    for w in (lab.axes_box, lab.rediscover_button, lab.auto_box, zero):
        found.addWidget(w)
    grid = QGridLayout()
    for r, (label, slider, box) in enumerate(lab.rows):
        grid.addWidget(label, r, 0)
        grid.addWidget(slider, r, 1)
        grid.addWidget(box, r, 2)
    sheet_page = QWidget()
    sheet_layout = QVBoxLayout(sheet_page)
    sheet_bar = QHBoxLayout()
    sheet_bar.addWidget(QLabel("Direction"))
    sheet_bar.addWidget(lab.sheet_box, 1)
    sheet_layout.addLayout(sheet_bar)
    sheet_layout.addWidget(lab.sheet_view, 1)
    class_page = QWidget()
    class_layout = QVBoxLayout(class_page)
    class_layout.addWidget(lab.class_grid_view, 3)
    path_bar = QHBoxLayout()
    for w in (QLabel("From class"), lab.class_a, QLabel("to"), lab.class_b):
        path_bar.addWidget(w)
    class_layout.addLayout(path_bar)
    class_layout.addWidget(lab.class_path_view, 1)
    lab.tabs = QTabWidget()
    lab.tabs.addTab(sheet_page, "Sheet")
    lab.tabs.addTab(class_page, "Classes")
    lab.tabs.currentChanged.connect(lambda _i: (lab.request_sheet(), lab.request_classes()))
    export = QHBoxLayout()
    for b in buttons:
        export.addWidget(b)
    inner = QWidget()
    column = QVBoxLayout(inner)
    column.addLayout(top, 3)
    column.addLayout(focus_bar)
    column.addLayout(found)
    column.addWidget(lab.found_label)
    column.addLayout(grid)
    column.addWidget(lab.tabs, 4)
    column.addLayout(export)
    column.addWidget(lab.note)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(inner)
    outer = QVBoxLayout(lab)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
