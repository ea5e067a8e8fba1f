"""The live plots' fast paths draw exactly what the plain pyqtgraph calls would."""
import numpy as np
import pyqtgraph as pg

from ganplay.ui.views import CurvesView, decimation, move_points


def _render(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(pg.QtGui.QImage.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8, count=stride * h).reshape(h, stride)[:, : 3 * w].copy()


def _scatter(qtbot):
    plot = pg.PlotWidget()
    plot.resize(300, 300)
    plot.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    plot.disableAutoRange()
    item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(235, 90, 40, 170))
    plot.addItem(item)
    qtbot.addWidget(plot)
    plot.show()
    return plot, item


def test_moving_points_draws_what_set_data_draws(qtbot):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    moved, item = _scatter(qtbot)
    item.setData(pos=a)
    move_points(item, b)
    fresh, item2 = _scatter(qtbot)
    item2.setData(pos=b)
    old, item3 = _scatter(qtbot)
    item3.setData(pos=a)
    np.testing.assert_array_equal(np.column_stack(item.getData()), b)
    assert np.array_equal(_render(moved), _render(fresh))
    assert not np.array_equal(_render(moved), _render(old))  # the points did move on screen


def test_moving_a_different_number_of_points_falls_back_to_set_data(qtbot):
    _, item = _scatter(qtbot)
    item.setData(pos=np.zeros((3, 2)))
    move_points(item, np.ones((5, 2)))
    assert len(item.data) == 5 and np.all(item.data["x"] == 1)
    move_points(item, np.zeros((0, 2)))
    assert len(item.data) == 0


def test_decimation_keeps_at_most_n_and_always_the_newest():
    for n in (0, 1, 7, 512, 513, 1000, 4096):
        idx = np.arange(n)[decimation(n, 512)]
        assert len(idx) <= 512 and len(idx) == min(n, len(idx))
        if n:
            assert idx[-1] == n - 1 and len(idx) >= min(n, 256)
            assert len(set(np.diff(idx))) <= 1  # evenly spaced


def test_curves_draw_a_long_history_decimated(qtbot):
    view = CurvesView("Losses", {"d_loss": ("D loss", (0, 0, 0))})
    qtbot.addWidget(view)
    steps = np.arange(1, 4097, dtype=np.float64)
    snap = type("Snap", (), {"history": {"step": steps, "d_loss": np.sin(steps / 300)}})()
    view.show_snapshot(snap)
    x, y = view.curves["d_loss"].getData()
    assert len(x) <= 512 and x[-1] == 4096 and x[0] < 10
