"""The semi-supervised GAN models: seed 003's layer table, Salimans et al.'s MLPs, the two heads."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.errors import ConfigError
from ganplay.models import MODELS, DiscriminatorOutput
from ganplay.models.sgan import (
    WeightNormDense,
    class_logits,
    head_logits,
    head_output,
    head_size,
    real_logit,
    supervised_cross_entropy,
)


def _build(name, data_shape, n_classes=10, **overrides):
    config = Config.for_model(name, dataset="mnist", **overrides)
    return config, MODELS.get(name).build(config, data_shape, n_classes=n_classes)


def _shapes(pair, config, data_shape, batch=2):
    """Variables of G and D, by shape only (no compilation)."""
    key = jax.random.key(0)
    g = jax.eval_shape(lambda: pair.generator.init(key, jnp.zeros((batch, config.z_dim)), train=False))
    d = jax.eval_shape(lambda: pair.discriminator.init(key, jnp.zeros((batch, *data_shape)), train=False))
    return g, d


def _count(variables) -> int:
    return sum(math.prod(p.shape) for p in jax.tree.leaves(variables["params"]))


def _kernels(variables) -> dict[str, tuple[int, ...]]:
    return {name: layer["kernel"].shape for name, layer in variables["params"].items() if "kernel" in layer}


# -- seed 003 ---------------------------------------------------------------------------------------
def test_sgan64_is_seed_003_layer_for_layer():
    config, pair = _build("sgan64", (64, 64, 1), width=1.0, sgan_head="k+1")
    g, d = _shapes(pair, config, (64, 64, 1))
    # D: conv 128 k4 s2, conv 256 k4 s2 + BN, conv 512 k4 s4 + BN, conv 1024 k3 VALID, dense 1 + K
    assert _kernels(d) == {
        "conv1": (4, 4, 1, 128), "conv2": (4, 4, 128, 256), "conv3": (4, 4, 256, 512),
        "conv4": (3, 3, 512, 1024), "logits": (1024, 11),
    }
    assert set(d["params"]) == {"conv1", "conv2", "bn2", "conv3", "bn3", "conv4", "logits"}
    assert set(d["batch_stats"]) == {"bn2", "bn3"}
    # The seed's TF variables, counted by hand: kernels + biases, and BN's gamma and beta.
    d_expected = (16 * 128 + 128) + (16 * 128 * 256 + 256) + 2 * 256 + (16 * 256 * 512 + 512) \
        + 2 * 512 + (9 * 512 * 1024 + 1024) + (1024 * 11 + 11)
    assert _count(d) == d_expected == 7_356_811
    # G: z as a 1x1 map; convT 512 k4 VALID, 256 k4 s4, 128 k4 s2 (each + BN), 1 k4 s2
    assert _kernels(g) == {
        "deconv1": (4, 4, 100, 512), "deconv2": (4, 4, 512, 256), "deconv3": (4, 4, 256, 128),
        "deconv4": (4, 4, 128, 1),
    }
    g_expected = (16 * 100 * 512 + 512) + 2 * 512 + (16 * 512 * 256 + 256) + 2 * 256 \
        + (16 * 256 * 128 + 128) + 2 * 128 + (16 * 128 + 1)
    assert _count(g) == g_expected == 3_445_377


def test_sgan64_feature_maps_follow_the_seed_comments():
    config, pair = _build("sgan64", (64, 64, 1), width=1.0)
    g_vars, d_vars = _shapes(pair, config, (64, 64, 1))

    def intermediates(module, variables, x):
        def apply(v, x):
            return module.apply(v, x, train=False, capture_intermediates=True)
        out, state = jax.eval_shape(apply, variables, x)
        return out, {k: v["__call__"][0].shape for k, v in state["intermediates"].items()
                     if k.startswith(("conv", "deconv"))}

    out, shapes = intermediates(pair.discriminator, d_vars, jnp.zeros((3, 64, 64, 1)))
    assert shapes == {"conv1": (3, 32, 32, 128), "conv2": (3, 16, 16, 256),
                      "conv3": (3, 4, 4, 512), "conv4": (3, 2, 2, 1024)}
    assert out.logit.shape == (3,) and out.class_logits.shape == (3, 10)
    assert out.features.shape == (3, 1024)  # pooled conv4
    images, shapes = intermediates(pair.generator, g_vars, jnp.zeros((3, 100)))
    assert shapes == {"deconv1": (3, 4, 4, 512), "deconv2": (3, 16, 16, 256),
                      "deconv3": (3, 32, 32, 128), "deconv4": (3, 64, 64, 1)}
    assert images.shape == (3, 64, 64, 1)


@pytest.mark.parametrize("name, shape, features", [("sgan64", (64, 64, 3), 256),
                                                   ("sgan-mlp", (28, 28, 1), 62)])
@pytest.mark.parametrize("head, n_out", [("k+1", 11), ("k", 10)])
def test_both_models_take_both_heads(name, shape, features, head, n_out):
    config, pair = _build(name, shape, width=0.25, sgan_head=head)
    g, d = _shapes(pair, config, shape)
    out = jax.eval_shape(lambda v, x: pair.discriminator.apply(v, x, train=False), d, jnp.zeros((5, *shape)))
    assert isinstance(out, DiscriminatorOutput)  # the one contract every D meets
    assert out.logit.shape == (5,) and out.class_logits.shape == (5, 10) and out.features.shape == (5, features)
    assert d["params"]["logits" if name == "sgan64" else "head"]["kernel"].shape[-1] == n_out
    images = jax.eval_shape(lambda v, z: pair.generator.apply(v, z, train=False), g,
                            jnp.zeros((5, config.z_dim)))
    assert images.shape == (5, *shape)


def test_sgan_mlp_is_salimans_et_al_mnist_model():
    config, pair = _build("sgan-mlp", (28, 28, 1), width=1.0, sgan_head="k")
    g, d = _shapes(pair, config, (28, 28, 1))
    assert _kernels(d) == {"dense1": (784, 1000), "dense2": (1000, 500), "dense3": (500, 250),
                           "dense4": (250, 250), "dense5": (250, 250), "head": (250, 10)}
    assert _kernels(g) == {"dense1": (100, 500), "dense2": (500, 500), "out": (500, 784)}
    assert "scale" not in g["params"]["bn1"] and "bias" not in g["params"]["dense1"]


def test_sgan64_rejects_other_sizes():
    config = Config.for_model("sgan64", dataset="mnist")
    with pytest.raises(ConfigError, match="64x64"):
        MODELS.get("sgan64").build(config, (28, 28, 1))


def test_registered_specs():
    mlp, conv = MODELS.get("sgan-mlp"), MODELS.get("sgan64")
    assert mlp.objective == conv.objective == "sgan"
    assert (mlp.image_size, mlp.scan_steps, conv.image_size, conv.scan_steps) == (28, True, 64, False)
    assert mlp.kinds == conv.kinds == frozenset({"images"})
    seed = Config.for_model("sgan64", dataset="mnist")
    assert (seed.sgan_head, seed.label_fraction, seed.labels_per_class, seed.noise) == ("k+1", 0.2, 0, "normal")
    assert (seed.adv_weight, seed.fm_weight) == (1.0, 1.0)
    cpu = Config.for_model("sgan-mlp", dataset="mnist")
    assert cpu.labels_per_class == 10 and cpu.batch_size == 100


# -- the heads --------------------------------------------------------------------------------------
def _random_logits(rng, n_out, scale=3.0):
    logits = rng.normal(scale=scale, size=(64, n_out)).astype(np.float32)
    logits[0] = 80.0  # large logits stay finite
    logits[1] = -80.0
    return logits


def test_k_plus_1_head_is_seed_003():
    rng = np.random.default_rng(0)
    logits = _random_logits(rng, 11)
    p_real = np.asarray(jax.nn.sigmoid(real_logit(jnp.asarray(logits), "k+1")), np.float64)
    # the seed trains sigmoid(logit 0) towards 0 on real images: p(real) = 1 - sigmoid(logit 0)
    expected = 1.0 - 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))
    np.testing.assert_allclose(p_real, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(class_logits(jnp.asarray(logits), "k+1")), logits[:, 1:])
    labels = rng.integers(0, 10, size=64)
    out = head_output(jnp.asarray(logits), None, "k+1")
    np.testing.assert_array_equal(np.asarray(head_logits(out, "k+1")), logits)  # exactly, the fake logit too
    ce = np.asarray(supervised_cross_entropy(out, jnp.asarray(labels), "k+1"))
    # softmax cross-entropy over all 11 logits against the "extended label": one-hot at 1 + y
    z = logits.astype(np.float64)
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(ce, -log_p[np.arange(64), labels + 1], rtol=1e-5, atol=1e-5)
    assert head_size(10, "k+1") == 11


def test_k_head_is_salimans_z_over_z_plus_1():
    rng = np.random.default_rng(1)
    logits = _random_logits(rng, 10)
    p_real = np.asarray(jax.nn.sigmoid(real_logit(jnp.asarray(logits), "k")), np.float64)
    assert np.isfinite(p_real).all()
    z = np.exp(logits.astype(np.float64)).sum(1)
    np.testing.assert_allclose(p_real, z / (z + 1.0), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(class_logits(jnp.asarray(logits), "k")), logits)
    labels = rng.integers(0, 10, size=64)
    ce = np.asarray(supervised_cross_entropy(head_output(jnp.asarray(logits), None, "k"), jnp.asarray(labels), "k"))
    zz = logits.astype(np.float64)
    log_p = zz - np.log(np.exp(zz - zz.max(1, keepdims=True)).sum(1, keepdims=True)) - zz.max(1, keepdims=True)
    np.testing.assert_allclose(ce, -log_p[np.arange(64), labels], rtol=1e-5, atol=1e-5)
    assert head_size(10, "k") == 10


def test_unknown_head_is_refused():
    with pytest.raises(ConfigError, match="sgan_head"):
        real_logit(jnp.zeros((2, 11)), "k+2")


# -- weight norm and noise ---------------------------------------------------------------------------
def test_weight_norm_data_dependent_start_and_frozen_scale():
    x = jnp.asarray(np.random.default_rng(2).normal(size=(256, 30)), jnp.float32)
    layer = WeightNormDense(7, train_scale=False)
    variables = layer.init(jax.random.key(0), x)
    y = np.asarray(layer.apply(variables, x))
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(0), 1.0, rtol=1e-3)
    # the direction and the bias train, the scale does not
    grads = jax.grad(lambda v: jnp.sum(layer.apply(v, x) ** 2))(variables)["params"]
    assert not np.asarray(grads["scale"]).any() and np.asarray(grads["kernel"]).any()
    # a constant batch (shape-only init on zeros) gives the plain start, not a division by zero
    plain = layer.init(jax.random.key(0), jnp.zeros((4, 30)))["params"]
    np.testing.assert_array_equal(np.asarray(plain["scale"]), 1.0)
    np.testing.assert_array_equal(np.asarray(plain["bias"]), 0.0)


def test_sgan_mlp_noise_acts_only_while_training():
    config, pair = _build("sgan-mlp", (28, 28, 1), width=0.0625)
    rng = np.random.default_rng(3)
    _, shapes = _shapes(pair, config, (28, 28, 1))
    # NumPy-made parameters: compiling JAX's PRNG for an init would cost more than the test
    variables = jax.tree.map(lambda s: rng.normal(scale=0.3, size=s.shape).astype(np.float32), shapes)
    x = jnp.asarray(rng.uniform(-1, 1, size=(8, 28, 28, 1)), jnp.float32)

    @jax.jit
    def outputs(k1, k2):
        d = pair.discriminator
        return [d.apply(variables, x, train=train, rngs={"dropout": k})[0]
                for train in (False, True) for k in (k1, k2)]

    eval1, eval2, train1, train2 = map(np.asarray, outputs(jax.random.key(1), jax.random.key(2)))
    np.testing.assert_array_equal(eval1, eval2)
    assert not np.allclose(train1, train2) and not np.allclose(train1, eval1)
