"""The divergence guard's promise: a rollback returns at most ``every`` steps before the first bad
step, whatever the dispatch size, and to the run's first state only while the run is younger
than ``every``."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganplay.config import Config
from ganplay.engine import runner
from ganplay.engine.checkpoint import read_run
from ganplay.engine.guard import GoodStates, keep_every
from ganplay.engine.runner import DivergenceError, train_headless


def _guarded_loop(every: int, start: int, chunks: list[int], first_bad: int) -> int | None:
    """What the training loops do: dispatches of the wanted sizes, cut by ``limit``, each
    offered to the guard unless it holds the first bad step. Returns the step a rollback would
    return to (None if the run never reached the bad step)."""
    good = GoodStates(every)
    good.offer("state", start, True)
    step, i = start, 0
    while True:
        k = good.limit(step, chunks[i % len(chunks)])
        assert 1 <= k <= chunks[i % len(chunks)]
        i += 1
        if step < first_bad <= step + k:
            return good.step
        step += k
        good.offer("state", step, True)


@settings(max_examples=300, deadline=None)
@given(every=st.sampled_from([1, 50, 1000]), start=st.integers(0, 5000),
       chunks=st.lists(st.integers(1, 2048), min_size=1, max_size=5), ahead=st.integers(1, 6000))
def test_rollback_distance_is_bounded_for_any_dispatch_sizes(every, start, chunks, ahead):
    first_bad = start + ahead
    back_to = _guarded_loop(every, start, chunks, first_bad)
    assert first_bad - back_to <= every
    if first_bad - start > every:
        assert back_to > start  # never the run's first state once the run is older than every


def test_limit_ends_dispatches_on_multiples():
    good = GoodStates(1000)
    assert good.limit(0, 1024) == 1000
    assert good.limit(600, 600) == 400
    assert good.limit(1000, 7) == 7
    assert good.limit(999, 7) == 1
    assert good.limit(1234, 5000) == 766


def test_offer_keeps_the_first_finite_state_of_each_block_only():
    good = GoodStates(1000)
    good.offer("s0", 0, True)
    good.offer("s600", 600, True)
    assert good.step == 0
    good.offer("s1000", 1000, False)  # not finite: never kept
    assert good.step == 0
    good.offer("s1200", 1200, True)
    assert (good.state, good.step) == ("s1200", 1200)
    good.offer("s2000", 2000, True)
    assert (good.state, good.step) == ("s2000", 2000)


# -- the real loop (what `ganplay train --on-diverge rollback` runs) at forced dispatch sizes --------
TOY = dict(hidden=16, batch_size=32, lr_g=2e-3)
EVERY = 100  # kept states every 100 steps instead of toy's 1,000: the same promise in a tenth of the steps


def test_states_are_kept_every_1000_toy_steps_and_every_50_image_steps():
    assert keep_every("points") == 1000 and keep_every("images") == 50


@pytest.fixture
def keep_every_100(monkeypatch):
    monkeypatch.setattr(runner, "keep_every", lambda kind: EVERY)


# Dispatch sizes against the spacing: 1, a small and a large non-divisor, more than the spacing;
# first bad steps: inside a block, a block's first and last step, before the first kept state.
@pytest.mark.parametrize("chunk,first_bad", [
    (1, 115), (7, 101), (7, 200), (60, 115), (60, 199), (128, 115), (128, 200), (128, 30),
])
def test_headless_rollback_returns_to_the_last_multiple_before_the_fault(
        tmp_path, explode_generator_at, keep_every_100, chunk, first_bad):
    explode_generator_at(first_bad)
    notes = []
    steps = first_bad + 60
    train_headless(Config.for_model("toy-mlp", dataset="gmm2", **TOY), steps, tmp_path, chunk=chunk,
                   on_diverge="rollback", quality=False, notify=notes.append)
    back = [int(m.group(1).replace(",", "")) for n in notes
            for m in [re.search(r"rolled back to step ([\d,]+)", n)] if m]
    assert len(back) == 1, notes
    assert f"diverged at step {first_bad:,}" in notes[0]
    assert back[0] == (first_bad - 1) // EVERY * EVERY  # at most EVERY steps back, 0 only if younger
    rows = np.genfromtxt(tmp_path / "metrics.csv", delimiter=",", skip_header=1, usecols=range(7))
    np.testing.assert_array_equal(rows[:, 0], np.arange(1, steps + 1))
    assert np.isfinite(rows).all()


def test_a_resumed_run_keeps_a_state_at_the_next_multiple(tmp_path, explode_generator_at, keep_every_100):
    config = Config.for_model("toy-mlp", dataset="gmm2", **TOY)
    train_headless(config, 123, tmp_path, chunk=60, quality=False)
    explode_generator_at(210)
    with pytest.raises(DivergenceError, match=r"last good state \(step 200\)"):
        train_headless(None, 200, tmp_path, resume=True, chunk=60, quality=False)
    header, _ = read_run(tmp_path / "run.npz")
    assert header["step"] == 200
