"""The Dirac-GAN lab and the live eigenvalue dock, driven as a user would."""
import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ganplay.ui.dirac_window import DiracWindow
from ganplay.ui.spectrum_view import SpectrumView

WAIT = 60_000


def _send(widget, kind, pos, buttons):
    button = Qt.LeftButton if kind != QEvent.MouseMove else Qt.NoButton
    event = QMouseEvent(kind, QPointF(pos), widget.mapToGlobal(pos).toPointF(), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(plot, start, end, steps=8):
    """Drag with the left button from data point ``start`` to ``end`` on a pyqtgraph PlotWidget."""
    vb = plot.getPlotItem().vb
    to_view = lambda p: plot.mapFromScene(vb.mapViewToScene(QPointF(*p)))
    a, b = to_view(start), to_view(end)
    viewport = plot.viewport()
    _send(viewport, QEvent.MouseButtonPress, a, Qt.LeftButton)
    for i in range(1, steps + 1):
        _send(viewport, QEvent.MouseMove, a + (b - a) * (i / steps), Qt.LeftButton)
    _send(viewport, QEvent.MouseButtonRelease, b, Qt.NoButton)


def test_the_panel_opens_and_dragging_the_start_changes_the_trajectory(qtbot):
    w = DiracWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    before = w.paths[0].copy()
    assert np.allclose(before[0], (1.0, 1.0))
    drag(w.phase, (1.0, 1.0), (-1.0, 0.5))
    qtbot.waitUntil(lambda: not np.allclose(w.paths[0][0], (1.0, 1.0)), timeout=WAIT)
    assert abs(w.start[0] + 1.0) < 0.15 and abs(w.start[1] - 0.5) < 0.15
    assert not np.allclose(w.paths[0][:50], before[:50])
    x, y = w.path_items[0].getData()
    assert abs(x[0] - w.start[0]) < 1e-5 and abs(y[0] - w.start[1]) < 1e-5  # the drawn path follows
    w.close()


def test_four_overlays_and_settings_change_the_explanation(qtbot):
    w = DiracWindow()
    qtbot.addWidget(w)
    w.show_paper_four()
    w.recompute()
    assert len(w.runs()) == 4 and len(w.paths) == 4
    assert all(len(item.getData()[0]) > 0 for item in w.path_items)
    assert "purely imaginary" in w.explanation.text() and "negative real part" in w.explanation.text()
    w.clear_pins()
    w.penalty_boxes["r1_weight"].setValue(1.0)
    w.recompute()
    assert len(w.runs()) == 1 and np.hypot(*w.paths[0][-1]) < 1e-3
    lam = w.lambda_items[0].getData()
    assert np.allclose(lam[0], -0.5, atol=1e-4)  # R1 γ 1: the double eigenvalue −γ/2
    w.lr_box.setValue(5.0)
    w.recompute()
    assert "too large" in w.explanation.text()
    w.preset_box.setCurrentText("wgan-clip")
    w.recompute()
    assert w.loss_box.currentText() == "wgan" and w.penalty_boxes["weight_clip"].value() == 1.0
    w.close()


def test_the_spectrum_view_draws_a_fading_trail(qtbot):
    view = SpectrumView()
    qtbot.addWidget(view)
    evs = [np.array([-0.1 + 2j, -0.1 - 2j, 0.3 + 0j]) * (1 + 0.1 * i) for i in range(3)]
    view.show_eigenvalues([100, 200, 300], evs, lr=0.05, seconds=0.08, share=0.04)
    xs, _ = view.points.getData()
    assert len(xs) == 9
    brushes = view.points.data["brush"]
    assert brushes[0].color().alpha() < brushes[-1].color().alpha()  # older evaluations fainter
    assert "> 0" in view.text.text() and "300" in view.plot.getPlotItem().titleLabel.text
    green = view.region.image[..., 3] > 0
    assert green.any() and not green.all()  # the stable region, drawn where it is


def test_the_window_opens_the_lab_and_feeds_the_eigenvalue_dock(qtbot, make_window):
    w = make_window()
    w.dirac_action.trigger()
    assert any(isinstance(x, DiracWindow) and x.isVisible() for x in w.compare_windows)
    dock = w.docks["spectrum_dock"]
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: w.worker.spectrum is not None, timeout=WAIT)
    w.worker.spectrum.every = 50
    qtbot.mouseClick(w.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(w.spectrum_view.points.getData()[0]) > 0, timeout=WAIT)
    qtbot.mouseClick(w.play_button, Qt.LeftButton)
    assert "eigenvalue" in w.spectrum_view.text.text() or "rotation" in w.spectrum_view.text.text()
