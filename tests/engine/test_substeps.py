"""Step-by-step mode: sample, D update, G update, and together exactly one training step."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine.session import Session

CONFIG = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32, seed=3)


def leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(jax.device_get(tree))]


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(leaves(a), leaves(b), strict=True))


@pytest.fixture(scope="module")
def trainer():
    return Session(CONFIG).trainer  # compiled once, shared (it holds no training state)


@pytest.fixture
def pair(trainer):
    """Two sessions on the same run, a few steps in (D and G with some shape)."""
    a, b = Session(CONFIG, trainer), Session(CONFIG, trainer)
    a.advance(20)
    b.advance(20)
    return a, b


def test_a_full_cycle_is_one_training_step(pair):
    stepped, played = pair
    ran = [stepped.substep() for _ in range(3)]
    played.advance(1)
    assert ran == [["sample"], ["d"], ["g"]]
    assert stepped.step == played.step == 21
    assert same(stepped.state, played.state)  # parameters, optimizers, key, step: all of it
    h1, h2 = stepped.history.snapshot(), played.history.snapshot()
    assert h1.keys() == h2.keys() and all(np.array_equal(h1[k], h2[k]) for k in h1)
    stepped.advance(5)  # and the runs go on alike
    played.advance(5)
    assert same(stepped.state, played.state)


def test_each_sub_step_shows_its_half_of_the_step(pair):
    s, _ = pair
    start = s.state
    after, _ = s.trainer.run(start, 1)
    assert s.substep() == ["sample"]
    assert s.state is start  # drawing the batch changes nothing
    shown = s.snapshot().substep
    assert shown.phase == "sample" and shown.metrics == {}
    assert shown.batch_real.shape == shown.batch_fake.shape == (32, 2)

    assert s.substep() == ["d"]
    assert s.step == 20  # a D update does not count as a step
    assert same(s.state.d_params, after.d_params) and same(s.state.d_opt, after.d_opt)
    assert same(s.state.g_params, start.g_params)  # G has not moved yet
    d = s.snapshot().substep
    assert d.phase == "d" and set(d.metrics) == {"d_real", "d_fake", "d_loss"}
    generated_before = s.snapshot().generated

    assert s.substep() == ["g"]
    snap = s.snapshot()
    g = snap.substep
    assert g.phase == "g" and set(g.metrics) == {"d_real", "d_fake", "d_loss", "g_loss"}
    assert g.metrics["d_real"] == d.metrics["d_real"]
    np.testing.assert_array_equal(g.previous_fake, generated_before)  # where the points were
    assert np.abs(snap.generated - generated_before).max() > 0  # and they moved


def test_the_shown_batch_is_the_one_d_trains_on(pair):
    """D(x) and D(G(z)) of the shown batch, under D before its update, are the step's own means
    (toy-mlp has no batch norm or dropout, so inference and training passes agree)."""
    s, _ = pair
    start = s.state
    s.substep()
    batch = s.snapshot().substep
    s.substep()
    m = s.snapshot().substep.metrics
    d_real = float(np.mean(s.trainer.discriminate(start, batch.batch_real)))
    d_fake = float(np.mean(s.trainer.discriminate(start, batch.batch_fake)))
    assert d_real == pytest.approx(m["d_real"], abs=1e-5)
    assert d_fake == pytest.approx(m["d_fake"], abs=1e-5)
    # A batch drawn with other keys would not match (the check can fail).
    other = s.trainer.sample_real(jax.random.PRNGKey(99), 32)
    assert float(np.mean(s.trainer.discriminate(start, other))) != pytest.approx(m["d_real"], abs=1e-5)


def test_upto_runs_the_cycle_on_to_a_sub_step(pair):
    stepped, _ = pair
    assert stepped.substep("d") == ["sample", "d"]
    assert stepped.substep("d") == ["sample", "d"]  # already there: a new cycle (a second D update)
    assert stepped.substep("g") == ["g"]
    assert stepped.substep("g") == ["sample", "d", "g"]  # a whole step
    assert stepped.substep("sample") == ["sample"]
    assert stepped.substep("sample") == ["sample"]  # sampling again draws the same batch: nothing moved
    assert stepped.step == 22
    with pytest.raises(ValueError, match="sub-step 'x' is not one of sample, d, g"):
        stepped.substep("x")


def test_training_on_drops_the_cycle(pair):
    s, _ = pair
    s.substep()
    s.substep()
    mid = s.state
    s.advance(2)  # Play after the D sub-step: the extra D update stays, as with step_d
    assert s.step == 22 and s.snapshot().substep is None
    assert not same(s.state.d_params, mid.d_params)
    assert s.substep() == ["sample"]  # a new cycle from where the run is
