"""The image models: shapes, the seeds' exact parameter counts, batch norm, dropout and width."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.errors import ConfigError
from ganplay.models import MODELS
from ganplay.models.dcgan import default_width, scaled

# Shape checks use jax.eval_shape (no compilation); the behaviour checks run one jitted function
# per model on NumPy-made parameters, because compiling JAX's PRNG is most of a test's cost.


def _build(name: str, data_shape, **overrides):
    config = Config.for_model(name, dataset="mnist", **overrides)
    return config, MODELS.get(name).build(config, data_shape)


def _variable_shapes(pair, config, data_shape, batch=2):
    key = jax.random.key(0)
    z = jnp.zeros((batch, config.z_dim))
    g = jax.eval_shape(lambda: pair.generator.init(key, z, train=False))
    x = jnp.zeros((batch, *data_shape))
    d = jax.eval_shape(lambda: pair.discriminator.init(key, x, train=False))
    return g, d


def _param_count(variables) -> int:
    return sum(math.prod(p.shape) for p in jax.tree.leaves(variables["params"]))


def _kernel_shapes(variables) -> dict[str, tuple[int, ...]]:
    params = variables["params"]
    return {name: layer["kernel"].shape for name, layer in params.items() if "kernel" in layer}


@pytest.mark.parametrize(
    "name, data_shape",
    [
        ("gia-mlp", (28, 28, 1)),
        ("gia-mlp", (32, 32, 3)),
        ("dcgan28", (28, 28, 1)),
        ("dcgan28", (28, 28, 3)),
        ("dcgan32", (32, 32, 1)),
        ("dcgan32", (32, 32, 3)),
    ],
)
@pytest.mark.parametrize("width", [1.0, 0.25])
def test_output_shapes(name, data_shape, width):
    config, pair = _build(name, data_shape, width=width)
    g_vars, d_vars = _variable_shapes(pair, config, data_shape)
    z = jnp.zeros((5, config.z_dim))
    images = jax.eval_shape(lambda v, z: pair.generator.apply(v, z, train=False), g_vars, z)
    logits = jax.eval_shape(
        lambda v, x: pair.discriminator.apply(v, x, train=False), d_vars, images
    )
    assert images.shape == (5, *data_shape)
    assert logits.shape == (5,)


def test_parameter_counts_match_the_seeds():
    # gia-mlp (seed 004): G 100 -> 128 -> 784, D 784 -> 128 -> 1 (weights + biases)
    config, pair = _build("gia-mlp", (28, 28, 1))
    g, d = _variable_shapes(pair, config, (28, 28, 1))
    assert _param_count(g) == (100 * 128 + 128) + (128 * 784 + 784) == 114_064
    assert _param_count(d) == (784 * 128 + 128) + (128 * 1 + 1) == 100_609

    # dcgan28 (seed 000), MNIST: batch norm has a scale and an offset per channel
    config, pair = _build("dcgan28", (28, 28, 1), width=1.0)
    g, d = _variable_shapes(pair, config, (28, 28, 1))
    assert _param_count(g) == (
        (100 * 4 * 4 * 512 + 4 * 4 * 512) + 2 * 512  # dense to 4x4x512, BN
        + (4 * 4 * 512 * 256 + 256) + 2 * 256  # convT k4 -> 7x7x256, BN
        + (3 * 3 * 256 * 128 + 128) + 2 * 128  # convT k3 -> 14x14x128, BN
        + (3 * 3 * 128 * 1 + 1)  # convT k3 -> 28x28x1
    ) == 3_222_785
    assert _param_count(d) == (
        (3 * 3 * 1 * 128 + 128)  # conv 128 (no BN)
        + (3 * 3 * 128 * 256 + 256) + 2 * 256  # conv 256, BN
        + (3 * 3 * 256 * 512 + 512) + 2 * 512  # conv 512, BN
        + (4 * 4 * 512 * 1 + 1)  # dense to one logit
    ) == 1_486_337

    # dcgan32 (seed 001), SVHN
    config, pair = _build("dcgan32", (32, 32, 3), width=1.0)
    g, d = _variable_shapes(pair, config, (32, 32, 3))
    assert _param_count(g) == (
        (100 * 4 * 4 * 512 + 4 * 4 * 512) + 2 * 512
        + (5 * 5 * 512 * 256 + 256) + 2 * 256
        + (5 * 5 * 256 * 128 + 128) + 2 * 128
        + (5 * 5 * 128 * 3 + 3)
    ) == 4_935_171
    assert _param_count(d) == (
        (5 * 5 * 3 * 64 + 64)
        + (5 * 5 * 64 * 128 + 128) + 2 * 128
        + (5 * 5 * 128 * 256 + 256) + 2 * 256
        + (4 * 4 * 256 * 1 + 1)
    ) == 1_034_113


def test_width_scales_every_channel_count():
    assert [scaled(512, w) for w in (1.0, 0.5, 0.25, 0.3, 0.1)] == [512, 256, 128, 152, 48]
    assert scaled(64, 0.0625) == 8  # never below 8

    config, pair = _build("dcgan28", (28, 28, 1), width=0.25)
    g, d = _variable_shapes(pair, config, (28, 28, 1))
    assert _kernel_shapes(g) == {
        "project": (100, 4 * 4 * 128),
        "deconv1": (4, 4, 128, 64),
        "deconv2": (3, 3, 64, 32),
        "deconv3": (3, 3, 32, 1),
    }
    assert _kernel_shapes(d) == {
        "conv1": (3, 3, 1, 32),
        "conv2": (3, 3, 32, 64),
        "conv3": (3, 3, 64, 128),
        "logit": (4 * 4 * 128, 1),
    }

    config, pair = _build("dcgan32", (32, 32, 3), width=0.5)
    g, d = _variable_shapes(pair, config, (32, 32, 3))
    assert _kernel_shapes(g)["deconv1"] == (5, 5, 256, 128)
    assert _kernel_shapes(g)["deconv3"] == (5, 5, 64, 3)
    assert [_kernel_shapes(d)[f"conv{i}"][-1] for i in (1, 2, 3)] == [32, 64, 128]


def _random_like(shapes, rng):
    """Parameters ~ N(0, 0.05); batch statistics as flax initialises them (mean 0, var 1)."""
    def make(path, s):
        name = jax.tree_util.keystr(path)
        if "'batch_stats'" in name:
            return (np.ones if "'var'" in name else np.zeros)(s.shape, np.float32)
        return 0.05 * rng.standard_normal(s.shape, dtype=np.float32)

    return jax.tree_util.tree_map_with_path(make, shapes)


def _train_and_eval_outputs(module, variables, x):
    """Outputs in training mode (two dropout streams) and in evaluation mode (two streams, and
    after the training-mode batch-statistics update). Two compilations, several runs."""
    train = jax.jit(
        lambda v, x, key: module.apply(
            v, x, train=True, mutable=["batch_stats"], rngs={"dropout": key}
        )
    )
    evaluate = jax.jit(lambda v, x, key: module.apply(v, x, train=False, rngs={"dropout": key}))
    y_a, updated = train(variables, x, jax.random.key(1))
    y_b, _ = train(variables, x, jax.random.key(2))
    out = {
        "train_a": y_a,
        "train_b": y_b,
        "eval": evaluate(variables, x, jax.random.key(1)),
        "eval_other_rng": evaluate(variables, x, jax.random.key(2)),
        "eval_after_update": evaluate({**variables, **updated}, x, jax.random.key(1)),
        "stats_before": variables["batch_stats"],
        "stats_after": updated["batch_stats"],
    }
    return jax.tree.map(np.asarray, out)


@pytest.mark.parametrize("name, data_shape", [("dcgan28", (28, 28, 1)), ("dcgan32", (32, 32, 3))])
def test_batch_norm_and_dropout_follow_the_train_flag(name, data_shape):
    rng = np.random.default_rng(0)
    config, pair = _build(name, data_shape, width=0.25)
    g_shapes, d_shapes = _variable_shapes(pair, config, data_shape, batch=8)
    z = rng.uniform(-1, 1, (8, config.z_dim)).astype(np.float32)
    images = rng.uniform(-1, 1, (8, *data_shape)).astype(np.float32)
    has_dropout = name == "dcgan28"  # seed 000 only

    for module, shapes, x in [
        (pair.generator, g_shapes, z),
        (pair.discriminator, d_shapes, images),
    ]:
        out = _train_and_eval_outputs(module, _random_like(shapes, rng), x)

        # train=True: batch statistics, and the running averages move (momentum 0.99)
        before, after = jax.tree.leaves(out["stats_before"]), jax.tree.leaves(out["stats_after"])
        assert len(before) == len(after) > 0
        for old, new in zip(before, after):
            assert not np.allclose(old, new)
        # train=False: running averages, deterministic, and they are what it normalises with
        assert not np.allclose(out["train_a"], out["eval"], atol=1e-4)
        np.testing.assert_array_equal(out["eval"], out["eval_other_rng"])
        assert not np.allclose(out["eval"], out["eval_after_update"], atol=1e-6)
        # dropout only in training, and only in seed 000's model
        assert np.allclose(out["train_a"], out["train_b"]) != has_dropout

        if module is pair.generator:
            assert np.abs(out["train_a"]).max() <= 1.0  # tanh images


def test_gia_mlp_is_deterministic_and_bounded():
    rng = np.random.default_rng(0)
    config, pair = _build("gia-mlp", (28, 28, 1))
    g_shapes, _ = _variable_shapes(pair, config, (28, 28, 1))
    variables = _random_like(g_shapes, rng)
    z = rng.standard_normal((4, config.z_dim), dtype=np.float32)
    images = np.asarray(jax.jit(lambda v, z: pair.generator.apply(v, z, train=True))(variables, z))
    assert images.shape == (4, 28, 28, 1) and np.abs(images).max() <= 1.0


def test_registered_defaults():
    assert {"gia-mlp", "dcgan28", "dcgan32"} <= set(MODELS.names())
    gia = Config.for_model("gia-mlp", dataset="mnist")
    # beta1 0.5, not the seed's Keras 0.9: see the comment in gia_mlp.py
    assert (gia.z_dim, gia.noise, gia.batch_size, gia.lr_g, gia.beta1, gia.label_smoothing) == (
        100, "normal", 128, 1e-3, 0.5, 0.0
    )
    d28 = Config.for_model("dcgan28", dataset="mnist")
    assert (d28.z_dim, d28.noise, d28.batch_size, d28.lr_d, d28.beta1) == (
        100, "uniform", 64, 1e-3, 0.9
    )
    assert (d28.label_smoothing, d28.smooth_g_target) == (0.1, True)
    d32 = Config.for_model("dcgan32", dataset="svhn")
    assert (d32.noise, d32.batch_size, d32.lr_g, d32.beta1, d32.label_smoothing) == (
        "normal", 64, 2e-4, 0.5, 0.1
    )
    for name, size in (("dcgan28", 28), ("dcgan32", 32)):
        spec = MODELS.get(name)
        assert spec.image_size == size and spec.uses_width and spec.kinds == frozenset({"images"})
        assert spec.config_defaults()["width"] == default_width(jax.default_backend())
    assert MODELS.get("gia-mlp").image_size is None
    assert default_width("gpu") == default_width("cuda") == 1.0
    assert default_width("cpu") == 0.25


def test_dcgan_rejects_the_wrong_image_size():
    config = Config.for_model("dcgan28", dataset="mnist")
    with pytest.raises(ConfigError, match="28x28"):
        MODELS.get("dcgan28").build(config, (32, 32, 3))


# -- the faster dropout in ganplay.models.dcgan (made for the dcgan28 speed target) stays flax's ---
@pytest.mark.parametrize("shape, p", [((8, 7, 7, 32), 0.8), ((3, 5), 0.5)])
def test_dcgan_dropout_masks_are_jax_bernoulli_bit_for_bit(shape, p):
    from ganplay.models.dcgan import _threefry_bernoulli

    ours = jax.jit(lambda key: _threefry_bernoulli(key, p, shape))
    flax = jax.jit(lambda key: jax.random.bernoulli(key, p, shape))  # what flax's Dropout draws
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        assert np.array_equal(ours(key), flax(key))


def test_dcgan_dropout_equals_flax_dropout_in_a_model():
    import flax.linen as nn

    from ganplay.models.dcgan import Dropout

    class TwoDropouts(nn.Module):
        dropout: type

        @nn.compact
        def __call__(self, x):  # two auto-named layers: each must draw flax's own stream
            first = self.dropout(0.2, deterministic=False)(x)
            return first + self.dropout(0.2, deterministic=False)(2 * x)

    ours = jax.jit(lambda key, x: TwoDropouts(Dropout).apply({}, x, rngs={"dropout": key}))
    flax = jax.jit(lambda key, x: TwoDropouts(nn.Dropout).apply({}, x, rngs={"dropout": key}))
    x = jnp.ones((4, 6, 6, 3))
    for seed in range(2):
        key = jax.random.PRNGKey(seed)
        assert np.array_equal(ours(key, x), flax(key, x))
