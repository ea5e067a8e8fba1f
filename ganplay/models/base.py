"""What a model is, as far as the engine is concerned.

A model is a pair of Flax linen modules plus metadata. The engine owns everything else (losses,
optimizers, the jitted multi-step scan), so a new model is one file with one ``MODELS.register``.

Conventions every model follows:

* ``generator(z, train=...)`` maps noise ``[B, z_dim]`` to samples ``[B, *data_shape]``
  (2-D points for toy models, ``H x W x C`` images in [-1, 1] via tanh for image models).
* ``discriminator(x, train=...)`` maps samples to real/fake **logits** of shape ``[B]``.
* Batch norm keeps running averages in the ``batch_stats`` collection (batch statistics while
  training, running averages when ``train=False``); dropout draws from the ``dropout`` RNG stream
  and is active only when ``train=True``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import flax.linen as nn

from ganplay.registry import Registry


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
    defaults: Mapping[str, Any] = field(default_factory=dict)  # config defaults for this model
    image_size: int | None = None  # required H == W for image models (28 or 32); None = any
    uses_width: bool = False  # whether the ``width`` config multiplier applies
    # Whether K steps run inside one lax.scan. XLA:CPU runs convolutions about 4x slower inside
    # a while loop, so convolutional models dispatch one jitted step at a time instead.
    scan_steps: bool = True
    # How it trains: "gan" (the plain real/fake game, ganplay.engine.train.Trainer), "sgan"
    # (semi-supervised: D also classifies, ganplay.engine.sgan) or "cgan" (G and D conditioned on
    # the class, ganplay.engine.cgan). sgan and cgan need a labelled dataset.
    objective: str = "gan"


MODELS: Registry[ModelSpec] = Registry("model")
