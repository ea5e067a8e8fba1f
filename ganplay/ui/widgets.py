"""Small Qt widget makers shared by the control panels (one place for the spin-box habits)."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSizePolicy, QSpinBox, QToolBar, QWidget


def float_box(lo: float, hi: float, decimals: int, step: float | None = None) -> QDoubleSpinBox:
    """A float spin box that applies on Enter, focus-out or the arrows, not on every keystroke.

    Without ``step`` the arrows move the last shown digit (learning rates span decades)."""
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setKeyboardTracking(False)
    if step is None:
        box.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
    else:
        box.setSingleStep(step)
    return box


def int_box(lo: int, hi: int, step: int = 1) -> QSpinBox:
    """An integer spin box without thousands separators (seeds and step counts are read as typed)."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    box.setGroupSeparatorShown(False)
    return box


def choice_box(items) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    return box


def tool_bar(widgets) -> QToolBar:
    """A row of controls over a view; ``None`` pushes the rest to the right.

    A tool bar, not a box layout: on a narrow window the controls that do not fit move into its
    » menu instead of forcing the window wider than the screen.
    """
    bar = QToolBar()
    bar.setMovable(False)
    bar.setFloatable(False)
    for w in widgets:
        if w is None:
            w = QWidget()
            w.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar.addWidget(w)
    return bar
