"""The game's eigenvalues by Arnoldi on JVPs, against a dense jax.jacfwd Jacobian."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine import build_trainer, spectrum
from ganplay.engine.observers import ChunkEvent


@pytest.fixture(scope="module")
def small():
    trainer = build_trainer(Config.for_model("toy-mlp", hidden=16, d_hidden=16, g_depth=1, d_depth=1,
                                             batch_size=64, r1_weight=0.5))
    state, _ = trainer.run(trainer.init(), 50)
    return trainer, state


def test_arnoldi_matches_the_dense_jacobian(small):
    trainer, state = small
    k_batch, _ = jax.random.split(jax.random.PRNGKey(0))  # evaluate's batch key (seed 0)
    v, x0 = spectrum.joint_field(trainer, state, k_batch)
    dense = np.linalg.eigvals(np.asarray(jax.jacfwd(v)(x0), np.float64))
    dense = dense[np.argsort(-np.abs(dense))][:3]
    got = spectrum.evaluate(trainer, state, krylov=24)
    assert x0.size > 24 * 4  # a Krylov space much smaller than the problem
    for lam in dense:
        nearest = got.eigenvalues[np.argmin(np.abs(got.eigenvalues - lam))]
        assert abs(nearest - lam) <= 1e-3 * abs(lam), (lam, got.eigenvalues)
    assert got.d_input_grad_real > 0 and got.d_input_grad_fake > 0


def _run(trainer, observer=None, chunks=3):
    state = trainer.init()
    for i in range(chunks):
        state, _ = trainer.run(state, 16)
        if observer is not None:
            observer.on_chunk(ChunkEvent(trainer, state, 16 * i + 1, 16, {}, seconds=1.0))
    return state


def test_the_observer_does_not_change_training():
    trainer = build_trainer(Config.for_model("toy-mlp", hidden=16, batch_size=64))
    observer = spectrum.GameSpectrum(every=16, budget=10.0)
    with_obs, without = _run(trainer, observer), _run(trainer)
    assert len(observer.history) == 3
    for a, b in zip(jax.tree_util.tree_leaves(with_obs), jax.tree_util.tree_leaves(without)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_observer_keeps_to_its_schedule_and_budget():
    trainer = build_trainer(Config.for_model("toy-mlp", hidden=16, batch_size=64))
    sparse = spectrum.GameSpectrum(every=32, budget=10.0)
    _run(trainer, sparse, chunks=4)  # steps 16, 32, 48, 64: the first, then 32 steps later
    assert [s.step for s in sparse.history] == [16, 48]
    starved = spectrum.GameSpectrum(every=1, budget=0.0)
    _run(trainer, starved, chunks=4)  # (compiled above: every evaluation now costs time)
    assert len(starved.history) == 1  # the first evaluation spends the whole (zero) budget
    fresh = build_trainer(Config.for_model("toy-mlp", hidden=8, batch_size=32))
    first = spectrum.evaluate(fresh, fresh.init())
    assert first.compile_seconds > 0 and first.seconds == 0.0  # a compile is not charged to the budget
    restored = spectrum.GameSpectrum()
    restored.load_state_dict(sparse.state_dict())
    assert [s.step for s in restored.history] == [16, 48]
    np.testing.assert_array_equal(restored.history[-1].eigenvalues, sparse.history[-1].eigenvalues)


def test_explanations():
    assert "> 0" in spectrum.explain(np.array([0.2 + 0j, -1 + 0j]), 0.01)
    rotating = spectrum.explain(np.array([-0.001 + 2j, -0.001 - 2j]), 0.05)
    assert "2 of 2" in rotating and "rotation" in rotating and "> 0" not in rotating
    assert "contract" in spectrum.explain(np.array([-1 + 0.1j, -1 - 0.1j]), 0.1)


def test_step_growth_of_each_linear_step():
    rotation = np.array([1j, -1j])
    assert (spectrum.step_growth(rotation, 0.1) > 1).all()  # gradient descent spirals out
    assert (spectrum.step_growth(rotation, 0.1, "optimistic_gd") < 1).all()  # the look-ahead damps it
    np.testing.assert_allclose(spectrum.step_growth(np.array([-1.0]), 0.1, "sgd", 0.5),  # heavy ball
                               abs(np.roots([1, -(1 + 0.5 - 0.1), 0.5])).max(), rtol=1e-9)
    assert spectrum.step_growth(rotation, 0.1, "adam") is None
    assert "optimistic_gd" in spectrum.explain(np.array([0.3 + 0j, 1j, -1j]), 0.1, "optimistic_gd")
