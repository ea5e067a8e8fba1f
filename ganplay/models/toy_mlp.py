"""Seed 002's toy GAN: MLP generator and discriminator with two hidden ReLU layers."""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from ganplay.models.base import MODELS, GanPair, ModelSpec


class MLP(nn.Module):
    """``depth`` hidden ReLU layers of width ``hidden`` (seed 002: two), then a linear output of
    size ``out``."""

    hidden: int
    out: int
    depth: int = 2

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = x.reshape((x.shape[0], -1))
        for i in range(1, self.depth + 1):
            x = nn.relu(nn.Dense(self.hidden, name=f"hidden{i}")(x))
        return nn.Dense(self.out, name="out")(x)


class ToyDiscriminator(nn.Module):
    """Seed 002's D, optionally with spectral normalisation of every layer (Miyato et al. 2018)
    and a minibatch-stddev feature (Karras et al. 2018) before its output layer."""

    hidden: int
    depth: int = 2
    spectral_norm: bool = False
    minibatch_std: bool = False

    @nn.compact
    def __call__(self, x, train: bool = True):
        if not (self.spectral_norm or self.minibatch_std):  # seed 002's network, its parameter names
            return MLP(self.hidden, 1, self.depth, name="mlp")(x, train)[:, 0]
        h = x.reshape((x.shape[0], -1))
        for i in range(1, self.depth + 1):
            h = nn.relu(self._dense(self.hidden, f"hidden{i}", h, train))
        if self.minibatch_std:
            h = jnp.concatenate([h, jnp.broadcast_to(self._batch_std(h, train), (h.shape[0], 1))], axis=1)
        return self._dense(1, "out", h, train)[:, 0]

    def _dense(self, features: int, name: str, h, train: bool):
        layer = nn.Dense(features, name=name)
        if self.spectral_norm:  # σ(W) by one power iteration per training call; u in batch_stats
            return nn.SpectralNorm(layer, name=f"{name}_sn")(h, update_stats=train)
        return layer(h)

    def _batch_std(self, h, train: bool):
        """The batch's mean feature standard deviation: low for a collapsed generated batch. D
        judges one batch of one kind at a time; outside training (the views' single points) it
        uses a running average kept in batch_stats."""
        average = self.variable("batch_stats", "minibatch_std", lambda: jnp.zeros((), jnp.float32))
        if not train:
            return average.value
        # sqrt(var + ε) as Karras et al. (2018): jnp.std's gradient is infinite where a feature has
        # no spread (a dead ReLU unit), which turned R1's double backward into NaN at step 1.
        std = jnp.mean(jnp.sqrt(jnp.var(h, axis=0) + 1e-8))
        if not self.is_initializing():
            average.value = 0.99 * average.value + 0.01 * std
        return std


SEED_002_SETTINGS = {"z_dim": 256, "batch_size": 512, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5}


def build(config, data_shape) -> GanPair:
    return GanPair(
        generator=MLP(config.hidden, math.prod(data_shape), config.g_depth, name="generator"),
        discriminator=ToyDiscriminator(config.d_hidden or config.hidden, config.d_depth, config.spectral_norm,
                                       config.minibatch_std, name="discriminator"),
    )


MODELS.register(
    "toy-mlp",
    ModelSpec(
        name="toy-mlp",
        description="Seed 002: MLP G and D, 2 hidden ReLU layers (2-D toy data)",
        kinds=frozenset({"points"}),
        d_options=frozenset({"spectral_norm", "minibatch_std", "g_depth", "d_depth", "d_hidden"}),
        build=build,
        # Seed 002's network exactly. Its linked code trains with z 256, batch 512, Adam 2e-4
        # (SEED_002_SETTINGS); on ring8 that collapsed to 1 of 8 modes and costs ~4x the time per
        # step, so the playground's defaults are z 2, batch 256, Adam 1e-3 (beta1 0.5), which
        # captured 8/8 ring8 modes within 5,000 steps on seeds 0 and 1 (see the README).
        defaults={"z_dim": 2, "noise": "normal", "hidden": 128, "batch_size": 256,
                  "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.5, "label_smoothing": 0.0},
    ),
)
