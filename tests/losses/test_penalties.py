"""Gradient penalty and R1 against central finite differences; weight clipping bounds."""
import jax
import jax.numpy as jnp
import numpy as np

from ganplay.losses.penalties import clip_weights, gradient_penalty, r1_penalty

B, D, H = 4, 3, 5
_rng = np.random.default_rng(0)
W = _rng.normal(size=(D, H))
BIAS = _rng.normal(size=H)
V = _rng.normal(size=H)
REAL = _rng.normal(size=(B, D))
FAKE = _rng.normal(size=(B, D))


def critic(x):
    """A small nonlinear critic, independent per sample."""
    return jnp.sum(jnp.tanh(x @ W + BIAS) * V, axis=-1)


def numeric_input_gradients(x, h=1e-6):
    """∇_x critic per sample by central differences, in float64."""
    grads = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[i, j] += h
            down[i, j] -= h
            grads[i, j] = (float(critic(up[i:i + 1])[0]) - float(critic(down[i:i + 1])[0])) / (2 * h)
    return grads


def test_gradient_penalty_matches_finite_differences():
    with jax.enable_x64(True):
        key = jax.random.key(7)
        eps = np.asarray(jax.random.uniform(key, (B, 1), jnp.float64))  # the ε the penalty draws
        x_hat = eps * REAL + (1 - eps) * FAKE
        norms = np.linalg.norm(numeric_input_gradients(x_hat), axis=-1)
        for target in (1.0, 0.5):
            want = np.mean((norms - target) ** 2)
            got = gradient_penalty(critic, jnp.asarray(REAL), jnp.asarray(FAKE), key, target=target)
            assert got.dtype == jnp.float64
            np.testing.assert_allclose(float(got), want, rtol=1e-6)


def test_gradient_penalty_interpolates_per_sample_for_images():
    # ε has shape [B, 1, 1, 1]: one mixing weight per image, not per pixel. With real = 1 and
    # fake = 0, x̂ = ε, and the critic ½‖x‖² has gradient x̂, so ‖∇‖ = √9·ε = 3ε per image.
    key = jax.random.key(1)
    real, fake = jnp.ones((2, 3, 3, 1)), jnp.zeros((2, 3, 3, 1))
    eps = np.asarray(jax.random.uniform(key, (2, 1, 1, 1))).reshape(2)
    half_sq_norm = lambda x: 0.5 * jnp.sum(x.reshape(x.shape[0], -1) ** 2, -1)  # noqa: E731
    gp = gradient_penalty(half_sq_norm, real, fake, key)
    np.testing.assert_allclose(float(gp), np.mean((3 * eps - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_has_finite_gradient_at_zero_input_gradient():
    def flat_critic(p, x):
        return jnp.sum(x, axis=-1) * p  # p = 0: the input gradient is exactly zero

    g = jax.grad(lambda p: gradient_penalty(lambda x: flat_critic(p, x), jnp.ones((2, 3)),
                                            jnp.zeros((2, 3)), jax.random.key(0)))(0.0)
    assert np.isfinite(float(g))


def test_r1_matches_finite_differences():
    with jax.enable_x64(True):
        want = np.mean(np.sum(numeric_input_gradients(REAL) ** 2, axis=-1))
        got = r1_penalty(critic, jnp.asarray(REAL))
        assert got.dtype == jnp.float64
        np.testing.assert_allclose(float(got), want, rtol=1e-6)


def test_clip_weights_bounds_every_leaf_and_keeps_small_values():
    params = {
        "dense": {"kernel": jnp.array([[-0.5, 0.003], [0.02, -0.01]]), "bias": jnp.array([0.009, -2.0])},
        "scale": jnp.array(0.1),
    }
    clipped = clip_weights(params, 0.01)
    assert jax.tree_util.tree_structure(clipped) == jax.tree_util.tree_structure(params)
    for before, after in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(clipped)):
        before, after = np.asarray(before), np.asarray(after)
        assert np.all(np.abs(after) <= 0.01)
        inside = np.abs(before) <= 0.01
        np.testing.assert_array_equal(after[inside], before[inside])
        np.testing.assert_array_equal(after[~inside], np.sign(before[~inside]) * 0.01)
