"""The metric views as dock widgets (napari style): the user can move, tab, float or close them,
the View menu brings them back, and the arrangement is saved with the window's state.

The default arrangement (also what View ▸ Reset layout restores) is three columns under the top
view: losses; D's output with D's accuracy behind it; quality with D's confusion matrix behind it.
Three columns stay readable down to a 1024-pixel-wide window; below that the metric docks tab
together in one column instead of squeezing (an 830-pixel window cut the plots' titles, their
keys and the dock tabs). The controls take the left edge, full height.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from ganplay.ui.image_views import ConfusionMatrixView, accuracy_view
from ganplay.ui.quality_views import QualityView
from ganplay.ui.spectrum_view import SpectrumView
from ganplay.ui.views import d_output_view, loss_view

LAYOUT_VERSION = 4  # saveState/restoreState: bump when the docks change, so old states are ignored
BOTTOM_SHARE = 0.36  # of the window's height, for the metric docks in the default layout
CONTROLS_SHARE = 0.28  # of the window's width at most, for the controls in the default layout
NARROW_WIDTH = 1024  # below this window width the metric docks share one tabbed column


@dataclass(frozen=True)
class MetricDock:
    name: str  # the dock's objectName, which saveState keys on: keep it stable
    title: str
    attr: str  # the view's attribute on the window
    make: Callable[[], QWidget]
    tip: str


METRIC_DOCKS = (
    MetricDock("losses_dock", "Losses", "loss_view", loss_view, "D's and G's losses over steps (smoothed)"),
    MetricDock("d_output_dock", "D output", "d_view", d_output_view,
               "D's mean probability of 'real' on real and on generated samples"),
    MetricDock("d_accuracy_dock", "D accuracy", "acc_view", accuracy_view,
               "The share of real and of generated samples that D classifies correctly"),
    MetricDock("quality_dock", "Quality", "quality_view", QualityView,
               "How close the generator is to the data, each metric on its own axis; dashed: a perfect score"),
    MetricDock("confusion_dock", "D confusion", "confusion_view", ConfusionMatrixView,
               "D's confusion matrix over the latest steps (image models)"),
    MetricDock("spectrum_dock", "Eigenvalues", "spectrum_view", SpectrumView,
               "The game's top eigenvalues, live (toy models): rotation, expansion and the step's stable disc"),
)
# The default arrangement: columns left to right; each column's docks are tabbed, the first in front.
DEFAULT_COLUMNS = (("losses_dock", "spectrum_dock"), ("d_output_dock", "d_accuracy_dock"), ("quality_dock", "confusion_dock"))
CONTROLS_DOCK = "controls_dock"


def make_dock(window: QMainWindow, name: str, title: str, widget: QWidget, tip: str = "") -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setToolTip(tip)
    dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                     | QDockWidget.DockWidgetClosable)
    dock.toggleViewAction().setToolTip(f"Show or hide {title}" + (f": {tip}" if tip else ""))
    return dock


def arrange_default(window: QMainWindow, docks: dict[str, QDockWidget], extra=()) -> None:
    """Put the controls and the metric docks where a first start puts them (docked, shown, sized).

    ``extra`` is (dock, area, tab_with) for docks added by others, put back in their own area
    (behind ``tab_with``, a dock name, when given).
    """
    window.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
    window.setCorner(Qt.TopLeftCorner, Qt.LeftDockWidgetArea)
    for dock in docks.values():
        dock.setFloating(False)
        window.removeDockWidget(dock)
    window.addDockWidget(Qt.LeftDockWidgetArea, docks[CONTROLS_DOCK])
    for dock, area, tab_with in extra:
        dock.setFloating(False)
        window.removeDockWidget(dock)
        window.addDockWidget(area, dock)
        if tab_with is not None:
            window.tabifyDockWidget(docks.get(tab_with) or tab_with, dock)
    for dock in docks.values():
        dock.show()
    for dock, _area, _tab in extra:
        dock.show()
    arrange_columns(window, docks)
    size_default(window, docks)


def default_columns(window: QMainWindow) -> tuple[tuple[str, ...], ...]:
    """The metric docks' columns for the window's width: three, or one tab group when narrow."""
    if window.width() < NARROW_WIDTH:
        return (tuple(name for column in DEFAULT_COLUMNS for name in column),)
    return DEFAULT_COLUMNS


def arrange_columns(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Lay the metric docks out in the columns that fit the window's width, each column a tab group
    with its first dock in front (a window shown wider or narrower than it was built lays its
    default layout out again). Qt cannot split a tab group, so the docks are taken out and put
    back: call it on the default layout only."""
    columns = default_columns(window)
    metric = [docks[name] for column in columns for name in column]
    for dock in metric:
        window.removeDockWidget(dock)
    for column in columns:
        window.addDockWidget(Qt.BottomDockWidgetArea, docks[column[0]], Qt.Horizontal)
        for name in column[1:]:
            window.tabifyDockWidget(docks[column[0]], docks[name])
    for dock in metric:
        dock.show()
    for front in [*(docks[c[0]] for c in columns), docks[CONTROLS_DOCK]]:
        front.raise_()  # the first of each tab group is the one shown


def size_default(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Equal metric columns, the bottom area a fixed share of the height, the controls their hint."""
    fronts = [docks[column[0]] for column in default_columns(window)]
    controls = docks[CONTROLS_DOCK]
    width = min(controls.widget().sizeHint().width(), int(CONTROLS_SHARE * window.width()))
    window.resizeDocks([controls], [width], Qt.Horizontal)
    room = max(window.width() - width, 3)
    window.resizeDocks(fronts, [room // len(fronts)] * len(fronts), Qt.Horizontal)
    window.resizeDocks([fronts[0]], [int(BOTTOM_SHARE * window.height())], Qt.Vertical)
