"""The jitted multi-step trainer: shapes, determinism, live hyperparameters, learning."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine import METRIC_NAMES, Trainer, fetch_metrics
from ganplay.engine.train import find_fault
from ganplay.engine.session import ChunkSizer, Session

SMALL = dict(hidden=32, batch_size=64)


def params_vector(state) -> np.ndarray:
    leaves = jax.tree_util.tree_leaves((state.g_params, state.d_params))
    return np.concatenate([np.ravel(np.asarray(x)) for x in leaves])


@pytest.fixture(scope="module")
def gmm_trainer():
    return Trainer(Config.for_model("toy-mlp", dataset="gmm2", **SMALL))


def test_run_returns_per_step_metrics_and_counts_steps(gmm_trainer):
    state = gmm_trainer.init()
    state, metrics = gmm_trainer.run(state, 7)
    m = fetch_metrics(metrics)
    assert set(m) == set(METRIC_NAMES) | {"fault"}
    assert not m["fault"].any()
    assert all(v.shape == (7,) and np.all(np.isfinite(v)) for v in m.values())
    assert int(state.step) == 7
    assert 0.0 <= m["d_real"].min() and m["d_real"].max() <= 1.0
    assert set(np.unique(m["d_acc_real"] * 64)) <= set(range(65))  # a fraction of the batch


def test_generator_output_shape(gmm_trainer):
    state = gmm_trainer.init()
    x = gmm_trainer.generate(state, gmm_trainer.fixed_noise(100))
    assert x.shape == (100, 2) and x.dtype == np.float32


def test_same_seed_same_run_and_chunking_does_not_matter(gmm_trainer):
    a, _ = gmm_trainer.run(gmm_trainer.init(), 20)
    b = gmm_trainer.init()
    for k in (5, 5, 10):
        b, _ = gmm_trainer.run(b, k)
    np.testing.assert_array_equal(params_vector(a), params_vector(b))


def test_different_seed_different_run():
    t0 = Trainer(Config.for_model("toy-mlp", **SMALL, seed=0))
    t1 = Trainer(Config.for_model("toy-mlp", **SMALL, seed=1))
    a, _ = t0.run(t0.init(), 3)
    b, _ = t1.run(t1.init(), 3)
    assert not np.allclose(params_vector(a), params_vector(b))


def test_live_hyperparameters_apply_without_recompiling(gmm_trainer):
    state, _ = gmm_trainer.run(gmm_trainer.init(), 3)
    compiled = gmm_trainer._run._cache_size()
    frozen = gmm_trainer.set_hyper(state, lr_g=1e-9, lr_d=1e-9)
    after, _ = gmm_trainer.run(frozen, 3)
    assert gmm_trainer._run._cache_size() == compiled
    # With tiny learning rates the parameters barely move; with the original ones they do.
    moved_tiny = np.abs(params_vector(after) - params_vector(frozen)).max()
    normal, _ = gmm_trainer.run(state, 3)
    moved = np.abs(params_vector(normal) - params_vector(state)).max()
    assert moved_tiny < 1e-6 < moved


def test_label_smoothing_changes_d_loss_live(gmm_trainer):
    state = gmm_trainer.init()
    _, m0 = gmm_trainer.run(state, 1)
    _, m1 = gmm_trainer.run(gmm_trainer.set_hyper(state, label_smoothing=0.5), 1)
    # Same batch, same params: only the real targets moved from 1 to 0.5.
    assert float(m0["d_loss"][0]) != pytest.approx(float(m1["d_loss"][0]), abs=1e-4)
    np.testing.assert_allclose(m0["d_real"], m1["d_real"])


def test_divergence_flag_trips_on_non_finite_loss():
    t = Trainer(Config.for_model("toy-mlp", lr_g=1.0, lr_d=1.0, **SMALL))
    state = t.init()
    poisoned = state._replace(d_params=jax.tree_util.tree_map(lambda p: p * np.nan, state.d_params))
    after, m = t.run(poisoned, 2)
    assert not bool(after.finite)
    # Found inside the fused step, attributed to the first update that saw it: D's loss.
    assert find_fault(fetch_metrics(m), 1) == (1, "discriminator", "loss")


@pytest.mark.slow
def test_generator_learns_gmm2_moments():
    """After training, G's samples match the data's mean and covariance; an untrained G does not.

    A GAN circles its equilibrium rather than settling, so the trained moments are those of the
    generated points pooled over the last 1,000 of 4,000 steps.
    """
    config = Config.for_model("toy-mlp", dataset="gmm2", seed=0)
    t = Trainer(config)
    real = t.dataset.sample_numpy(20_000, seed=1)
    z = t.fixed_noise(2000)

    def moment_error(x):
        return np.abs(x.mean(0) - real.mean(0)).max() + np.abs(np.cov(x.T) - np.cov(real.T)).max()

    state = t.init()
    untrained = moment_error(np.asarray(t.generate(state, z)))
    state, _ = t.run(state, 3000)
    pooled = []
    for _ in range(5):
        state, _ = t.run(state, 200)
        pooled.append(np.asarray(t.generate(state, z)))
    trained = moment_error(np.concatenate(pooled))
    assert untrained > 0.5, untrained
    assert trained < 0.2, trained


def test_session_restart_vs_live_fields():
    base = Config.for_model("toy-mlp", **SMALL)
    assert not Session.needs_restart(base, base.replace(lr_g=0.01, label_smoothing=0.2))
    for change in ({"z_dim": 3}, {"batch_size": 32}, {"dataset": "ring8"}, {"seed": 5}):
        assert Session.needs_restart(base, base.replace(**change)), change


def test_session_snapshot_has_fixed_noise_samples():
    s = Session(Config.for_model("toy-mlp", **SMALL))
    first = s.snapshot().generated
    again = s.snapshot().generated
    np.testing.assert_array_equal(first, again)  # fixed noise: no resampling between frames
    s.advance(5)
    snap = s.snapshot()
    assert snap.step == 5 and snap.generated.shape == first.shape
    assert len(snap.history["step"]) == 5 and snap.real.shape[1] == 2


def _feed(sizer, per_step, n=20):
    """``n`` dispatches at the sizer's current size, each taking ``per_step`` a step."""
    for _ in range(n):
        sizer.update(sizer.k, sizer.k * per_step)


def test_chunk_sizer_targets_dispatch_time():
    sizer = ChunkSizer(target_s=0.04)
    _feed(sizer, 0.001)  # 1 ms per step
    assert sizer.k == 40  # 40 ms / 1 ms


def test_chunk_sizer_grows_from_one_step_before_trusting_a_time():
    sizer = ChunkSizer(target_s=0.04)
    seen = []
    for _ in range(20):
        seen.append(sizer.k)
        sizer.update(sizer.k, sizer.k * 0.001)
    assert sorted(set(seen)) == [1, 4, 16, 40]  # 4x while far below a frame, then the fit


def test_chunk_sizer_fits_a_frame_with_an_even_size():
    sizer = ChunkSizer(target_s=1 / 30)
    _feed(sizer, 0.003)  # 3 ms a step: 11.1 fit in 33 ms
    assert sizer.k == 12  # not 8 (a fifth slower) nor 16 (48 ms: 21 fps)
    finer = ChunkSizer(target_s=1 / 30)
    _feed(finer, 0.0032)  # 10.4 fit: 10 (multiples of 4 gave 12: 26 fps)
    assert finer.k == 10
    slow = ChunkSizer()  # a frame at 37 fps by default
    _feed(slow, 0.5)  # a DCGAN step on the CPU: one per dispatch
    assert slow.k == 1 and slow.changes == 0


def test_chunk_sizer_ignores_the_compile_and_one_disturbed_dispatch():
    # A compile, then a dispatch slowed by something else (once an evaluation timed with it
    # left the window's training at 1 step per dispatch: 53 steps/s against 573 headless).
    sizer = ChunkSizer(target_s=0.04)
    for seconds in (5.0, 0.001, 0.5, 0.001):
        assert sizer.k == 1
        sizer.update(sizer.k, seconds)
    assert sizer.k == 4  # the median step (1 ms) is far below a frame: it grows


def test_chunk_sizer_measures_again_at_the_new_size_and_keeps_a_near_size():
    sizer = ChunkSizer(target_s=0.04)
    _feed(sizer, 0.001)
    assert sizer.k == 40
    _feed(sizer, 0.0012)  # at 40 a step takes 1.2 ms: ideal 33, not far enough from 40 to change
    assert sizer.k == 40
    sizer.update(40, 40 * 0.005)  # then it slows to 5 ms a step (a busy machine): ideal 8,
    sizer.update(40, 40 * 0.005)  # acted on once most of the last five say so
    assert sizer.k == 40
    sizer.update(40, 40 * 0.005)
    assert sizer.k == 8
    sizer.update(8, 5.0)  # the first dispatch at a new size compiles: not a measurement
    _feed(sizer, 0.005)
    assert sizer.k == 8 and sizer.changes == 2


def test_chunk_sizer_stops_changing_after_max_changes():
    sizer = ChunkSizer(target_s=0.04, max_changes=2)
    for t in (0.001, 0.01, 0.0001):
        _feed(sizer, t)
    assert sizer.changes == 2 and sizer.k == 4  # 40, then 4; the third size is never tried
    assert not sizer._fresh  # and the last size's compile was still told apart


def test_chunk_sizer_recovers_from_a_start_timed_slow():
    # While the window starts (compiling its display programs, the first evaluation), dispatches
    # are timed 3-20x slower than they train: the sizer once settled there, on 2-8 steps.
    sizer = ChunkSizer(target_s=0.04)
    for per_step in (0.015, 0.006, 0.003):
        _feed(sizer, per_step, n=6)
    assert sizer.k < 20  # fitted to the slow start
    _feed(sizer, 0.001, n=40)  # then the true 1 ms a step
    assert sizer.k == 40


def test_chunk_sizer_compiles_at_most_max_sizes_and_returns_to_compiled_ones_at_once():
    sizer = ChunkSizer(target_s=0.04, max_sizes=4)
    _feed(sizer, 0.001)
    assert sizer.sizes == {1, 4, 16, 40} and sizer.k == 40
    _feed(sizer, 0.004)  # ideal 10: a fifth size is not compiled, the nearest compiled one serves
    assert sizer.k == 16 and sizer.sizes == {1, 4, 16, 40}
    _feed(sizer, 0.001, n=3)  # back to 40 after three dispatches at 16 (compiled: none skipped)
    assert sizer.k == 40 and not sizer._times
    sizer.update(40, 40 * 0.004)
    assert not sizer._fresh and len(sizer._times) == 1
