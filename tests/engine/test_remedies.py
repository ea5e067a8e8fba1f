"""The remedies lab in the training step: losses, penalties, stabilisers and optimizers compose,
live knobs do not recompile, and what is not offered is refused up front."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine import checkpoint
from ganplay.engine.train import HYPER_FIELDS, build_trainer, fetch_metrics, schedule_factor
from ganplay.errors import CheckpointError, ConfigError
from ganplay.losses import LOSSES

TOY = dict(hidden=16, batch_size=32)


def toy(**over):
    return Config.for_model("toy-mlp", dataset="grid25", **{**TOY, **over})


def leaves(tree) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(x)) for x in jax.tree_util.tree_leaves(tree)])


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_loss_trains_twenty_finite_steps_on_a_plain_gan(loss):
    t = build_trainer(toy(loss=loss))
    state, m = t.run(t.init(), 20)
    m = fetch_metrics(m)
    assert not m["fault"].any() and all(np.isfinite(v).all() for v in m.values())
    assert np.isfinite(leaves(state.g_params)).all()


@pytest.mark.parametrize("loss", LOSSES.names())
@pytest.mark.parametrize("model", ["cgan-mlp", "sgan-mlp"])
def test_the_semi_supervised_game_refuses_losses_it_does_not_compose(model, loss):
    # Offered: every loss for the conditional game (test_objectives trains each), ns and minimax
    # for the semi-supervised one (test_sgan).
    if model == "cgan-mlp" or loss in ("ns", "minimax"):
        assert Config.for_model(model, dataset="mnist", loss=loss).loss == loss
        return
    with pytest.raises(ConfigError, match=rf"loss={loss} is not offered for model {model} \(objective"):
        Config.for_model(model, dataset="mnist", loss=loss)


@pytest.mark.parametrize("setting,value", [("gp_weight", 10.0), ("pack", 2), ("ema_decay", 0.99), ("g_steps", 2)])
def test_a_remedy_the_conditional_game_lacks_is_refused_by_name(setting, value):
    with pytest.raises(ConfigError, match=rf"{setting}=.* is not offered for model cgan-mlp \(objective cgan\)"):
        Config.for_model("cgan-mlp", dataset="mnist", **{setting: value})


def test_label_smoothing_is_refused_for_losses_without_targets():
    with pytest.raises(ConfigError, match=r"label_smoothing=0.1 has no meaning for loss=hinge"):
        toy(loss="hinge", label_smoothing=0.1)


def test_live_knobs_apply_without_recompiling():
    on = dict(gp_weight=1.0, r1_weight=0.5, weight_clip=1.0, instance_noise=0.1, ema_decay=0.99)
    t = build_trainer(toy(**on))
    state, _ = t.run(t.init(), 5)
    jax.block_until_ready(state)
    before = t._run._cache_size()
    values = dict(gp_weight=10.0, r1_weight=1.0, weight_clip=0.5, instance_noise=0.2, instance_noise_steps=100,
                  ema_decay=0.9, ema_view=False, label_smoothing=0.1, lr_g=5e-4, lr_d=5e-4)
    assert set(values) == LIVE_FIELDS
    t.set_config(toy(**values))
    changed = t.set_hyper(state, **values)
    after, _ = t.run(changed, 5)
    jax.block_until_ready(after)
    assert t._run._cache_size() == before
    assert {k: float(v) for k, v in changed.hyper.items()} == pytest.approx({k: float(values[k]) for k in HYPER_FIELDS})
    # …and they change the run: the same 5 steps from the same state end elsewhere.
    same, _ = t.run(state, 5)
    assert not np.allclose(leaves(after.d_params), leaves(same.d_params))


def test_switching_a_penalty_on_mid_run_recompiles_and_keeps_the_run():
    t = build_trainer(toy(loss="wgan"))
    state, _ = t.d_step(t.init())
    assert t.active == frozenset()  # a weight of 0 leaves the penalty out of the step
    t.set_config(toy(loss="wgan", gp_weight=10.0))
    assert t.active == {"gp_weight"}
    with_gp, _ = t.d_step(t.set_hyper(state, gp_weight=10.0))
    reference = build_trainer(toy(loss="wgan", gp_weight=10.0))
    expect, _ = reference.d_step(reference.set_hyper(state, gp_weight=10.0))
    np.testing.assert_array_equal(leaves(with_gp.d_params), leaves(expect.d_params))
    without, _ = build_trainer(toy(loss="wgan")).d_step(state)
    assert not np.allclose(leaves(with_gp.d_params), leaves(without.d_params))


@pytest.mark.parametrize("setting", ["gp_weight", "r1_weight"])
def test_a_penalty_weight_changes_d_and_zero_is_todays_step(setting):
    plain_t = build_trainer(toy(loss="wgan"))
    state = plain_t.init()
    plain, _ = plain_t.d_step(state)
    weighted_t = build_trainer(toy(loss="wgan", **{setting: 10.0}))
    weighted, _ = weighted_t.d_step(weighted_t.set_hyper(state, **{setting: 10.0}))
    assert not np.allclose(leaves(weighted.d_params), leaves(plain.d_params))
    # The same penalty code with its weight at 0 adds exactly nothing.
    zero, _ = weighted_t.d_step(weighted_t.set_hyper(state, **{setting: 0.0}))
    np.testing.assert_allclose(leaves(zero.d_params), leaves(plain.d_params), rtol=1e-6, atol=1e-7)


def test_weight_clipping_bounds_every_weight_of_d():
    t = build_trainer(toy(loss="wgan", weight_clip=0.01))
    state, _ = t.run(t.init(), 3)
    w = leaves(state.d_params)
    assert np.abs(w).max() <= 0.01 + 1e-7 and np.abs(w).max() == pytest.approx(0.01)


def test_packing_groups_consecutive_samples_and_d_sees_the_packed_shape():
    t = build_trainer(toy(pack=4))
    x = jnp.arange(8 * 2, dtype=jnp.float32).reshape(8, 2)
    packed = np.asarray(t._pack(x))
    assert packed.shape == (2, 8)
    # sample i of a pack at positions [i::... ] along the last axis: x, y of each of the 4 samples
    np.testing.assert_array_equal(packed[0].reshape(2, 4).T, np.asarray(x[:4]))
    np.testing.assert_array_equal(packed[1].reshape(2, 4).T, np.asarray(x[4:]))
    state = t.init()
    assert state.d_params["mlp"]["hidden1"]["kernel"].shape == (8, 16)
    # The views still get one probability per point (each point packed with copies of itself).
    assert t.discriminate(state, x).shape == (8,)
    with pytest.raises(ConfigError, match="pack=3 must divide batch_size=32"):
        toy(pack=3)


def test_ema_follows_its_recurrence():
    d = 0.9
    t = build_trainer(toy(ema_decay=d))
    s0 = t.init()
    np.testing.assert_array_equal(leaves(s0.g_ema), leaves(s0.g_params))
    s1, _ = t.run(s0, 1)
    s2, _ = t.run(s1, 1)
    expect1 = d * leaves(s0.g_ema) + (1 - d) * leaves(s1.g_params)
    np.testing.assert_allclose(leaves(s1.g_ema), expect1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(leaves(s2.g_ema), d * expect1 + (1 - d) * leaves(s2.g_params), rtol=1e-6, atol=1e-7)
    # The views use the EMA generator while ema_view is set, the raw one otherwise.
    z = t.fixed_noise(16)
    ema_g = t.pair.generator.apply({"params": s2.g_ema}, z, train=False)
    np.testing.assert_allclose(np.asarray(t.generate(s2, z)), np.asarray(ema_g), rtol=1e-6)
    raw = t.set_hyper(s2, ema_view=False)
    raw_g = t.pair.generator.apply({"params": s2.g_params}, z, train=False)
    np.testing.assert_allclose(np.asarray(t.generate(raw, z)), np.asarray(raw_g), rtol=1e-6)


def test_instance_noise_is_annealed_linearly():
    t = build_trainer(toy(instance_noise=1.0, instance_noise_steps=100))
    assert "instance_noise" in t.active
    hyper = t.init().hyper
    x = jnp.zeros((20000, 2))
    for step, sigma in ((0, 1.0), (50, 0.5), (100, 0.0), (500, 0.0)):
        (noisy,) = t._input_noise(hyper, jnp.int32(step), jax.random.PRNGKey(step), x)
        assert float(jnp.std(noisy)) == pytest.approx(sigma, abs=0.02)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_learning_rate_schedules_decay_to_zero(name):
    f = schedule_factor(toy(lr_schedule=name, schedule_steps=1000))
    assert float(f(0)) == pytest.approx(1.0)
    assert float(f(500)) == pytest.approx(0.5)
    assert float(f(1000)) == pytest.approx(0.0) and float(f(5000)) == pytest.approx(0.0)
    assert schedule_factor(toy()) is None


@pytest.mark.parametrize("opt_g,opt_d", [("adam", "sgd"), ("rmsprop", "optimistic_adam"), ("optimistic_gd", "adam")])
def test_every_optimizer_trains_and_keeps_its_rate_live(opt_g, opt_d):
    # Three trainers cover the five optimizers, each on one network (compiles are the cost here).
    t = build_trainer(toy(opt_g=opt_g, opt_d=opt_d, lr_schedule="linear"))
    state, m = t.run(t.init(), 10)
    assert not fetch_metrics(m)["fault"].any()
    slow = t.set_hyper(state, lr_g=1e-6, lr_d=1e-6)
    after, _ = t.run(slow, 1)
    fast, _ = t.run(state, 1)
    for net in ("g_params", "d_params"):
        moved_slow = np.abs(leaves(getattr(after, net)) - leaves(getattr(state, net))).max()
        moved_fast = np.abs(leaves(getattr(fast, net)) - leaves(getattr(state, net))).max()
        assert moved_slow < moved_fast


def test_plain_sgd_is_one_gradient_step():
    t = build_trainer(toy(opt_d="sgd", beta1=0.0, lr_d=0.1))
    state = t.init()
    after, _ = t.d_step(state)
    # Recompute D's gradient with the same keys as the step and apply p - lr * g by hand.
    key, k_d = jax.random.split(state.key)
    captured = {}
    original = t.d_tx.update

    def spy(grads, opt_state, params=None):
        captured["g"] = grads
        return original(grads, opt_state, params)

    t.d_tx = t.d_tx._replace(update=spy)
    t._d_update(state._replace(key=key), k_d, t.data_arrays)
    expect = leaves(state.d_params) - 0.1 * leaves(captured["g"])
    np.testing.assert_allclose(leaves(after.d_params), expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("g_depth,d_depth", [(0, 5), (3, 1)])
def test_toy_network_depth_and_width_per_network(g_depth, d_depth):
    t = build_trainer(toy(g_depth=g_depth, d_depth=d_depth, d_hidden=24))
    s = t.init()
    assert sorted(s.g_params) == [f"hidden{i}" for i in range(1, g_depth + 1)] + ["out"]
    assert sorted(s.d_params["mlp"]) == [f"hidden{i}" for i in range(1, d_depth + 1)] + ["out"]
    assert s.d_params["mlp"]["hidden1"]["kernel"].shape == (2, 24)


def test_a_run_file_from_before_the_remedies_opens_with_todays_game(tmp_path):
    config = toy()
    t = build_trainer(config)
    state, _ = t.run(t.init(), 3)
    path = tmp_path / "run.npz"
    checkpoint.save_run(path, config, state)
    header, arrays = checkpoint.read_run(path)
    # What an older ganplay wrote: no remedy settings in the config, only label smoothing live.
    old_config = {k: v for k, v in header["config"].items() if k in Config.__dataclass_fields__
                  and k not in {"gp_weight", "r1_weight", "weight_clip", "instance_noise", "instance_noise_steps",
                                "ema_decay", "ema_view", "pack", "g_steps", "opt_g", "opt_d", "lr_schedule",
                                "schedule_steps", "g_depth", "d_depth", "d_hidden"}}
    old_arrays = {k: v for k, v in arrays.items()
                  if not (k.startswith("state.hyper[") and "label_smoothing" not in k)}
    _write(tmp_path / "old.npz", {**header, "config": old_config}, old_arrays)
    config2, _, state2, _ = checkpoint.load_run(tmp_path / "old.npz")
    assert config2 == config
    np.testing.assert_array_equal(leaves(state2.g_params), leaves(state.g_params))
    assert float(state2.hyper["gp_weight"]) == 0.0


def test_a_run_file_with_an_unknown_loss_is_refused_by_name(tmp_path):
    config = toy()
    t = build_trainer(config)
    checkpoint.save_run(tmp_path / "run.npz", config, t.init())
    header, arrays = checkpoint.read_run(tmp_path / "run.npz")
    _write(tmp_path / "bad.npz", {**header, "config": {**header["config"], "loss": "bogus"}}, arrays)
    with pytest.raises(CheckpointError, match=r"stored config is invalid: loss='bogus' is not allowed; choose one of: ns"):
        checkpoint.load_run(tmp_path / "bad.npz")


def _write(path, header, arrays):
    import io
    import json

    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    path.write_bytes(buf.getvalue())


def test_spectral_norm_keeps_each_layer_of_d_near_norm_one():
    t = build_trainer(toy(spectral_norm=True))
    state, m = t.run(t.init(), 50)
    assert not fetch_metrics(m)["fault"].any()
    stats = state.d_stats
    for name in ("hidden1", "hidden2", "out"):
        kernel = np.asarray(state.d_params[name]["kernel"])
        sigma = float(np.asarray(stats[f"{name}_sn"][f"{name}/kernel/sigma"]))
        # the layer uses kernel / sigma, sigma being the power iteration's estimate of ||kernel||_2
        assert np.linalg.norm(kernel / sigma, 2) == pytest.approx(1.0, rel=0.05)


def test_spectral_norm_on_the_dcgan_d_replaces_its_batch_norm_and_bounds_each_layer():
    from ganplay.models import MODELS

    config = Config.for_model("dcgan28", dataset="mnist", width=0.125, batch_size=8, spectral_norm=True)
    pair = MODELS.get("dcgan28").build(config, (28, 28, 1))
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)), jnp.float32)
    variables = pair.discriminator.init({"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}, x,
                                        train=False)
    assert not any(k.startswith("bn") for k in variables["params"])  # no batch norm in an SN D
    assert set(variables["batch_stats"]) == {"conv1_sn", "conv2_sn", "conv3_sn", "logit_sn"}
    stats = variables["batch_stats"]
    for _ in range(30):  # power iterations, as training runs them
        _, new = pair.discriminator.apply({"params": variables["params"], "batch_stats": stats}, x, train=True,
                                          rngs={"dropout": jax.random.PRNGKey(2)}, mutable=["batch_stats"])
        stats = new["batch_stats"]
    for name in ("conv2", "logit"):
        kernel = np.asarray(variables["params"][name]["kernel"])
        sigma = float(np.asarray(stats[f"{name}_sn"][f"{name}/kernel/sigma"]))
        # the layer divides by σ, the estimate of the kernel's norm as a (fan-in x out) matrix
        assert np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]) / sigma, 2) == pytest.approx(1.0, rel=0.05)
    # each sample is judged on its own, in training too: its logit does not depend on its batch
    def first_logit(batch, model=pair, params=variables["params"], stats=stats):
        out, _ = model.discriminator.apply({"params": params, "batch_stats": stats}, batch, train=True,
                                           rngs={"dropout": jax.random.PRNGKey(3)}, mutable=["batch_stats"])
        return float(out[0])

    assert first_logit(x) == pytest.approx(first_logit(jnp.concatenate([x[:1], -x[1:]])), abs=1e-6)
    plain = MODELS.get("dcgan28").build(Config.for_model("dcgan28", dataset="mnist", width=0.125), (28, 28, 1))
    plain_vars = plain.discriminator.init({"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}, x,
                                          train=False)
    assert "bn2" in plain_vars["params"]  # the seed's D: batch norm, so a logit depends on its batch
    other = jnp.concatenate([x[:1], -x[1:]])
    assert abs(first_logit(x, plain, plain_vars["params"], plain_vars["batch_stats"])
               - first_logit(other, plain, plain_vars["params"], plain_vars["batch_stats"])) > 1e-4


def test_a_dcgan_with_spectral_norm_trains_and_r1_applies(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from data_helpers import write_fake_mnist

    t = build_trainer(Config.for_model("dcgan28", dataset="mnist", data_dir=str(write_fake_mnist(tmp_path, 32)),
                                       width=0.125, batch_size=8, spectral_norm=True, r1_weight=1.0))
    state, m = t.run(t.init(), 3)
    metrics = fetch_metrics(m)
    assert not metrics["fault"].any() and np.isfinite(metrics["d_loss"]).all()


def test_minibatch_std_lets_d_see_a_collapsed_batch():
    t = build_trainer(toy(minibatch_std=True))
    state, m = t.run(t.init(), 20)
    assert not fetch_metrics(m)["fault"].any()
    assert float(state.d_stats["minibatch_std"]) > 0  # the running average used by the views
    spread = jnp.asarray(np.random.default_rng(0).normal(size=(32, 2)), jnp.float32)
    copies = jnp.broadcast_to(spread[:1], (32, 2))

    def logits(batch, model):
        return np.asarray(model.pair.discriminator.apply(
            {"params": state.d_params, "batch_stats": state.d_stats}, batch, train=True,
            mutable=["batch_stats"])[0])

    # The same point scores differently among copies of itself than in a spread batch: D sees the
    # batch's spread. (Without the feature each sample's score is its own.)
    assert abs(logits(copies, t)[0] - logits(spread, t)[0]) > 1e-4
    plain = build_trainer(toy())
    p_state = plain.init()
    one = lambda b: np.asarray(plain.pair.discriminator.apply({"params": p_state.d_params}, b))  # noqa: E731
    assert one(copies)[0] == pytest.approx(one(spread)[0])
    assert t.discriminate(state, spread).shape == (32,)


@pytest.mark.parametrize("setting", ["spectral_norm", "minibatch_std"])
def test_toy_only_d_options_are_refused_for_image_models(setting):
    with pytest.raises(ConfigError, match=rf"{setting}=True is offered for .*toy-mlp.* only, not gia-mlp"):
        Config.for_model("gia-mlp", dataset="mnist", **{setting: True})


def test_minibatch_std_has_finite_gradients_on_a_fully_collapsed_batch():
    # A batch of one point repeated has no spread in any feature: jnp.std's gradient there is
    # infinite, which made D's update (and R1's double backward) NaN at step 1.
    t = build_trainer(toy(minibatch_std=True, r1_weight=0.1))
    state = t.init()
    copies = jnp.ones((32, 2), jnp.float32)

    def mean_logit(params, x):
        out = t.pair.discriminator.apply({"params": params, "batch_stats": state.d_stats}, x, train=True,
                                         mutable=["batch_stats"])[0]
        return jnp.mean(getattr(out, "logit", out))

    grads = jax.grad(mean_logit)(state.d_params, copies)
    assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree_util.tree_leaves(grads))
    x_grad = jax.grad(lambda x: mean_logit(state.d_params, x))(copies)  # what R1 differentiates again
    assert np.isfinite(np.asarray(x_grad)).all()
