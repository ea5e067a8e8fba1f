"""Regularisers for D that are not part of an adversarial loss: pure functions the step adds.

``critic`` is any function mapping a batch ``[B, ...]`` to scores ``[B]`` (e.g. D with its
parameters closed over). Per-sample input gradients are taken as ``jax.grad`` of
``sum(critic(x))``, which is exact only while the critic treats samples independently: no batch
norm in train mode (use layer norm, spectral norm or none, as WGAN-GP and R1 recommend).
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

Array = jax.Array
Critic = Callable[[Array], Array]


def _input_gradients(critic: Critic, x: Array) -> Array:
    """∇_x critic(x) per sample, flattened to [B, D]."""
    grads = jax.grad(lambda v: jnp.sum(critic(v)))(x)
    return grads.reshape(x.shape[0], -1)


def gradient_penalty(critic: Critic, real: Array, fake: Array, key: Array,
                     target: float = 1.0) -> Array:
    """WGAN-GP (Gulrajani et al. 2017): mean over samples of (‖∇ critic(x̂)‖₂ − target)².

    x̂ = ε·real + (1 − ε)·fake with ε ~ U(0, 1) drawn per sample as
    ``jax.random.uniform(key, (B, 1, …, 1), real.dtype)``. The caller multiplies by λ (10 in the paper).
    """
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, eps_shape, real.dtype)
    x_hat = eps * real + (1.0 - eps) * fake
    g = _input_gradients(critic, x_hat)
    # A tiny floor under the square root: the norm's own gradient is NaN at exactly zero (a dead
    # ReLU critic), and this penalty is differentiated again with respect to D's parameters.
    norm = jnp.sqrt(jnp.sum(g**2, axis=-1) + 1e-12)
    return jnp.mean((norm - target) ** 2)


def r1_penalty(critic: Critic, real: Array) -> Array:
    """R1 (Mescheder et al. 2018): mean over real samples of ‖∇_x critic(x)‖².

    Returned without the paper's γ/2 factor: the caller multiplies by γ/2.
    """
    g = _input_gradients(critic, real)
    return jnp.mean(jnp.sum(g**2, axis=-1))


def clip_weights(params: Any, c: float) -> Any:
    """The original WGAN's Lipschitz constraint (Arjovsky et al. 2017): clip every leaf to [−c, c]."""
    return jax.tree_util.tree_map(lambda p: jnp.clip(p, -c, c), params)
