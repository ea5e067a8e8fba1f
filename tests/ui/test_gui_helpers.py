"""Why the GUI tests wait for the worker's signals with ``caught`` and not ``qtbot.waitSignal``."""
from __future__ import annotations

import threading

import pytest
from gui_helpers import caught
from PySide6.QtCore import QObject, QThread, QTimer, Signal
from pytestqt.exceptions import TimeoutError as QtBotTimeout
from pytestqt.qt_compat import qt_api
from pytestqt.wait_signal import SignalBlocker


class Emitter(QObject):
    fired = Signal(str)


class EmitInItsThread(QThread):
    """A QObject moved to this thread emits from it, as the training worker does."""

    def __init__(self, emitter: Emitter, go: threading.Event | None = None):
        super().__init__()
        self.emitter, self.go = emitter, go
        emitter.moveToThread(self)

    def run(self):
        if self.go is not None:
            self.go.wait(60)
        self.emitter.fired.emit("from the worker")


def test_a_plain_callable_runs_in_the_emitting_thread(qapp):
    """The premise: pytest-qt's blocker slot is a plain callable, so it runs in the worker."""
    emitter, ran_in = Emitter(), []
    emitter.fired.connect(lambda _: ran_in.append(threading.current_thread()))
    thread = EmitInItsThread(emitter)
    thread.start()
    assert thread.wait(60_000)
    assert ran_in and ran_in[0] is not threading.main_thread()


def test_waitsignal_hangs_when_the_worker_emits_as_the_loop_starts(qapp):
    """pytest-qt's own timeout is lost: the worker's emission stopped the timer from the wrong
    thread and quit the loop before it ran. (If this fails, pytest-qt fixed it.)"""
    emitter = Emitter()
    blocker = SignalBlocker(timeout=100)
    blocker.connect(emitter.fired)
    blocker._timer.start()  # what wait() does ...
    thread = EmitInItsThread(emitter)
    thread.start()  # ... the worker emits in between ...
    assert thread.wait(60_000)
    rescued = []

    def rescue():
        rescued.append(True)
        blocker._loop.quit()

    QTimer.singleShot(1000, rescue)  # a timer of this thread, to end the demonstration
    qt_api.exec(blocker._loop)  # ... then wait() enters the loop: only the rescue ends it
    assert rescued, "the blocker's 100 ms timeout ended the loop: waitSignal may be safe again"


def test_caught_sees_an_emission_before_and_during_the_wait(qtbot):
    emitter = Emitter()
    go = threading.Event()
    thread = EmitInItsThread(emitter, go)
    thread.start()
    with caught(qtbot, emitter.fired, timeout=60_000) as seen:
        go.set()  # the worker may emit before the wait starts, or while it polls
    assert seen.args == ["from the worker"]
    assert thread.wait(60_000)
    # Emitted before the wait started, and already finished: still seen.
    emitter2 = Emitter()
    thread2 = EmitInItsThread(emitter2)
    with caught(qtbot, emitter2.fired, timeout=60_000, check=lambda s: s.startswith("from")) as seen2:
        thread2.start()
        assert thread2.wait(60_000)
    assert seen2.args == ["from the worker"]


def test_caught_times_out_and_ignores_what_check_refuses(qtbot):
    emitter = Emitter()
    thread = EmitInItsThread(emitter)
    with pytest.raises(QtBotTimeout):
        with caught(qtbot, emitter.fired, timeout=200, check=lambda s: s == "something else"):
            thread.start()
    assert thread.wait(60_000)
