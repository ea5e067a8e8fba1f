"""The scripted-run watchdog: it fires on a stall (stacks on stderr and in the log, one line,
status 3), never on a run that moves, never after stop(); and scripted runs pet it."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from gui_helpers import caught

from ganplay.errors import GanplayError
from ganplay.ui.app import ScriptedRun
from ganplay.watchdog import DEFAULT_TIMEOUT_S, EXIT_STALLED, Watchdog, timeout_from_env

SUBPROCESS_TIMEOUT_S = 240  # a cold start with a compile, on a CI machine several times slower


def _fired_within(watchdog: Watchdog, fired: threading.Event, seconds: float) -> bool:
    watchdog.start()
    try:
        return fired.wait(seconds)
    finally:
        watchdog.stop()


# -- the watchdog on its own ------------------------------------------------------------------------
def test_fires_once_with_a_message_naming_the_seconds():
    messages: list[str] = []
    fired = threading.Event()

    def on_stall(message):
        messages.append(message)
        fired.set()

    dog = Watchdog(0.3, on_stall=on_stall)
    assert _fired_within(dog, fired, 30)
    time.sleep(0.5)
    assert messages == ["no progress for 0.3 s"]
    assert not dog.running


def test_regular_pets_keep_it_quiet():
    fired = threading.Event()
    dog = Watchdog(0.3, on_stall=lambda m: fired.set()).start()
    try:
        end = time.monotonic() + 1.5  # five timeouts
        while time.monotonic() < end:
            dog.pet()
            time.sleep(0.05)
        assert not fired.is_set()
    finally:
        dog.stop()


def test_after_stop_it_never_fires():
    fired = threading.Event()
    dog = Watchdog(0.3, on_stall=lambda m: fired.set()).start()
    dog.stop()
    assert not dog.running
    assert not fired.wait(1.0)


def test_describe_supplies_the_message():
    got: list[str] = []
    fired = threading.Event()
    dog = Watchdog(0.2, describe=lambda t: f"stuck at step 7 for {t:g} s",
                   on_stall=lambda m: (got.append(m), fired.set()))
    assert _fired_within(dog, fired, 30)
    assert got == ["stuck at step 7 for 0.2 s"]


@pytest.mark.parametrize("raw, expected", [("", DEFAULT_TIMEOUT_S), ("2.5", 2.5), (" 300 ", 300.0), ("0", None)])
def test_timeout_from_the_environment(raw, expected):
    assert timeout_from_env({"GANPLAY_WATCHDOG_S": raw}) == expected
    assert timeout_from_env({}) == DEFAULT_TIMEOUT_S


@pytest.mark.parametrize("raw", ["abc", "-1", "nan", "inf"])
def test_a_bad_timeout_is_refused_naming_the_variable(raw):
    with pytest.raises(GanplayError, match=r"GANPLAY_WATCHDOG_S=.*or 0 to switch the watchdog off"):
        timeout_from_env({"GANPLAY_WATCHDOG_S": raw})


# -- the default action, in a process of its own -----------------------------------------------------
STALLED_SCRIPT = textwrap.dedent("""
    import sys, time
    from ganplay.watchdog import Watchdog
    assert not any(m.split(".")[0] in ("PySide6", "pyqtgraph") for m in sys.modules), "the watchdog imports Qt"

    def wait_for_a_frame_that_never_comes():
        time.sleep(60)

    Watchdog(1.0, describe=lambda t: f"no training progress and no frame for {t:g} s (step 12 of 6,000)").start()
    wait_for_a_frame_that_never_comes()
""")

# A C call that never gives the GIL back (regex backtracking): the watchdog's Python thread cannot
# run at all, and the faulthandler backstop must act alone.
GIL_HOLDING_SCRIPT = textwrap.dedent("""
    import re
    from ganplay.watchdog import Watchdog

    def hold_the_gil():
        re.match(r"(a+)+$", "a" * 64 + "b")

    Watchdog(1.0, backstop_s=2.0).start()
    hold_the_gil()
""")


def _python(script: str, tmp_path, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "GANPLAY_LOG_DIR": str(tmp_path / "log"), **env}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, check=False)


def test_a_stall_writes_every_stack_to_stderr_and_the_log_then_exits_3(tmp_path):
    proc = _python(STALLED_SCRIPT, tmp_path)
    assert proc.returncode == EXIT_STALLED, proc.stderr
    log = tmp_path / "log" / "ganplay.log"
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == ("ganplay: error: no training progress and no frame for 1 s (step 12 of 6,000); "
                         f"thread stacks were written to stderr and {log}")
    assert sum(line.startswith("ganplay: error:") for line in lines) == 1
    stacks = proc.stderr.rsplit("ganplay: error:", 1)[0]
    assert "in wait_for_a_frame_that_never_comes" in stacks and "Thread 0x" in stacks
    assert "in _watch" in stacks  # every thread, the watchdog's own included
    text = log.read_text()
    assert "ERROR ganplay.watchdog: no training progress and no frame for 1 s (step 12 of 6,000)" in text
    assert "in wait_for_a_frame_that_never_comes" in text


def test_a_thread_holding_the_gil_is_caught_by_the_backstop(tmp_path):
    start = time.monotonic()
    proc = _python(GIL_HOLDING_SCRIPT, tmp_path)
    assert proc.returncode == 1, proc.stderr  # faulthandler's exit status
    assert "Timeout (0:00:02)!" in proc.stderr
    assert "in hold_the_gil" in proc.stderr
    assert time.monotonic() - start < SUBPROCESS_TIMEOUT_S / 2


# -- scripted runs ----------------------------------------------------------------------------------
class CountingWatchdog:
    def __init__(self):
        self.pets = 0
        self.describe = None

    def pet(self):
        self.pets += 1


def test_a_scripted_run_pets_its_watchdog_and_says_where_it_stands(qtbot, make_window):
    window = make_window()
    dog = CountingWatchdog()
    scripted = ScriptedRun(window, steps=40, watchdog=dog)
    assert dog.describe(120) == ("no training progress and no frame for 120 s "
                                 "(no step has reached the window yet: building or compiling)")
    with caught(qtbot, window.worker.target_reached, timeout=SUBPROCESS_TIMEOUT_S * 1000):
        scripted.start(play=True)
    qtbot.waitUntil(lambda: scripted.step == 40, timeout=30_000)
    assert dog.pets >= 2  # the first snapshot (step 0) and the last, at least
    assert dog.describe(120) == "no training progress and no frame for 120 s (step 40 of 40)"
    scripted.closing()
    assert dog.describe(2.5) == "the run ended (step 40 of 40) but ganplay did not exit within 2.5 s"


def _ganplay(args, tmp_path, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "GANPLAY_LOG_DIR": str(tmp_path / "log"), **env}
    return subprocess.run([sys.executable, "-m", "ganplay", *args], env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, check=False)


def test_a_scripted_run_that_moves_ends_normally_with_the_watchdog_on(tmp_path):
    # The timeout must outlast the first compile (a few seconds here, more on a loaded CI).
    proc = _ganplay(["--model", "toy-mlp", "--dataset", "ring8", "--set", "hidden=16", "--autostart",
                     "--steps", "1", "--quit"], tmp_path, GANPLAY_WATCHDOG_S="90")
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr and "Thread 0x" not in proc.stderr


def test_a_scripted_run_that_fails_exits_1_at_once_instead_of_waiting_on_a_dialog(tmp_path):
    proc = _ganplay(["--model", "gia-mlp", "--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"),
                     "--autostart", "--steps", "5", "--quit"], tmp_path, GANPLAY_CACHE_DIR=str(tmp_path / "cache"))
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ganplay: error:")]
    assert len(errors) == 1 and "dataset 'mnist' was not found" in errors[0], proc.stderr
    assert "Thread 0x" not in proc.stderr


def test_quit_without_steps_is_refused():
    from ganplay import cli

    assert cli.main(["--quit"]) == cli.EXIT_FAILED


def test_the_screenshot_is_taken_even_if_the_final_frame_is_drawn_before_target_reached_arrives(
        qtbot, make_window, monkeypatch, tmp_path):
    """The worker says "paused" and then "target reached"; if the window's redraw timer draws the
    final snapshot between the two, no later frame comes (training has stopped), and the run
    used to wait for one forever."""
    from ganplay.ui.worker import TrainingWorker

    pause = TrainingWorker._set_playing

    def slow_pause(worker, playing):
        pause(worker, playing)
        if not playing:
            time.sleep(0.3)  # the GUI thread runs meanwhile: running_changed, then a redraw tick

    monkeypatch.setattr(TrainingWorker, "_set_playing", slow_pause)
    window = make_window()
    shot = tmp_path / "shot.png"
    scripted = ScriptedRun(window, steps=40, screenshot=str(shot))
    with caught(qtbot, window.worker.target_reached, timeout=SUBPROCESS_TIMEOUT_S * 1000):
        scripted.start(play=True)
    # Taken while the run's own target_reached slot ran (connected first), not by a chance later
    # frame (a range change of the scatter sometimes brought one and hid the bug).
    assert shot.is_file() and shot.stat().st_size > 10_000
