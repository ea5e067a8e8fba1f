"""The app's window compiles the training program before Play (MainWindow(warm_up=True))."""
from ganplay.config import Config
from ganplay.ui.errors import StatusErrors
from ganplay.ui.main_window import MainWindow
from tests.ui.gui_helpers import fix_dispatch_size

WAIT = 300_000  # ms: only catches a hang (compiles on a busy 2-core machine)
CONFIG = Config.for_model("toy-mlp", dataset="gmm2", hidden=16, batch_size=32)


def compiled_programs(w) -> int:
    s = w.worker.session
    return 0 if s is None else s.trainer._run._cache_size()


def test_the_window_compiles_the_training_step_before_play(qtbot, show_window, settings, monkeypatch):
    # Chunks of 16 steps: within the one program warm-up compiles (1-64 steps). Left to itself the
    # sizer grows chunks past 64 on a fast machine, which is a second program by design.
    fix_dispatch_size(monkeypatch, 16)
    w = show_window(MainWindow(CONFIG, settings=settings, restore=False, warm_up=True, errors=StatusErrors()))
    # Without Play, the run's loop program gets compiled and the untrained generator scored.
    def scored():
        s = w.worker.session
        return s is not None and list(s.quality.series()["step"]) == [0]

    qtbot.waitUntil(lambda: compiled_programs(w) == 1 and scored(), timeout=WAIT)
    s = w.worker.session
    assert s.step == 0
    w.play()
    qtbot.waitUntil(lambda: s.step >= 200, timeout=WAIT)
    w.pause()
    assert compiled_programs(w) == 1  # every chunk the window sized ran the program compiled ahead


def test_without_warm_up_nothing_is_compiled_until_play(qtbot, show_window, settings):
    w = show_window(MainWindow(CONFIG, settings=settings, restore=False))
    qtbot.waitUntil(lambda: w.worker.session is not None, timeout=WAIT)
    qtbot.wait(300)
    assert compiled_programs(w) == 0
