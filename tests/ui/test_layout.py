"""The window's layout: metric docks that read at 1024x768, 1280x800 and 1920x1080 (no clipped
title, no overlapping tick labels, no legend over data), and a dock arrangement that the user can
change, that survives a restart, and that Reset layout undoes.

The geometry checks read what pyqtgraph will draw (each axis's own draw specs, each title's and
key's text rectangle, each curve's points in scene pixels), so they work on any window's plots.
"""
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from gui_helpers import fix_dispatch_size
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QDockWidget

from ganplay.config import Config
from ganplay.ui.panels.metric_docks import LAYOUT_VERSION, METRIC_DOCKS

WAIT = 120_000  # ms: only to catch a hang (a compile on a busy 2-core machine)
SIZES = ((1024, 768), (1280, 800), (1920, 1080))
SHOTS = os.environ.get("GANPLAY_LAYOUT_SHOTS")  # a folder: keep the screenshots there to look at


# -- geometry checks (plain functions: they also run against another window's plots) --------------
def plots_in(widget) -> list[tuple[pg.GraphicsView, pg.PlotItem]]:
    """The visible plots under ``widget``, each with the view that shows it."""
    views = widget.findChildren(pg.GraphicsView)
    if isinstance(widget, pg.GraphicsView):
        views.append(widget)
    return [(v, item) for v in views if v.isVisible() for item in v.scene().items()
            if isinstance(item, pg.PlotItem) and item.isVisible()]


def tick_rects(axis: pg.AxisItem) -> list[QRectF]:
    """The rectangles of the tick labels the axis draws now, as its paint() computes them."""
    image = QImage(8, 8, QImage.Format_ARGB32)
    painter = QPainter(image)
    if axis.style["tickFont"] is not None:
        painter.setFont(axis.style["tickFont"])
    specs = axis.generateDrawSpecs(painter)
    painter.end()
    return [] if specs is None else [rect for rect, _flags, _text in specs[2]]


def legends_of(view, plot: pg.PlotItem) -> list:
    """A legend inside the plot (pyqtgraph's) or a key of ours, as graphics items with text."""
    items = [plot.legend] if plot.legend is not None else []
    key = getattr(view, "key", None)
    return items + ([key] if key is not None else [])


def layout_problems(widget, name: str) -> list[str]:
    """Every clipped title or key, overlapping pair of tick labels, and data point under a legend."""
    problems = []
    for view, plot in plots_in(widget):
        width = plot.sceneBoundingRect().width()
        shown = view.viewport().width()
        if width > shown + 1:
            problems.append(f"{name}: plot {width:.0f} px wide in a view of {shown} px")
        title = plot.titleLabel
        if title.isVisible() and title.text:
            text = title.item.boundingRect().width()
            if text > min(width, shown):
                problems.append(f"{name}: title {title.text!r} is {text:.0f} px, its plot {width:.0f} px")
        for side in ("left", "bottom", "right", "top"):
            axis = plot.getAxis(side)
            if not axis.isVisible():
                continue
            rects = tick_rects(axis)
            for i, a in enumerate(rects):
                for b in rects[i + 1:]:
                    if a.intersects(b):
                        problems.append(f"{name}: {side} tick labels overlap at {a} and {b}")
        for legend in legends_of(view, plot):
            box = legend.sceneBoundingRect()
            text = getattr(legend, "item", legend).boundingRect().width()
            if text > width:
                problems.append(f"{name}: legend {text:.0f} px wide, its plot {width:.0f} px")
            for curve in plot.listDataItems():
                x, y = curve.getData()
                if x is None or not curve.isVisible():
                    continue
                vb = plot.getViewBox()
                (x0, x1), (y0, y1) = vb.viewRange()
                inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
                for px, py in zip(x[inside], y[inside]):
                    if box.contains(vb.mapViewToScene(QPointF(float(px), float(py)))):
                        problems.append(f"{name}: the legend covers a point of {curve.name()!r}")
                        break
    return problems


def docks_problems(window, qtbot) -> list[str]:
    """Bring each metric dock to the front of its tab group in turn and check its plots."""
    problems = []
    for spec in METRIC_DOCKS:
        dock = window.docks[spec.name]
        dock.raise_()
        qtbot.wait(50)
        window.redraw()
        qtbot.wait(50)
        assert dock.isVisible(), spec.name
        problems += layout_problems(dock.widget(), f"{spec.title} at {window.width()}x{window.height()}")
        if dock.fontMetrics().horizontalAdvance(dock.windowTitle()) > dock.width() - 40:  # minus its buttons
            problems.append(f"{spec.title}: the dock's title does not fit its {dock.width()} px")
    top = window.top_stack.currentWidget()
    problems += layout_problems(top, f"{top.objectName()} at {window.width()}x{window.height()}")
    for spec in METRIC_DOCKS:  # the default fronts again
        if spec.name in ("losses_dock", "d_output_dock", "quality_dock"):
            window.docks[spec.name].raise_()
    return problems


def trained_window(qtbot, make_window, config, steps, monkeypatch, k):
    fix_dispatch_size(monkeypatch, k)  # ``steps`` in dispatches of ``k``: one scan length compiled
    w = make_window(config)
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    w.worker.set_target(steps)
    w.play()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step >= steps and not w._running, timeout=WAIT)
    return w


def check_sizes(qtbot, w, tag, tmp_path):
    problems = []
    for width, height in SIZES:
        w.resize(width, height)
        w.reset_layout()  # the default layout at this size
        qtbot.waitUntil(lambda: (w.width(), w.height()) == (width, height), timeout=WAIT)
        qtbot.wait(100)
        w.redraw()
        qtbot.wait(100)
        problems += docks_problems(w, qtbot)
        folder = Path(SHOTS) if SHOTS else tmp_path
        w.redraw()
        qtbot.wait(50)
        assert w.grab().save(str(folder / f"layout_{tag}_{width}.png"))
    assert not problems, "\n".join(problems)


# -- tests -------------------------------------------------------------------------------------------
def test_metric_docks_read_at_three_window_sizes_toy(qtbot, make_window, tmp_path, monkeypatch):
    config = Config.for_model("toy-mlp", dataset="ring8", hidden=32, batch_size=64)
    w = trained_window(qtbot, make_window, config, 600, monkeypatch, 100)
    assert w.quality_view.summary  # the quality plots have points to check
    check_sizes(qtbot, w, "ring8", tmp_path)


def test_metric_docks_read_at_three_window_sizes_images(qtbot, make_window, mnist_dir, tmp_path, monkeypatch):
    config = Config.for_model("gia-mlp", dataset="mnist", data_dir=str(mnist_dir), batch_size=32)
    w = trained_window(qtbot, make_window, config, 40, monkeypatch, 40)
    check_sizes(qtbot, w, "gia-mlp", tmp_path)


def test_the_checks_catch_a_cramped_plot(qtbot):
    """A plot as narrow as the old window gave its five plots: the checks see what went wrong."""
    plot = pg.PlotWidget(title="Discriminator output")
    plot.addLegend(offset=(-10, 10))
    x = np.linspace(0, 2500, 200)
    plot.plot(x, 0.5 + 0.5 * np.sin(x / 200), name="D(x) real")
    qtbot.addWidget(plot)
    plot.resize(120, 200)
    plot.show()
    qtbot.wait(100)
    problems = layout_problems(plot, "old")
    assert any("title" in p for p in problems), problems
    assert any("tick labels overlap" in p for p in problems) or any("legend" in p for p in problems), problems


def test_every_dock_has_a_stable_name_and_a_view_menu_switch(make_window):
    w = make_window()
    names = {d.objectName() for d in w.findChildren(QDockWidget)}
    assert {s.name for s in METRIC_DOCKS} | {"controls_dock"} <= names
    switches = {a.text() for a in w.menus["View"].actions()}
    assert {s.title for s in METRIC_DOCKS} | {"Controls", "Reset layout"} <= switches


def test_a_closed_dock_comes_back_from_the_view_menu(qtbot, make_window):
    w = make_window()
    dock = w.docks["quality_dock"]
    dock.close()
    qtbot.waitUntil(lambda: not dock.isVisible())
    switch = next(a for a in w.menus["View"].actions() if a.text() == "Quality")
    assert not switch.isChecked()
    switch.trigger()
    qtbot.waitUntil(dock.isVisible)


def test_dock_layout_survives_a_restart_and_reset_undoes_it(qtbot, make_window):
    w = make_window()
    w.addDockWidget(Qt.RightDockWidgetArea, w.docks["quality_dock"])  # the user drags it right
    w.docks["losses_dock"].setFloating(True)
    w.docks["d_accuracy_dock"].close()
    qtbot.wait(50)
    w.close()

    again = make_window(restore=True)
    qtbot.waitUntil(lambda: again.docks["losses_dock"].isFloating(), timeout=WAIT)
    assert again.dockWidgetArea(again.docks["quality_dock"]) == Qt.RightDockWidgetArea
    assert again.docks["d_accuracy_dock"].isHidden()

    again.resize(1280, 800)  # (restored geometry can come back narrower offscreen: one tab column)
    qtbot.waitUntil(lambda: again.width() == 1280, timeout=WAIT)
    again.reset_layout_action.trigger()
    qtbot.wait(50)
    for spec in METRIC_DOCKS:
        dock = again.docks[spec.name]
        assert not dock.isFloating() and not dock.isHidden(), spec.name
        assert again.dockWidgetArea(dock) == Qt.BottomDockWidgetArea, spec.name
    assert again.dockWidgetArea(again.docks["controls_dock"]) == Qt.LeftDockWidgetArea
    assert set(again.tabifiedDockWidgets(again.docks["d_output_dock"])) == {again.docks["d_accuracy_dock"]}


def test_a_layout_saved_by_another_version_is_ignored(make_window, settings):
    w = make_window()
    w.addDockWidget(Qt.RightDockWidgetArea, w.docks["quality_dock"])
    settings.setValue("window_state", w.saveState(LAYOUT_VERSION - 1))
    w.restore_layout()  # nothing to restore at this version
    w.close()
    settings.setValue("window_state", w.saveState(LAYOUT_VERSION - 1))  # closing saved the current one
    again = make_window(restore=True)
    assert again.dockWidgetArea(again.docks["quality_dock"]) == Qt.BottomDockWidgetArea


def test_first_start_says_what_to_try_first(make_window):
    w = make_window()
    assert "Play" in w.statusBar().currentMessage()


def test_a_narrow_window_tabs_the_metric_docks_together_and_a_wide_one_splits_them(qtbot, make_window, tmp_path):
    w = make_window()
    metric = [w.docks[s.name] for s in METRIC_DOCKS]
    w.resize(900, 700)  # (the window's minimum width is about 834: the controls and the explain strip)
    qtbot.waitUntil(lambda: w.width() == 900, timeout=WAIT)
    w.reset_layout()
    qtbot.wait(50)
    assert set(w.tabifiedDockWidgets(metric[0])) == set(metric[1:])  # one column: nothing squeezed
    assert metric[0].width() > 0.6 * w.width()
    assert w.grab().save(str(Path(SHOTS or tmp_path) / "layout_narrow_900.png"))
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: w.width() == 1280, timeout=WAIT)
    w.reset_layout()
    qtbot.wait(50)
    assert set(w.tabifiedDockWidgets(w.docks["d_output_dock"])) == {w.docks["d_accuracy_dock"]}
    lefts = [w.docks[n].geometry().left() for n in ("losses_dock", "d_output_dock", "quality_dock")]
    assert lefts == sorted(lefts) and len(set(lefts)) == 3  # three columns, in order
