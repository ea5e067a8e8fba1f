"""Seed 002's toy GAN: MLP generator and discriminator with two hidden ReLU layers."""
from __future__ import annotations

import math

import flax.linen as nn

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
    hidden: int
    depth: int = 2

    @nn.compact
    def __call__(self, x, train: bool = True):
        return MLP(self.hidden, 1, self.depth, name="mlp")(x, train)[:, 0]


SEED_002_SETTINGS = {"z_dim": 256, "batch_size": 512, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5}


def build(config, data_shape) -> GanPair:
    return GanPair(
        generator=MLP(config.hidden, math.prod(data_shape), config.g_depth, name="generator"),
        discriminator=ToyDiscriminator(config.d_hidden or config.hidden, config.d_depth, name="discriminator"),
    )


MODELS.register(
    "toy-mlp",
    ModelSpec(
        name="toy-mlp",
        description="Seed 002: MLP G and D, 2 hidden ReLU layers (2-D toy data)",
        kinds=frozenset({"points"}),
        build=build,
        # Seed 002's network exactly. Its linked code trains with z 256, batch 512, Adam 2e-4
        # (SEED_002_SETTINGS); on ring8 that collapsed to 1 of 8 modes and costs ~4x the time per
        # step, so the playground's defaults are z 2, batch 256, Adam 1e-3 (beta1 0.5), which
        # captured 8/8 ring8 modes within 5,000 steps on seeds 0 and 1 (see the README).
        defaults={"z_dim": 2, "noise": "normal", "hidden": 128, "batch_size": 256,
                  "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.5, "label_smoothing": 0.0},
    ),
)
