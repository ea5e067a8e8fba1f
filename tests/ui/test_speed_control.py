"""Slow motion (max, 100, 10, 1 steps/s) and step-by-step through the worker, on a fake clock:
deadlines decide when steps run, so nothing here depends on the machine's speed."""
import threading

import pytest

from ganplay.config import Config
from ganplay.engine.session import Pacer
from ganplay.ui.worker import TrainingWorker, WorkerThread

CONFIG = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32)
WAIT_MS = 300_000  # generous: only catches a hang (compiles on a loaded machine)


class FakeClock:
    """A monotonic clock that moves only when the test says so (read from any thread)."""

    def __init__(self):
        self.t = 100.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def set(self, t: float) -> None:
        with self._lock:
            self.t = t


# -- the pacer alone ------------------------------------------------------------------------------
def test_step_n_is_due_at_t0_plus_n_over_rate():
    clock = FakeClock()
    p = Pacer(10.0, clock)
    assert p.wait_s() == 0  # the first step at once
    p.tick()
    assert p.wait_s() == pytest.approx(0.1)
    clock.set(100.25)  # the step ran late: the next deadline stays on the grid, no drift
    p.tick()
    assert p.wait_s() == pytest.approx(-0.05)
    p.tick()
    assert p.wait_s() == pytest.approx(0.05)  # step 3 at t0 + 0.3
    clock.set(100.0 + 0.1 * 1000)  # a thousand steps' worth behind (a compile): no burst
    assert p.wait_s() == 0
    p.tick()
    assert p.wait_s() == pytest.approx(0.1)


def test_restart_makes_the_next_step_due_now():
    clock = FakeClock()
    p = Pacer(1.0, clock)
    p.wait_s()
    p.tick()
    assert p.wait_s() == pytest.approx(1.0)
    p.restart()
    assert p.wait_s() == 0


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf")])
def test_a_meaningless_speed_is_refused(rate):
    with pytest.raises(ValueError, match="steps/s must be a positive number"):
        Pacer(rate)


def test_the_worker_refuses_a_speed_out_of_range(qtbot):
    worker = TrainingWorker(CONFIG)
    with pytest.raises(ValueError, match=r"speed 5000 steps/s is out of range"):
        worker.set_speed(5000)
    with pytest.raises(ValueError, match="sub-step 'h' is not one of sample, d, g"):
        worker.substep("h")
    assert worker._commands.empty()


# -- the worker -----------------------------------------------------------------------------------
@pytest.fixture
def worker(qtbot):
    clock = FakeClock()
    w = TrainingWorker(CONFIG, clock=clock)
    w.clock = clock
    w.published = []
    w.snapshot_ready.connect(lambda step: w.published.append(step))
    thread = WorkerThread(w)
    thread.start()
    try:
        qtbot.waitUntil(lambda: w.session is not None and bool(w.published), timeout=WAIT_MS)
        yield w
    finally:
        thread.stop(120_000)


def held_at(qtbot, worker, step: int) -> None:
    """The run reaches ``step`` and stays there while the fake clock stands still."""
    qtbot.waitUntil(lambda: worker.session.step >= step, timeout=WAIT_MS)
    qtbot.wait(300)  # a chance to run ahead if it would (it waits on the fake clock's deadlines)
    assert worker.session.step == step


def test_slow_motion_runs_each_step_when_due_and_publishes_it(qtbot, worker):
    worker.set_speed(10)
    worker.play()
    held_at(qtbot, worker, 1)  # the first step at once
    worker.clock.set(100.1)
    held_at(qtbot, worker, 2)
    worker.clock.set(100.35)  # steps 3 and 4 were due at 100.2 and 100.3
    held_at(qtbot, worker, 4)
    qtbot.waitUntil(lambda: worker.published[-1] == 4, timeout=WAIT_MS)
    assert [s for s in worker.published if s > 0] == [1, 2, 3, 4]  # one dispatch and snapshot per step
    worker.set_speed(None)  # max: chunks again, as fast as it goes, clock or not
    qtbot.waitUntil(lambda: worker.session.step > 50, timeout=WAIT_MS)
    worker.pause()


def test_substep_commands_take_a_step_apart(qtbot, worker):
    seen = []
    worker.snapshot_ready.connect(lambda _s: seen.append(worker.latest_snapshot().substep))
    for upto in (None, None, None, "d"):
        worker.substep(upto)
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=WAIT_MS)
    assert [s.phase for s in seen] == ["sample", "d", "g", "d"]
    assert worker.session.step == 1  # one step done; the last D sub-step does not count
    assert set(seen[2].metrics) == {"d_real", "d_fake", "d_loss", "g_loss"}
