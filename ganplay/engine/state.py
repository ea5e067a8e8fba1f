"""A GAN's training state, one pytree: both networks' parameters, batch-norm statistics and
optax states, the RNG, the step, the live settings read inside the step (``hyper``), the
divergence guard's flag and G's EMA; and which of the config's settings live where."""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ganplay.config import LIVE_FIELDS, Config


class TrainState(NamedTuple):
    step: jax.Array  # int32: generator updates done
    key: jax.Array  # uint32[2]: the run's RNG, split once per step
    g_params: Any
    d_params: Any
    g_stats: Any  # batch-norm running averages ({} for models without BN)
    d_stats: Any
    g_opt: Any
    d_opt: Any
    hyper: Any  # {"label_smoothing": f32, "gp_weight": f32, …}: live-editable, read inside the step
    finite: jax.Array  # bool: every loss so far was finite (the divergence guard's flag)
    g_ema: Any = {}  # the EMA of G's parameters (``ema_decay`` > 0), else {} (no leaves)


# The live settings kept in ``TrainState.hyper`` (the learning rates live in the optimizer states).
HYPER_FIELDS = tuple(sorted(LIVE_FIELDS - {"lr_g", "lr_d"}))


def initial_hyper(config: Config) -> dict:
    return {k: jnp.float32(getattr(config, k)) for k in HYPER_FIELDS}


# Remedies whose code is in the step only while their setting is above 0 (see Trainer.active).
SWITCHED_REMEDIES = ("gp_weight", "r1_weight", "weight_clip", "instance_noise")


def active_remedies(config: Config) -> frozenset:
    return frozenset(k for k in SWITCHED_REMEDIES if getattr(config, k) > 0)


def live_values(config: Config) -> dict:
    """The config's live settings, as ``Trainer.set_hyper`` takes them."""
    return {k: getattr(config, k) for k in LIVE_FIELDS}
