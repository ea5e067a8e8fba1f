"""The CPU-fast convolutions equal flax's, in values and in every gradient."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganplay.models.conv_transpose import Conv, ConvTranspose

# (input H, W), in/out channels, kernel, stride, padding. Every transposed conv the DCGANs use
# (two channel counts each), plus odd and non-square sizes. "phase" marks kernels larger than
# the input, which take the sub-pixel forward path.
TRANSPOSED = [
    ((4, 4), 16, 8, 4, 1, "VALID"),  # dcgan28 layer 1: 4 -> 7
    ((4, 4), 6, 5, 4, 1, "VALID"),
    ((7, 7), 16, 8, 3, 2, "SAME"),  # dcgan28 layer 2: 7 -> 14 (odd input)
    ((14, 14), 8, 1, 3, 2, "SAME"),  # dcgan28 layer 3: 14 -> 28, one output channel
    ((4, 4), 16, 8, 5, 2, "SAME"),  # dcgan32 layer 1: 4 -> 8 (phase)
    ((4, 4), 8, 3, 5, 2, "SAME"),  # (phase)
    ((8, 8), 8, 8, 5, 2, "SAME"),  # dcgan32 layer 2: 8 -> 16
    ((16, 16), 8, 3, 5, 2, "SAME"),  # dcgan32 layer 3: 16 -> 32, three output channels
    ((5, 6), 3, 4, 3, 2, "SAME"),  # odd, non-square
    ((3, 4), 3, 2, 5, 2, "VALID"),  # (phase) VALID with stride 2
    ((5, 5), 4, 3, 4, 1, "VALID"),
    ((3, 3), 3, 2, 4, 1, "VALID"),  # (phase) stride 1
]

# The discriminators' stride-2 convolutions; "phase" cases compute the input gradient by phases.
STRIDED = [
    ((28, 28), 1, 8, 3, 2, "SAME"),  # dcgan28 D: 28 -> 14 -> 7 -> 4
    ((14, 14), 8, 16, 3, 2, "SAME"),
    ((7, 7), 16, 8, 3, 2, "SAME"),
    ((32, 32), 3, 8, 5, 2, "SAME"),  # dcgan32 D: 32 -> 16 -> 8 -> 4
    ((8, 8), 8, 16, 5, 2, "SAME"),  # 8 -> 4 with a 5x5 kernel (phase)
    ((8, 9), 6, 5, 5, 2, "SAME"),  # (phase, non-square)
    ((9, 9), 3, 2, 5, 2, "VALID"),  # 9 -> 3 (phase)
    ((5, 6), 3, 4, 3, 1, "SAME"),
]


def _compare(ours: nn.Module, reference: nn.Module, shape, batch: int = 3) -> None:
    # NumPy randomness and one jit per case: compiling (JAX's PRNG above all) is what costs here
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    shapes = jax.eval_shape(reference.init, jax.random.key(0), x)
    assert jax.eval_shape(ours.init, jax.random.key(0), x) == shapes  # same names and shapes
    # random kernel and a non-zero bias, so that the bias gradient and offset are exercised too
    variables = jax.tree.map(
        lambda s: 0.3 * rng.standard_normal(s.shape, dtype=np.float32), shapes
    )
    weights = rng.standard_normal(jax.eval_shape(reference.apply, variables, x).shape, np.float32)

    @jax.jit
    def outputs_and_gradients(variables, x):
        results = {}
        for name, module in (("ours", ours), ("reference", reference)):

            def loss(v, x):  # nonlinear, so that the forward value itself enters the gradient
                return jnp.sum(weights * jnp.tanh(module.apply(v, x)))

            d_variables, d_x = jax.grad(loss, argnums=(0, 1))(variables, x)
            results[name] = {
                "output": module.apply(variables, x),
                "d/dinput": d_x,
                "d/dkernel": d_variables["params"]["kernel"],
                "d/dbias": d_variables["params"]["bias"],
            }
        return results

    results = outputs_and_gradients(variables, x)
    for name, expected in results["reference"].items():
        expected = np.asarray(expected)
        np.testing.assert_allclose(
            np.asarray(results["ours"][name]),
            expected,
            rtol=1e-4,
            atol=1e-5 * np.abs(expected).max(),
            err_msg=name,
        )


@pytest.mark.parametrize("shape, c_in, c_out, kernel, stride, padding", TRANSPOSED)
def test_conv_transpose_matches_flax(shape, c_in, c_out, kernel, stride, padding):
    _compare(
        ConvTranspose(c_out, kernel, stride, padding, implementation="custom"),
        nn.ConvTranspose(c_out, (kernel, kernel), (stride, stride), padding),
        (*shape, c_in),
    )


@pytest.mark.parametrize("shape, c_in, c_out, kernel, stride, padding", STRIDED)
def test_conv_matches_flax(shape, c_in, c_out, kernel, stride, padding):
    _compare(
        Conv(c_out, kernel, stride, padding, implementation="custom"),
        nn.Conv(c_out, (kernel, kernel), (stride, stride), padding),
        (*shape, c_in),
    )


def test_output_sizes_follow_tf():
    """VALID: (n-1)*s + k (4 -> 7 with k4 s1, seed 000); SAME: n*s."""
    x = jnp.zeros((2, 4, 4, 3))
    for module, size in [
        (ConvTranspose(5, 4, 1, "VALID"), 7),
        (ConvTranspose(5, 3, 2, "SAME"), 8),
        (ConvTranspose(5, 5, 2, "SAME"), 8),
    ]:
        y, _ = jax.eval_shape(module.init_with_output, jax.random.key(0), x)
        assert y.shape == (2, size, size, 5)


@pytest.mark.parametrize("module", [ConvTranspose(4, 3, 2), Conv(4, 3, 2)])
def test_auto_takes_the_custom_gradient_on_cpu(module):
    x = jnp.ones((1, 6, 6, 2))
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    jaxpr = str(jax.make_jaxpr(lambda v: module.apply(v, x))(variables))
    assert ("custom_vjp_call" in jaxpr) == (jax.default_backend() == "cpu")


def test_extra_batch_axes_and_no_bias_like_flax():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5, 4), dtype=np.float32)
    ours = ConvTranspose(3, 3, 2, use_bias=False, implementation="custom")
    reference = nn.ConvTranspose(3, (3, 3), (2, 2), use_bias=False)
    shapes = jax.eval_shape(reference.init, jax.random.key(0), x)
    assert set(shapes["params"]) == {"kernel"}
    variables = jax.tree.map(lambda s: rng.standard_normal(s.shape, dtype=np.float32), shapes)
    np.testing.assert_allclose(
        ours.apply(variables, x), reference.apply(variables, x), rtol=1e-5, atol=1e-5
    )


def test_rejects_unsupported_settings():
    x = jnp.ones((1, 4, 4, 2))
    with pytest.raises(ValueError, match="padding"):
        jax.eval_shape(
            ConvTranspose(2, 3, padding="CIRCULAR", implementation="custom").init,
            jax.random.key(0),
            x,
        )
    with pytest.raises(ValueError, match="implementation"):
        jax.eval_shape(Conv(2, 3, implementation="fast").init, jax.random.key(0), x)
