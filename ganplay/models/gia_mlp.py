"""Seed 004 ("GANs in Action", ch. 3): the simplest image GAN, one hidden layer in G and in D."""
from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from ganplay.models.base import MODELS, GanPair, ModelSpec

# Keras' Dense default initialiser (the seed's code keeps every default).
_glorot = nn.initializers.xavier_uniform()


class MlpGenerator(nn.Module):
    """z -> Dense(hidden) -> LeakyReLU(0.01) -> Dense(prod(data_shape)) -> tanh -> data_shape."""

    hidden: int
    data_shape: tuple[int, ...]

    @nn.compact
    def __call__(self, z, train: bool = True):
        x = nn.leaky_relu(nn.Dense(self.hidden, kernel_init=_glorot, name="hidden")(z), 0.01)
        x = nn.Dense(math.prod(self.data_shape), kernel_init=_glorot, name="out")(x)
        return jnp.tanh(x).reshape((z.shape[0], *self.data_shape))


class MlpDiscriminator(nn.Module):
    """flatten -> Dense(hidden) -> LeakyReLU(0.01) -> Dense(1): one logit per sample."""

    hidden: int

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = x.reshape((x.shape[0], -1))
        x = nn.leaky_relu(nn.Dense(self.hidden, kernel_init=_glorot, name="hidden")(x), 0.01)
        return nn.Dense(1, kernel_init=_glorot, name="logit")(x)[:, 0]


def build(config, data_shape) -> GanPair:
    return GanPair(
        generator=MlpGenerator(config.hidden, tuple(data_shape), name="generator"),
        discriminator=MlpDiscriminator(config.hidden, name="discriminator"),
    )


MODELS.register(
    "gia-mlp",
    ModelSpec(
        name="gia-mlp",
        description="Seed 004 (GANs in Action ch. 3): MLP G and D, one hidden LeakyReLU layer",
        kinds=frozenset({"images"}),
        build=build,
        # z 100 ~ N(0,1), batch 128, Adam lr 1e-3, hard labels, as the seed. The seed keeps Keras'
        # beta1 0.9; on the offline 10k MNIST that gave noisy blobs after 5,000 steps, while
        # beta1 0.5 gave recognisable digits (README), so beta1 0.5 is the default here.
        defaults={"z_dim": 100, "noise": "normal", "hidden": 128, "batch_size": 128,
                  "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.5, "label_smoothing": 0.0},
    ),
)
