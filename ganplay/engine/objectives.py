"""Training games, composed: objective × adversarial loss × regularisers × stabilisers.

The trainer (:class:`ganplay.engine.train.Trainer`) has one D update and one G update for every
game. Each update draws its batches (:class:`DBatch`, :class:`GBatch`: the trainer class of the
objective knows the game's data, e.g. the class input), runs D once per batch through one
forward (every model's D returns a :class:`~ganplay.models.base.DiscriminatorOutput`), takes the
adversarial loss (``ganplay.losses``, by name) on the real/fake logits, and hands the result to
the objective, which adds its own terms as pure functions of D's outputs:

* ``gan``: nothing (the adversarial loss is the game);
* ``cgan``: nothing either: the class input is in its batches (:mod:`ganplay.engine.cgan`);
* ``sgan``: the supervised cross-entropy in D's loss, feature matching in G's
  (:mod:`ganplay.engine.sgan`).

The regularisers (gradient penalty, R1, weight clipping) and stabilisers (instance noise,
packing, EMA, G steps) are the trainer's, with their weights in the live hyperparameters
(``TrainState.hyper``). Settings an objective does not compose are refused up front by
``ganplay.config`` with a message naming both parts.

Adding an objective is one module with one ``OBJECTIVES.register`` call; the trainer modules
register theirs (``gan`` in :mod:`ganplay.engine.train`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ganplay.models.base import DiscriminatorOutput
from ganplay.registry import Registry

Array = jax.Array


class DBatch(NamedTuple):
    """D's inputs for one update, drawn by the game's trainer.

    ``real`` and ``fake`` go through the adversarial loss (with their class inputs ``real_labels``
    and ``fake_labels``, one-hot ``[B, K]``, in a conditional game); ``labelled`` and ``classes``
    (int ``[B]``) are a semi-supervised game's labelled batch, D's first pass. ``keys``: D's
    dropout keys, one per pass in that order, or a single key for one pass over all the batches
    concatenated (for a D without batch statistics, whose rows are independent).
    """

    real: Array
    fake: Array
    keys: tuple
    real_labels: Any = None
    fake_labels: Any = None
    labelled: Any = None
    classes: Any = None


class GBatch(NamedTuple):
    """G's inputs for one update: the noise, its class input (conditional games), G's and D's
    dropout keys, and the batch mean of D's features on real samples (feature matching only)."""

    z: Array
    g_key: Array
    d_key: Array
    labels: Any = None
    real_feature_mean: Any = None


DLoss = Callable[[Array, Sequence[DiscriminatorOutput], DBatch, Any], "tuple[Array, dict]"]
GLoss = Callable[[Array, DiscriminatorOutput, GBatch, Any], Array]


class Objective(NamedTuple):
    """One training game: what it adds to the adversarial loss, as pure functions.

    ``d_loss(adversarial, outputs, batch, config) -> (loss, metrics)``: D's loss from the
    adversarial loss's value (a scalar), D's outputs on the batch's passes (in ``DBatch`` order:
    the labelled batch if any, then real, then fake) and the batch; ``metrics`` are the game's own
    per-step metrics (``metric_names``). ``g_loss(per_sample, output, batch, config) -> loss``: G's
    loss from the adversarial loss per generated sample and D's output on them.
    ``trainer(config, dataset)`` builds the game's trainer (it draws the batches).
    """

    name: str
    summary: str
    trainer: Callable[..., Any]
    d_loss: DLoss
    g_loss: GLoss
    metric_names: tuple[str, ...] = ()


OBJECTIVES: Registry[Objective] = Registry("objective")


def adversarial_d_loss(adversarial, outputs, batch, config):
    """D's loss in a game with no terms of its own: the adversarial loss alone."""
    del outputs, batch, config
    return adversarial, {}


def adversarial_g_loss(per_sample, output, batch, config):
    """G's loss in a game with no terms of its own: the mean adversarial loss."""
    del output, batch, config
    return jnp.mean(per_sample)


def feature_matching(fake_features: Array, real_feature_mean: Array) -> Array:
    """Salimans et al. (2016): the mean squared difference of the batch means of D's features on
    generated and on real samples."""
    return jnp.mean(jnp.square(jnp.mean(fake_features, axis=0) - real_feature_mean))
