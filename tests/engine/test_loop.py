"""The one training loop: chunks in flight, observers called in order with the right steps, a fault
turned into a divergence (and no on_chunk for its chunk), discard, rollback, saved observer state.

The program is a stand-in (no JAX compile): each step adds one to the state's step and reports
``d_loss`` = the step and a fault code where the test planted one.
"""
from typing import NamedTuple

import numpy as np
import pytest

from ganplay.engine.guard import GoodStates
from ganplay.engine.loop import ChunkLoop
from ganplay.engine.observers import Observer


class State(NamedTuple):
    step: int
    finite: bool = True


class Program:
    """``run(state, k)``; ``faults``: {absolute step: fault code}; counts dispatches and fetches."""

    def __init__(self, faults=None):
        self.faults = faults or {}
        self.dispatched: list[int] = []

    def __call__(self, state, k):
        steps = np.arange(state.step + 1, state.step + k + 1)
        self.dispatched.append(int(steps[-1]) if k else state.step)
        fault = np.asarray([self.faults.get(int(s), 0) for s in steps], np.float32)
        return State(state.step + k, state.finite and not fault.any()), {"d_loss": steps.astype(np.float32),
                                                                         "fault": fault}


class Log(Observer):
    def __init__(self, name, calls, scores=None):
        self.name, self.calls, self.scores = name, calls, scores or {}
        self.total = 0

    def score(self, event):
        self.calls.append((self.name, "score", event.first_step, event.step))
        return self.scores.get(event.step)

    def on_evaluate(self, step, row):
        self.calls.append((self.name, "evaluate", step, dict(row)))

    def on_chunk(self, event):
        self.calls.append((self.name, "chunk", event.first_step, event.step))
        self.total += event.steps
        np.testing.assert_array_equal(event.metrics["d_loss"], np.arange(event.first_step, event.step + 1))

    def on_bad_chunk(self, event):
        self.calls.append((self.name, "bad", event.first_step, event.step))

    def on_divergence(self, step, network, what):
        self.calls.append((self.name, "divergence", step, network, what))

    def on_rollback(self, step):
        self.calls.append((self.name, "rollback", step))

    def state_dict(self):
        return {"total": self.total}

    def load_state_dict(self, state):
        self.total = int(state["total"])


def make_loop(faults=None, every=10):
    program = Program(faults)
    loop = ChunkLoop(object(), State(0), GoodStates(every), program=program)
    return loop, program


def test_observers_are_called_in_order_with_each_chunks_steps():
    calls = []
    loop, _ = make_loop()
    a = loop.add(Log("a", calls, scores={4: {"kl": 1.0}}))
    loop.add(Log("b", calls, scores={4: {"modes": 3}}))
    loop.advance(4)
    loop.advance(3)
    assert calls == [
        ("a", "score", 1, 4), ("b", "score", 1, 4),
        ("a", "evaluate", 4, {"kl": 1.0, "modes": 3}), ("b", "evaluate", 4, {"kl": 1.0, "modes": 3}),
        ("a", "chunk", 1, 4), ("b", "chunk", 1, 4),
        ("a", "score", 5, 7), ("b", "score", 5, 7),  # nothing scored: no on_evaluate
        ("a", "chunk", 5, 7), ("b", "chunk", 5, 7),
    ]
    assert loop.step == 7 and a.total == 7


def test_the_next_chunk_is_dispatched_before_the_last_is_fetched():
    calls = []
    loop, program = make_loop()
    loop.add(Log("a", calls))
    first = loop.launch(4)
    second = loop.launch(4)  # queued behind the first, from its state
    assert program.dispatched == [4, 8] and (loop.step, loop.head_step, loop.inflight_steps) == (0, 8, 8)
    loop.finish(first)
    assert (loop.step, loop.head_step) == (4, 8) and calls[-1] == ("a", "chunk", 1, 4)
    loop.finish(second)
    assert (loop.step, loop.head_step, loop.inflight_steps) == (8, 8, 0)


def test_a_fault_is_a_divergence_and_its_chunk_reaches_no_on_chunk():
    calls = []
    loop, _ = make_loop(faults={7: 3})  # step 7: the generator's loss
    loop.add(Log("a", calls, scores={5: {"kl": 1.0}, 10: {"kl": 2.0}}))
    loop.advance(5)
    calls.clear()
    loop.advance(5)
    assert calls == [("a", "bad", 6, 10), ("a", "divergence", 7, "generator", "loss")]
    d = loop.divergence
    assert (d.step, d.network, d.what) == (7, "generator", "loss")
    assert loop.good.step == 0  # the diverged state is never kept
    calls.clear()
    loop.advance(5)  # after a divergence: rows, but no scores, no on_chunk, no second divergence
    assert calls == [("a", "bad", 11, 15)]


def test_discard_drops_the_chunks_in_flight_and_training_resumes_from_the_last_finished():
    loop, program = make_loop()
    loop.advance(3)
    loop.launch(4)
    loop.launch(4)
    loop.discard()
    assert (loop.step, loop.head_step, loop.inflight_steps) == (3, 3, 0)
    loop.advance(2)
    assert program.dispatched[-1] == 5 and loop.step == 5


def test_rollback_returns_to_the_kept_state_and_tells_the_observers():
    calls = []
    loop, _ = make_loop(faults={13: 1}, every=10)
    loop.add(Log("a", calls))
    loop.advance(10)
    loop.advance(5)
    assert loop.divergence is not None and loop.good.step == 10
    loop.rollback(loop.good.state, loop.good.step)
    assert loop.divergence is None and loop.step == 10 and calls[-1] == ("a", "rollback", 10)
    loop.program.faults = {}
    loop.advance(2)
    assert calls[-1] == ("a", "chunk", 11, 12)


def test_an_observers_state_round_trips_through_the_loops_state_dict():
    loop, _ = make_loop()
    log = loop.add(Log("a", []))
    loop.advance(6)
    saved = loop.state_dict()
    assert saved == {"0:Log": {"total": 6}}
    other, _ = make_loop()
    fresh = other.add(Log("a", []))
    other.load_state_dict(saved)
    assert fresh.total == log.total == 6


def test_a_duck_typed_observer_needs_only_the_hooks_it_uses():
    class Steps:
        def __init__(self):
            self.seen = []

        def on_chunk(self, event):
            self.seen.append(event.step)

    loop, _ = make_loop()
    steps = loop.add(Steps())
    loop.advance(2)
    loop.advance(3)
    loop.remove(steps)
    loop.advance(1)
    assert steps.seen == [2, 5] and loop.step == 6


@pytest.mark.parametrize("k", [1, 7])
def test_a_session_records_through_its_loop(k):
    """The window's Session composes the loop: its history and guard are the loop's observers."""
    from ganplay.config import Config
    from ganplay.engine.session import Session

    s = Session(Config.for_model("toy-mlp", dataset="gmm2", hidden=8, batch_size=16))
    s.advance(k)
    s.finish(s.launch(k))
    assert s.step == s.loop.step == 2 * k and s.history.steps()[-1] == 2 * k
    assert s.last_train_seconds == s.loop.last_seconds > 0
