"""The adversarial-loss record and its registry (kept apart from ``__init__`` so loss modules
can import it while the package is still being imported)."""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ganplay.registry import Registry

Array = jax.Array


class AdversarialLoss(NamedTuple):
    """One GAN objective as a pair of pure per-sample functions; the step takes the means.

    ``d_loss(real_logits [B], fake_logits [B], smoothing) -> (per_real [B], per_fake [B])``:
    D's training loss is ``mean(per_real) + mean(per_fake)``.
    ``g_loss(fake_logits [B], real_logits [B], g_smoothing) -> per_fake [B]``: G's training
    loss is its mean. Both are jit-safe and take ``smoothing`` as a (traced) scalar.
    """

    name: str
    d_loss: Callable[[Array, Array, Array], tuple[Array, Array]]
    g_loss: Callable[[Array, Array, Array], Array]
    formula: str  # one line for the window's help; D = σ(C) where C is D's raw output
    summary: str  # one sentence: what it is and who proposed it
    smoothing: bool  # one-sided label smoothing (real target 1 − s) means something here
    relativistic: bool  # g_loss reads real_logits
    critic: bool  # D's output is an unbounded score, not a probability logit


LOSSES: Registry[AdversarialLoss] = Registry("loss")


def bce(logits: Array, target) -> Array:
    """Per-element binary cross-entropy on logits, target broadcast (stable: log-sigmoid form)."""
    return optax.sigmoid_binary_cross_entropy(logits, jnp.broadcast_to(target, logits.shape))
