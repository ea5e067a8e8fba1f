"""What the session shows besides samples: D's decision field, G's gradient arrows, the noise
manifold, interpolations, single D/G steps, fresh display noise, and quality metrics on a time
budget."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.data.images import ImageDataset
from ganplay.engine import Trainer
from ganplay.engine.quality import QualityMonitor
from ganplay.engine.session import (
    ARROW_POINTS,
    FIELD_SIZE,
    Session,
    manifold_noise,
    slerp,
)

TOY = dict(hidden=16, batch_size=32)


@pytest.fixture(scope="module")
def session():
    s = Session(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    s.advance(300)  # a D with some shape, so fields and gradients are not trivial
    return s


def tree_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def logits(trainer, state, x):
    d = trainer.pair.discriminator
    return np.asarray(d.apply({"params": state.d_params, "batch_stats": state.d_stats}, x, train=False), np.float64)


def only(session, name):
    session.overlays.update({k: k == name for k in session.overlays})
    try:
        return session.snapshot()
    finally:
        session.overlays.update({k: False for k in session.overlays})


# -- overlays ---------------------------------------------------------------------------------------
def test_overlays_are_off_until_switched_on(session):
    assert session.overlays == {"field": False, "arrows": False, "manifold": False, "interpolation": False,
                                "latent": False}
    snap = session.snapshot()
    assert snap.field is None and snap.arrows is None and snap.manifold is None
    assert snap.interpolation is None and snap.latent is None


def test_field_is_d_on_the_cell_centres_of_the_view(session):
    session.set_view(-2.0, 1.0, -0.5, 1.5)
    field = only(session, "field").field
    values = field.values
    assert field.extent == (-2.0, 1.0, -0.5, 1.5)
    assert values.shape == (FIELD_SIZE, FIELD_SIZE) and values.dtype == np.float32
    centres = (np.arange(FIELD_SIZE) + 0.5) / FIELD_SIZE
    xs, ys = -2.0 + 3.0 * centres, -0.5 + 2.0 * centres
    for i, j in [(0, 0), (0, 99), (99, 0), (37, 61)]:  # row i is y, column j is x
        d = np.asarray(session.trainer.discriminate(session.state, np.float32([[xs[j], ys[i]]])))[0]
        assert values[i, j] == pytest.approx(d, abs=1e-5)
    assert values.std() > 1e-3  # D is not constant after 300 steps
    session.set_view(-1.0, 1.0, -1.0, 1.0)  # panning and zooming do not recompile
    assert only(session, "field").field.extent == (-1.0, 1.0, -1.0, 1.0)
    assert session.trainer._field._cache_size() == 1
    with pytest.raises(ValueError, match="x0 < x1"):
        session.set_view(1.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("loss", ["ns", "minimax"])
def test_arrows_are_minus_the_gradient_of_gs_loss(session, loss):
    if loss == "ns":
        trainer = session.trainer
        arrows = only(session, "arrows").arrows
        generated = session.snapshot().generated
        assert arrows.shape == (ARROW_POINTS, 2) and arrows.dtype == np.float32
        x = generated[:5]
        push = arrows[:5]
    else:  # the same networks under the minimax loss
        trainer = Trainer(session.config.replace(loss="minimax"))
        x = session.snapshot().generated[:5]
        push = np.asarray(trainer.g_loss_push(session.state, x))

    def g_loss(points):  # per sample, as training defines it (no label smoothing here)
        z = logits(trainer, session.state, np.float32(points))
        return np.logaddexp(0, -z) if loss == "ns" else -np.logaddexp(0, z)

    h = 1e-3
    fd = np.zeros_like(x, np.float64)
    for axis in range(2):
        e = np.zeros(2, np.float32)
        e[axis] = h
        fd[:, axis] = (g_loss(x + e) - g_loss(x - e)) / (2 * h)
    scale = np.abs(fd).max()
    assert scale > 1e-3
    np.testing.assert_allclose(push, -fd, atol=0.02 * scale)


def test_manifold_of_a_2d_noise_grid(session):
    manifold = only(session, "manifold").manifold
    assert manifold.shape == (25, 25, 2) and manifold.dtype == np.float32
    # [i, j] is G at z0 = u[j], z1 = u[i], u spanning +-2.5 std of the normal noise
    corner = np.asarray(session.trainer.generate(session.state, np.float32([[2.5, -2.5]])))[0]
    np.testing.assert_allclose(manifold[0, -1], corner, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("z_dim, noise, shape", [(1, "uniform", (1, 200, 1)), (3, "normal", (25, 25, 3))])
def test_manifold_noise_per_z_dim(z_dim, noise, shape):
    z = np.asarray(manifold_noise(Config.for_model("toy-mlp", z_dim=z_dim, noise=noise)))
    assert z.shape == shape
    r = 1.0 if noise == "uniform" else 2.5
    assert z[..., 0].min() == -r and z[..., 0].max() == r
    if z_dim > 2:
        assert (z[..., 2:] == 0).all() and z[0, 0, 1] == -r and z[-1, 0, 1] == r


def test_manifold_of_1d_noise_is_a_line():
    s = Session(Config.for_model("toy-mlp", dataset="gmm2", z_dim=1, noise="uniform", **TOY))
    assert only(s, "manifold").manifold.shape == (1, 200, 2)
    assert only(s, "interpolation").interpolation.shape == (64, 2)


def test_slerp_follows_the_arc_and_falls_back_to_a_line():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    path = slerp(a, b, np.linspace(0, 1, 9))
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0)  # a straight line would dip to 0.71
    np.testing.assert_allclose(slerp(np.array([2.0]), np.array([-1.0]), [0, 0.5, 1]), [[2.0], [0.5], [-1.0]])


def test_interpolation_and_refreshed_noise(session):
    first = only(session, "interpolation").interpolation
    assert first.shape == (64, 2) and first.dtype == np.float32
    z_quality = session.quality._noise()
    before = session.snapshot().generated
    session.refresh_noise()
    after = session.snapshot().generated
    session.refresh_noise()
    again = session.snapshot().generated
    assert before.shape == after.shape
    assert not np.allclose(before, after) and not np.allclose(after, again)
    assert not np.allclose(first, only(session, "interpolation").interpolation)
    assert np.array_equal(session.quality._noise(), z_quality)  # scored samples stay fixed


# -- single updates -----------------------------------------------------------------------------------
def test_step_d_moves_only_d_and_not_the_step(session):
    before, steps = session.state, len(session.history)
    m = session.step_d()
    after = session.state
    assert int(after.step) == int(before.step)
    assert not tree_equal(after.d_params, before.d_params) and not tree_equal(after.d_opt, before.d_opt)
    assert tree_equal(after.g_params, before.g_params) and tree_equal(after.g_opt, before.g_opt)
    assert not np.array_equal(after.key, before.key)
    assert {"d_loss", "d_real", "d_fake", "fault"} <= set(m) and m["fault"] == 0
    assert len(session.history) == steps


def test_step_g_moves_only_g_and_counts_a_step(session):
    before, steps = session.state, len(session.history)
    m = session.step_g()
    after = session.state
    assert int(after.step) == int(before.step) + 1 == session.step
    assert not tree_equal(after.g_params, before.g_params)
    assert tree_equal(after.d_params, before.d_params) and tree_equal(after.d_opt, before.d_opt)
    assert np.isfinite(m["g_loss"]) and m["fault"] == 0
    assert len(session.history) == steps


# -- quality on a budget --------------------------------------------------------------------------------
class TickingClock:
    """Every reading is ``tick`` seconds after the previous one: each timed span lasts ``tick``."""

    def __init__(self, tick: float):
        self.tick, self.now = tick, 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_quality_is_evaluated_within_the_time_budget():
    s = Session(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    s.quality = QualityMonitor(s.trainer, clock=TickingClock(0.5))
    for _ in range(101):  # each chunk "trains" 0.5 s; each evaluation "costs" 0.5 s
        s.advance(1)
    q = s.quality
    assert q.train_seconds == pytest.approx(50.5)
    # 4% of the training time: the 2nd evaluation waits for 12.5 s of training (25 chunks), ...
    series = s.snapshot().quality.series
    np.testing.assert_array_equal(series["step"], [1, 25, 50, 75, 100])
    assert q.eval_seconds <= 0.04 * q.train_seconds + 0.5
    assert set(series) == {"step", "modes", "high_quality", "reverse_kl", "kl"}
    assert all(isinstance(v, np.ndarray) and len(v) == 5 for v in series.values())


def test_quality_series_and_mode_count_in_the_snapshot(session):
    quality = session.snapshot().quality
    series = quality.series
    assert quality.modes_total == 8 and len(series["step"]) >= 1
    last = session.quality.latest
    assert series["step"][-1] == last["step"] and series["kl"][-1] == last["kl"]
    assert 0 <= series["modes"][-1] <= 8 and np.isfinite(series["kl"]).all()
    assert quality.floor is None and quality.class_hist is None


class StubEvaluator:
    """Stands in for the trained classifier (which takes ~15 s to train)."""

    fid_floor, is_real = 1.5, 9.5

    def evaluate(self, images):
        assert images.shape == (1000, 28, 28, 1)
        return {"fid": 42.0, "inception_score": 3.0, "class_hist": [0.5, 0.5]}


def test_image_quality_floor_and_class_histogram(monkeypatch):
    from ganplay.engine import evaluator

    monkeypatch.setattr(evaluator.Evaluator, "for_dataset", classmethod(lambda cls, *a, **k: StubEvaluator()))
    rng = np.random.default_rng(0)
    data = ImageDataset("mnist", rng.integers(0, 255, (64, 28, 28, 1), dtype=np.uint8),
                        labels=rng.integers(0, 2, 64))
    config = Config.for_model("gia-mlp", dataset="mnist", hidden=16, batch_size=8, z_dim=8)
    s = Session(config, Trainer(config, dataset=data))
    quality = s.snapshot().quality
    assert quality.floor is None and quality.class_hist is None
    s.advance(1)  # starts the classifier in the background
    s.quality.prepare()  # waits for it
    s.advance(1)
    s.overlays["interpolation"] = True
    snap = s.snapshot()
    assert snap.quality.floor == {"fid": 1.5, "inception_score": 9.5}
    assert snap.quality.class_hist == [0.5, 0.5]
    series = snap.quality.series
    np.testing.assert_array_equal(series["step"], [2])
    assert series["fid"][0] == 42.0 and series["inception_score"][0] == 3.0
    assert snap.interpolation.shape == (10, 28, 28, 1)
    assert snap.field is None and snap.quality.modes_total is None
