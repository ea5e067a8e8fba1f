"""GUI test fixtures: an isolated settings file and a check that no test leaks a thread or window."""
import gc

import pytest
from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ganplay.config import Config
from ganplay.ui.errors import StatusErrors
from ganplay.ui.main_window import MainWindow
from ganplay.ui.worker import WorkerThread


@pytest.fixture(autouse=True)
def no_leaked_threads_or_windows(qapp):
    # As the app does: cycles are collected in the GUI thread only. A previous test's window,
    # collected by the next test's training thread, once deadlocked Qt (two threads destroying
    # QObjects of one tree).
    gc.collect()
    collector = GarbageCollector(interval=1.0)
    yield
    QApplication.processEvents()
    # A thread told to stop that is still finishing a compile (closing does not wait for one) is
    # not a leak: wait for it here so it cannot spill into the next test.
    for t in list(WorkerThread.live):
        if t.is_running() and t.stop_requested():
            t.thread.wait(120_000)
    WorkerThread.orphans.clear()
    running = [t for t in list(WorkerThread.live) if t.is_running()]
    for t in running:
        t.stop(2000)
    windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for w in windows:
        w.close()
    collector.timer.stop()
    gc.enable()
    gc.collect()  # here, in the GUI thread
    assert not running, "test left a training thread running"
    assert not windows, f"test left windows open: {windows}"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def show_window(qtbot):
    """Shows a window it is given (qtbot closes it too) and closes it at the end if still open."""
    made = []

    def show(w):
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield show
    for w in made:
        if w.isVisible():
            w.close()


@pytest.fixture
def make_window(show_window, settings):
    def make(config=None, restore=False, errors=None):
        """A window; its errors are status-bar lines (no modal dialog) unless ``errors`` says
        otherwise (``DialogErrors()``: as the app's)."""
        config = config or Config.for_model("toy-mlp", dataset="gmm2", hidden=32, batch_size=64)
        w = MainWindow(config, settings=settings, restore=restore, errors=errors or StatusErrors())
        return show_window(w)

    return make
