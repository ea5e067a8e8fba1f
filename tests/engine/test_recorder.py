"""The timeline's recorder: thinning bounds, memory budget, run files, and Continue from here."""
import math

import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine.checkpoint import read_run, save_run
from ganplay.engine.observers import ChunkEvent
from ganplay.engine.recorder import KeptStates, Recorder, keep_index, read_recording
from ganplay.engine.session import Session
from ganplay.engine.snapshot import DecisionField


def _points(step: int, n: int = 1500) -> np.ndarray:
    return np.random.default_rng(step).normal(size=(n, 2)).astype(np.float32)


def _bound(n: int, dense: int) -> int:
    return dense + 1 + (dense // 2 + 1) * max(0, math.ceil(math.log2(max(n / dense, 1))))


@pytest.mark.parametrize("n", [1, 150, 201, 1000, 7777])
def test_thinning_keeps_step_0_the_latest_and_a_logarithmic_count(n):
    rec = Recorder(dense=50)
    for i in range(n):
        rec.add(10 * i, np.zeros((4, 2)))
    steps = rec.steps()
    assert steps[0] == 0 and steps[-1] == 10 * (n - 1)
    assert len(steps) <= _bound(n, 50)
    assert np.all(np.diff(steps) > 0)
    # the last 50 frames are dense; older ones spaced at most 2x wider the further back
    assert list(steps[-min(n, 50):]) == [10 * i for i in range(max(0, n - 50), n)]


def test_keep_index_is_monotone_a_dropped_frame_never_comes_back():
    for i in range(1, 400):
        kept = [keep_index(i, newest, 16) for newest in range(i, 2000)]
        first_drop = kept.index(False) if False in kept else len(kept)
        assert not any(kept[first_drop:])


def test_memory_stays_under_budget_for_long_runs():
    """Synthetic feeding: a frame every 20 steps, as the window's snapshots come at about 60 a
    second (100,000 toy steps with the field and manifold; 20,000 gia-mlp steps on MNIST)."""
    toy = Recorder()
    field = DecisionField(np.random.default_rng(0).random((100, 100), np.float32), (-2, 2, -2, 2))
    for step in range(0, 100_001, 20):
        toy.add(step, _points(0), field=field, manifold=np.zeros((25, 25, 2), np.float32),
                metrics={"d_loss": 1.0, "g_loss": 0.7})
    assert toy.nbytes < 150 * 2**20
    assert toy.steps()[0] == 0 and toy.steps()[-1] == 100_000
    images = Recorder()
    tiles = np.random.default_rng(1).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    for step in range(0, 20_001, 4):
        images.add(step, tiles, metrics={"d_loss": 1.0})
    assert images.nbytes < 150 * 2**20
    assert images.frames[-1].generated.dtype == np.uint8


def test_budget_shortens_the_dense_stretch_for_large_frames():
    rec = Recorder(dense=200, budget_bytes=8_000_000)
    tiles = np.zeros((64, 32, 32, 3), np.float32)  # 196 kB a frame
    for step in range(300):
        rec.add(step, tiles)
    assert rec.nbytes <= 8_000_000 and rec.dense < 200
    assert rec.steps()[0] == 0 and rec.steps()[-1] == 299


def test_frames_read_back_what_was_recorded():
    rec = Recorder()
    for step in (0, 100, 200):
        rec.add(step, _points(step), metrics={"g_loss": step / 100})
    frame = rec.frame_at(150)
    assert frame.step == 100
    np.testing.assert_allclose(frame.points(), _points(100), atol=2e-3)
    assert rec.neighbour(100, +1) == 200 and rec.neighbour(100, -1) == 0
    rec.truncate(100)
    assert list(rec.steps()) == [0, 100]


def test_modes_marks_and_settings_marks():
    rec = Recorder()
    for step, modes in ((0, 0), (100, 8), (200, 8), (300, 6), (400, 7)):
        rec.add(step, _points(0, 8), metrics={"modes": modes, "modes_total": 8})
    grid = Recorder()
    for step, modes in ((0, 10), (100, 11), (200, 10), (300, 11), (400, 13), (500, 12)):
        grid.add(step, _points(0, 8), metrics={"modes": modes, "modes_total": 25})
    assert [(m.step, m.text) for m in grid.marks] == [(400, "modes gained: 10 → 13")]  # ±1: wavering
    rec.on_settings(250, {"r1_weight": 10.0})
    kinds = [(m.step, m.kind) for m in rec.marks]
    assert (100, "modes") in kinds and (300, "modes") in kinds and (400, "modes") in kinds
    assert (250, "settings") in kinds
    assert "lost" in next(m for m in rec.marks if m.step == 300).text


def test_kept_states_are_bounded_and_keep_step_0_and_the_newest():
    kept = KeptStates(every=1000, max_states=8)
    for step in range(0, 100_001, 500):
        kept.offer(f"state{step}", step)
    steps = kept.steps()
    assert len(steps) <= 8 and steps[0] == 0 and steps[-1] == 100_000
    assert all(s % 1000 == 0 for s in steps)
    assert kept.at_or_before(99_999) == steps[-2]
    big = KeptStates(every=10, budget_bytes=3 * 8000)  # states of 8 kB each: 3 fit
    for step in range(0, 200, 10):
        big.offer(np.zeros(1000), step)
    assert len(big.steps()) == 3 and big.steps()[0] == 0 and big.steps()[-1] == 190


def test_recording_travels_in_a_run_file_and_old_files_have_none(tmp_path):
    config = Config.for_model("toy-mlp", hidden=8, batch_size=8)
    session = Session(config)
    rec = Recorder()
    field = DecisionField(np.full((100, 100), 0.5, np.float32), (-1.0, 1.0, -2.0, 2.0))
    for step in range(0, 1000, 10):
        rec.add(step, _points(step), field=field if step % 20 else None, metrics={"d_loss": step * 1.0})
    rec.mark(500, "settings", "lr_g=0.001")
    path = tmp_path / "run.npz"
    session.save(path, recording=rec)
    back = read_recording(path)
    assert list(back.steps()) == list(rec.steps())
    np.testing.assert_array_equal(back.frame_at(990).generated, rec.frame_at(990).generated)
    assert back.frame_at(990).extent == (-1.0, 1.0, -2.0, 2.0)
    assert back.frame_at(980).field is None
    assert back.series("d_loss")[1][-1] == 990.0
    assert [(m.step, m.text) for m in back.marks] == [(500, "lr_g=0.001")]
    Session.open(path)  # the run itself opens as before
    old = tmp_path / "old.npz"
    save_run(old, config, session.state)  # a file written without a recording
    assert read_recording(old) is None
    header, _ = read_run(old)
    assert "recording" not in header
    Session.open(old)


def _train(session: Session, steps: int, chunk: int, rec: Recorder | None = None) -> None:
    while session.step < steps:
        k = min(chunk, steps - session.step, 100 - session.step % 100)  # ends on kept steps
        first = session.step + 1
        m = session.advance(k)
        if rec is not None:
            rec.on_chunk(ChunkEvent(session.trainer, session.state, first, k, m, 0.0))


def test_continue_from_here_equals_a_run_trained_straight_to_that_step():
    config = Config.for_model("toy-mlp", hidden=16, batch_size=32, seed=3)
    a = Session(config)
    rec = Recorder()
    rec.states = KeptStates(every=100)
    rec.on_chunk(ChunkEvent(a.trainer, a.state, 1, 0, {}, 0.0))
    _train(a, 600, 64, rec)
    assert 200 in rec.states.steps()
    # Continue from step 200: the guard's kept state is replaced by the chosen one, then rolled back to.
    a.good.state, a.good.step = rec.states.get(200), 200
    assert a.rollback() == 200
    rec.truncate(200)
    _train(a, 350, 64)
    b = Session(config)
    _train(b, 350, 40)
    for x, y in zip(jax.tree_util.tree_leaves(a.state.g_params), jax.tree_util.tree_leaves(b.state.g_params)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-6)
    for x, y in zip(jax.tree_util.tree_leaves(a.state.d_params), jax.tree_util.tree_leaves(b.state.d_params)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=1e-6)
    assert rec.states.steps()[-1] == 200


def test_pinned_frames_survive_thinning_and_their_spacing_doubles_past_the_bound():
    """A GIF being recorded pins the frames at its steps: they outlive the thinning; past
    MAX_PINNED of them the spacing doubles, as the window's GIFs always did."""
    from ganplay.engine.recorder import MAX_PINNED

    rec = Recorder(dense=10)
    pts = np.zeros((4, 2), np.float32)
    for step in range(100):
        rec.add(step, pts)
    rec.pin(5, from_step=100)
    for step in range(100, 400):
        rec.add(step, pts)
    steps = set(rec.steps().tolist())
    assert set(range(100, 400, 5)) <= steps  # every pinned frame kept
    assert not set(range(5, 100, 5)) <= steps  # before the pin: thinned as any
    assert len(steps) < 150
    rec.pin(1, from_step=400)
    for step in range(400, 400 + 2 * MAX_PINNED):
        rec.add(step, pts)
    assert rec.pinned_every == 2  # 480 frames at every step: the spacing doubled
    assert sum(rec.pinned(s) for s in rec.steps()) <= MAX_PINNED
