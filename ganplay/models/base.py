"""What a model is, as far as the engine is concerned.

A model is a pair of Flax linen modules plus metadata. The engine owns everything else (losses,
optimizers, the jitted multi-step scan), so a new model is one file with one ``MODELS.register``.

Conventions every model follows:

* ``generator(z, train=...)`` maps noise ``[B, z_dim]`` to samples ``[B, *data_shape]``
  (2-D points for toy models, ``H x W x C`` images in [-1, 1] via tanh for image models).
* ``discriminator(x, train=...)`` maps samples to a :class:`DiscriminatorOutput`: the real/fake
  logit ``[B]``, and D's features and class logits where it has them. A bare logit array ``[B]``
  is shorthand for ``DiscriminatorOutput(logit)`` (:func:`as_output` reads both), so the plain
  models stay one line at their end.
* Conditional models (``objective="cgan"``) take the class as a second input:
  ``generator(z, labels, train=...)`` and ``discriminator(x, labels, train=...)``, ``labels`` a
  one-hot ``[B, K]``. The engine passes it only to them (:func:`conditioned`).
* Batch norm keeps running averages in the ``batch_stats`` collection (batch statistics while
  training, running averages when ``train=False``); dropout draws from the ``dropout`` RNG stream
  and is active only when ``train=True``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import flax.linen as nn
import jax

from ganplay.registry import Registry


class DiscriminatorOutput(NamedTuple):
    """What D says about a batch; one forward serves every objective.

    ``logit`` ``[B]``: the real/fake logit (``sigmoid`` of it is D's p(real)); ``features``
    ``[B, F]``: the penultimate features that feature matching compares; ``class_logits``
    ``[B, K]``: the classes' logits of a D that also classifies (argmax: the predicted class).
    """

    logit: jax.Array
    features: jax.Array | None = None
    class_logits: jax.Array | None = None


def as_output(raw) -> DiscriminatorOutput:
    """A discriminator's return value as a :class:`DiscriminatorOutput` (a bare logit array is one
    with no features and no class logits)."""
    return raw if isinstance(raw, DiscriminatorOutput) else DiscriminatorOutput(raw)


def conditioned(x, labels) -> tuple:
    """A network's positional inputs: ``(x,)``, or ``(x, labels)`` for a conditional model."""
    return (x,) if labels is None else (x, labels)


@dataclass(frozen=True)
class GanPair:
    generator: nn.Module
    discriminator: nn.Module


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    kinds: frozenset[str]  # dataset kinds it accepts: "points" and/or "images"
    build: Callable[[Any, tuple[int, ...]], GanPair]  # (config, data_shape) -> GanPair
    # Config defaults for this model; a value may be a function of no arguments, called when a
    # config is made (a default that depends on JAX's backend must not start it at import).
    defaults: Mapping[str, Any] = field(default_factory=dict)
    image_size: int | None = None  # required H == W for image models (28 or 32); None = any
    uses_width: bool = False  # whether the ``width`` config multiplier applies
    # Whether K steps run inside one lax.scan. XLA:CPU runs convolutions about 4x slower inside
    # a while loop, so convolutional models dispatch one jitted step at a time instead.
    scan_steps: bool = True
    # How it trains: the name of a registered objective (ganplay.engine.objectives): "gan" (the
    # plain real/fake game), "sgan" (semi-supervised: D also classifies) or "cgan" (G and D
    # conditioned on the class). sgan and cgan need a labelled dataset.
    objective: str = "gan"
    # Which of D's and the networks' shape options (config fields ``spectral_norm``,
    # ``minibatch_std``, ``g_depth``, ``d_depth``, ``d_hidden``) this model builds; others are
    # refused when set away from their defaults.
    d_options: frozenset[str] = frozenset()

    def config_defaults(self) -> dict[str, Any]:
        """``defaults`` with every deferred value computed now."""
        return {k: v() if callable(v) else v for k, v in self.defaults.items()}


MODELS: Registry[ModelSpec] = Registry("model")
