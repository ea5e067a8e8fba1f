"""The training game, composed: objectives are registered, every D meets one output contract, and
an objective's terms combine with any adversarial loss (the loss and the objective meet only
through D's real/fake logits)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_cgan import SMALL, halves_dataset

from ganplay.config import Config
from ganplay.engine.cgan import CganTrainer
from ganplay.engine.objectives import OBJECTIVES, DBatch, GBatch, feature_matching
from ganplay.engine.sgan import (
    SganTrainer,
    semi_supervised_d_loss,
    semi_supervised_g_loss,
)
from ganplay.engine.train import Trainer, fetch_metrics
from ganplay.errors import ConfigError
from ganplay.losses import LOSSES
from ganplay.models import MODELS, DiscriminatorOutput, as_output, conditioned


def test_every_models_objective_is_registered_with_its_trainer():
    assert set(OBJECTIVES.names()) == {"gan", "cgan", "sgan"}
    for name in MODELS.names():
        objective = OBJECTIVES.get(MODELS.get(name).objective)
        assert objective.trainer.game == objective.name
    with pytest.raises(ConfigError, match="unknown objective 'wgan-gp'; choose one of: cgan, gan, sgan"):
        OBJECTIVES.get("wgan-gp")


def test_a_trainer_refuses_a_game_it_does_not_draw():
    config = Config.for_model("cgan-mlp", dataset="mnist", **SMALL)
    with pytest.raises(ConfigError, match=r"'cgan-mlp' plays the 'cgan' game, which Trainer does not draw"):
        Trainer(config, halves_dataset())


@pytest.mark.parametrize("name", MODELS.names())
def test_every_discriminator_meets_the_output_contract(name):
    """One forward serves every objective: D's output read by ``as_output`` has a logit per
    sample; features and class logits where the model has them (shapes only, no compile)."""
    spec = MODELS.get(name)
    shape = (2,) if "points" in spec.kinds else (spec.image_size or 28,) * 2 + (1,)
    width = {"width": 0.0625} if spec.uses_width else {}
    config = Config.for_model(name, dataset="gmm2" if shape == (2,) else "mnist", **width)
    pair = spec.build(config, shape)
    labels = jnp.zeros((3, 10)) if spec.objective == "cgan" else None
    x = jnp.zeros((3, *shape))
    key = jax.random.key(0)

    def forward():
        variables = pair.discriminator.init(key, *conditioned(x, labels), train=False)
        return as_output(pair.discriminator.apply(variables, *conditioned(x, labels), train=False))

    out = jax.eval_shape(forward)
    assert isinstance(out, DiscriminatorOutput) and out.logit.shape == (3,)
    if spec.objective == "sgan":
        assert out.class_logits.shape == (3, 10) and out.features.shape[0] == 3
    else:
        assert out.features is None and out.class_logits is None


def test_feature_matching_and_the_semi_supervised_terms_by_hand():
    rng = np.random.default_rng(0)
    fake, real = rng.normal(size=(8, 5)).astype(np.float32), rng.normal(size=(6, 5)).astype(np.float32)
    expect = np.mean((fake.mean(0) - real.mean(0)) ** 2)
    fm = feature_matching(jnp.asarray(fake), jnp.asarray(real.mean(0)))
    assert float(fm) == pytest.approx(expect, rel=1e-6)
    config = Config.for_model("sgan-mlp", dataset="mnist", adv_weight=0.5, fm_weight=2.0)
    out = DiscriminatorOutput(jnp.zeros(8), jnp.asarray(fake), jnp.zeros((8, 10)))
    batch = GBatch(jnp.zeros((8, 3)), None, None, real_feature_mean=jnp.asarray(real.mean(0)))
    per_sample = jnp.arange(8, dtype=jnp.float32)
    g = semi_supervised_g_loss(per_sample, out, batch, config)
    assert float(g) == pytest.approx(0.5 * 3.5 + 2.0 * expect, rel=1e-6)
    # D: the supervised cross-entropy (uniform class logits: log 10) + the "k" head's half weight
    labelled = DiscriminatorOutput(jnp.zeros(4), None, jnp.zeros((4, 10)))
    d_batch = DBatch(None, None, (), classes=jnp.arange(4))
    loss, metrics = semi_supervised_d_loss(jnp.float32(1.0), [labelled, None, None], d_batch, config)
    assert float(metrics["sup_loss"]) == pytest.approx(np.log(10), rel=1e-6)
    assert float(loss) == pytest.approx(np.log(10) + 0.5, rel=1e-6)


def _d_loss_by_hand(t, state, loss):
    """D's loss with adversarial loss ``loss`` on the batch that ``t.d_step(state)`` draws,
    recomputed from the game's parts: (D's loss, its adversarial part)."""
    _, k_d = jax.random.split(state.key)  # as d_step splits it
    batch = t._d_batch(state, k_d, t.data_arrays)
    passes = [(batch.real, batch.real_labels), (batch.fake, batch.fake_labels)]
    if batch.labelled is not None:
        passes.insert(0, (batch.labelled, None))
    outputs, _ = t._d_passes(state.d_params, state.d_stats, passes, batch.keys)
    per_real, per_fake = LOSSES.get(loss).d_loss(outputs[-2].logit, outputs[-1].logit, state.hyper["label_smoothing"])
    adversarial = jnp.mean(per_real) + jnp.mean(per_fake)
    return float(t.objective.d_loss(adversarial, outputs, batch, t.config)[0]), float(adversarial)


@pytest.mark.parametrize("loss", ["hinge", "lsgan", "wgan", "ragan"])
def test_the_conditional_game_takes_any_adversarial_loss(loss):
    """The class input does not meet the loss: cgan × hinge / lsgan / wgan / ragan is the loss's D
    objective on the conditional D's logits, and it trains (the scan compiled once, for the
    relativistic loss, whose G step also draws labelled real batches)."""
    t = CganTrainer(Config.for_model("cgan-mlp", dataset="mnist", hidden=16, batch_size=16), halves_dataset())
    t.loss = LOSSES.get(loss)
    state = t.init()
    expect, adversarial = _d_loss_by_hand(t, state, loss)
    after, m = t.d_step(state)
    assert float(m["d_loss"]) == pytest.approx(expect, rel=1e-5, abs=1e-6) and expect == adversarial
    assert abs(expect - _d_loss_by_hand(t, state, "ns")[0]) > 1e-3  # the loss made the difference
    if loss == "ragan":
        state, m = t.run(after, 5)
        m = fetch_metrics(m)
        assert not m["fault"].any() and int(state.step) == 5


def test_the_semi_supervised_game_takes_another_adversarial_loss():
    """sgan × lsgan: D's loss is the supervised cross-entropy plus the head's weight of lsgan's
    real/fake loss on the head's real logit."""
    from test_sgan import MNIST, _config

    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"offline MNIST not found at {MNIST}")
    t = SganTrainer(_config(batch_size=16))
    t.loss = LOSSES.get("lsgan")
    state = t.init()
    expect, adversarial = _d_loss_by_hand(t, state, "lsgan")
    _, m = t.d_step(state)
    assert float(m["d_loss"]) == pytest.approx(expect, rel=1e-5, abs=1e-6)
    assert expect == pytest.approx(float(m["sup_loss"]) + 0.5 * adversarial, rel=1e-6)  # the "k" head
    assert abs(expect - _d_loss_by_hand(t, state, "ns")[0]) > 1e-3
