"""The main window driven as a user would, with the real worker thread."""
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt

from ganplay.ui.worker import WorkerThread

WAIT = 60_000  # ms; generous for a compile on a busy 2-core machine


def session_step(w):
    s = w.worker.session
    return -1 if s is None else s.step


def wait_ready(qtbot, w):
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)


def test_play_pause_step_reset(qtbot, make_window):
    w = make_window()
    wait_ready(qtbot, w)
    assert session_step(w) == 0

    qtbot.mouseClick(w.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: session_step(w) > 50, timeout=WAIT)
    assert w.play_button.text() == "Pause"
    qtbot.mouseClick(w.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.play_button.text() == "Play", timeout=WAIT)
    paused_at = session_step(w)
    qtbot.wait(300)
    assert session_step(w) == paused_at  # paused means paused

    qtbot.mouseClick(w.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: session_step(w) == paused_at + 1, timeout=WAIT)
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step == paused_at + 1, timeout=WAIT)
    assert w.step_label.text() == f"step {paused_at + 1:,}"

    w.reset_action.trigger()
    qtbot.waitUntil(lambda: session_step(w) == 0, timeout=WAIT)


def test_keyboard_shortcuts(qtbot, make_window):
    w = make_window()
    wait_ready(qtbot, w)
    assert w.play_action.shortcut().toString() == "Space"
    assert w.reset_action.shortcut().toString() == "Ctrl+R"
    w.play_action.trigger()
    qtbot.waitUntil(lambda: session_step(w) > 0, timeout=WAIT)
    w.play_action.trigger()
    qtbot.waitUntil(lambda: w.play_button.text() == "Play", timeout=WAIT)


def test_live_knob_reaches_worker_without_restart(qtbot, make_window):
    w = make_window()
    wait_ready(qtbot, w)
    w.worker.step(5)
    qtbot.waitUntil(lambda: session_step(w) == 5, timeout=WAIT)
    w.controls["lr_g"].setValue(0.0042)
    w.controls["label_smoothing"].setValue(0.25)

    def applied():
        s = w.worker.session
        lr = float(s.state.g_opt.hyperparams["learning_rate"])
        return abs(lr - 0.0042) < 1e-9 and abs(float(s.state.hyper["label_smoothing"]) - 0.25) < 1e-9

    qtbot.waitUntil(applied, timeout=WAIT)
    assert session_step(w) == 5  # live: the run goes on


def test_structural_knob_restarts_cleanly_and_says_so(qtbot, make_window):
    w = make_window()
    wait_ready(qtbot, w)
    w.worker.step(5)
    qtbot.waitUntil(lambda: session_step(w) == 5, timeout=WAIT)
    messages = []
    w.worker.message.connect(messages.append)
    w.controls["z_dim"].setValue(3)
    qtbot.waitUntil(lambda: w.worker.session.config.z_dim == 3 and session_step(w) == 0, timeout=WAIT)
    qtbot.waitUntil(lambda: any("restarted" in m and "z_dim" in m for m in messages), timeout=WAIT)


def test_dataset_picker_offers_only_compatible_datasets(qtbot, make_window):
    w = make_window()
    items = [w.dataset_box.itemText(i) for i in range(w.dataset_box.count())]
    assert {"gmm2", "ring8", "grid25", "spiral"} <= set(items)
    assert "mnist" not in items


def test_close_while_running_stops_the_thread_promptly(qtbot, make_window):
    w = make_window()
    wait_ready(qtbot, w)
    w.play()
    # Past the chunk sizer's growth (1, 4, 16 steps...), whose compiles closing would not wait for.
    qtbot.waitUntil(lambda: session_step(w) > 300 and not w.worker._sizer._fresh, timeout=WAIT)
    import time

    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 2.0
    if w.worker_thread in WorkerThread.orphans:  # a later size change was compiling: it finishes alone
        assert w.worker_thread.thread.wait(120_000)
    assert not w.worker_thread.is_running()


def test_settings_and_geometry_are_restored(qtbot, make_window):
    w = make_window()
    w.controls["seed"].setValue(42)
    w.controls["lr_d"].setValue(0.0031)
    w.resize(700, 520)  # within the offscreen platform's 800x600 screen
    size = (w.width(), w.height())
    w.close()
    again = make_window(restore=True)
    assert again.config.seed == 42 and again.config.lr_d == pytest.approx(0.0031)
    assert again.controls["seed"].value() == 42
    assert (again.width(), again.height()) == size


def test_every_control_has_a_tooltip(make_window):
    w = make_window()
    for key, widget in w.controls.items():
        assert len(widget.toolTip()) > 20, key


# The scripted screenshot (``--screenshot … --quit``, drawn and not blank) is checked in
# test_inside_training.py::test_scripted_record_gif_and_screenshot, in the same subprocess as its GIF.


PYSIDE_REFCOUNT = r"""
import sys, threading
from PySide6.QtCore import QObject, Signal, QCoreApplication
app = QCoreApplication([])
class E(QObject):
    sig = Signal(int)
class R(QObject):
    def on(self, v):
        return True
e, r = E(), R()
e.sig.connect(r.on)
for i in range(5000):
    e.sig.emit(i)
t = threading.Thread(target=lambda: [e.sig.emit(i) for i in range(2000)])
t.start(); t.join(); app.processEvents()
print("refcounts ok")
"""


def test_installed_pyside_keeps_slot_refcounts_intact():
    """PySide6 6.12.0 aborts here on CPython 3.11 ("deallocating True"); we pin it out."""
    result = subprocess.run([sys.executable, "-c", PYSIDE_REFCOUNT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "refcounts ok" in result.stdout, result.stderr[-500:]


def test_curves_are_smoothed_for_reading_but_keep_their_trend():
    from ganplay.ui.views import moving_average

    trend = np.linspace(0, 10, 10_000)
    noisy = trend + np.random.default_rng(0).normal(0, 0.5, trend.shape)
    smooth = moving_average(noisy)  # window 10_000 // 200 = 50 samples
    assert smooth.shape == noisy.shape
    assert np.std(np.diff(smooth[100:])) < 0.1 * np.std(np.diff(noisy))
    assert np.abs(smooth[100:] - trend[100 - 25 : -25]).max() < 0.35  # a 25-sample lag, no drift
