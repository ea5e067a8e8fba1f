"""Chunks of any size up to 64 steps run one compiled program, and warm_up compiles it."""
import jax
import numpy as np

from ganplay.config import Config
from ganplay.engine.session import Session
from ganplay.engine.train import loop_steps, steps_bucket

SMALL = {"dataset": "gmm2", "hidden": 16, "batch_size": 32}


def leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(jax.device_get(tree))]


def test_buckets():
    assert [steps_bucket(k) for k in (0, 1, 24, 64, 65, 200, 256, 257)] == [64, 64, 64, 64, 128, 256, 256, 512]


def test_one_program_serves_every_chunk_size_and_matches_the_scan():
    s = Session(Config.for_model("toy-mlp", **SMALL))
    run = s.trainer._run
    start = s.state
    for k in (1, 7, 24, 64):
        _, m = s.trainer.run(start, k)
        assert all(v.shape == (k,) for v in m.values())
    assert run._cache_size() == 1  # 1, 7, 24 and 64 steps: one compile
    # The loop is the scan with a traced count: the same state and metrics, bit for bit.
    scanned = jax.jit(s.trainer._run_impl, static_argnums=1)(start, 7, s.trainer.data_arrays)
    looped = s.trainer.run(start, 7)
    assert all(np.array_equal(a, b) for a, b in zip(leaves(scanned), leaves(looped)))


def test_loop_runs_exactly_the_count_given():
    def step(s, _data):
        return s + 1, {"seen": s}

    state, m = jax.jit(loop_steps, static_argnums=(0, 3))(step, 0, 5, 8, None)
    assert int(state) == 5
    assert m["seen"].tolist() == [0, 1, 2, 3, 4, 0, 0, 0]  # rows past the count stay unset


def test_warm_up_compiles_without_training():
    s = Session(Config.for_model("toy-mlp", **SMALL))
    before = leaves(s.state)
    s.warm_up()
    assert s.step == 0 and s.trainer._run._cache_size() == 1
    assert all(np.array_equal(a, b) for a, b in zip(before, leaves(s.state)))
    assert list(s.quality.series()["step"]) == [0]  # the untrained generator's score
    s.advance(24)  # and the first chunk uses the program already compiled
    assert s.trainer._run._cache_size() == 1 and s.step == 24
