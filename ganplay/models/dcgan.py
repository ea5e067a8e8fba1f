"""The seed DCGANs as one family: ``dcgan28`` (seed 000, MNIST) and ``dcgan32`` (seed 001, SVHN).

Both are a dense projection to 4x4, three transposed convolutions up to the image (tanh), and a
discriminator of three stride-2 convolutions back down to 4x4, flattened into one logit. They
differ only in the numbers collected in :class:`Architecture`. ``width`` scales every channel
count, so that a CPU can train a smaller version interactively (see :func:`default_width`).
The convolutions are :mod:`ganplay.models.conv_transpose`'s drop-ins for flax's, whose
gradients are 10-50x faster on XLA:CPU.

Batch norm follows TF1's ``tf.layers.batch_normalization`` (momentum 0.99, epsilon 1e-3) and the
engine's ``train`` flag: batch statistics when ``train=True``, running averages otherwise. Seed
000's discriminator passes ``training=True`` to its batch norms always; every training step here
also runs D with ``train=True``, so real and fake batches are each normalised by their own
statistics exactly as in the seed; only evaluation (``train=False``) differs. Seed 000 also
keeps dropout on when sampling; here dropout is active only when ``train=True``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganplay.errors import ConfigError
from ganplay.models.base import MODELS, GanPair, ModelSpec
from ganplay.models.conv_transpose import Conv, ConvTranspose


@dataclass(frozen=True)
class Architecture:
    """What distinguishes one seed DCGAN from another (channel counts at width 1.0)."""

    image_size: int
    g_channels: tuple[int, int, int]  # the 4x4 projection, then the first two transposed convs
    g_convs: tuple[tuple[int, int, str], ...]  # (kernel, stride, padding) of the 3 transposed convs
    g_slope: float  # LeakyReLU slope in G; 0.0 means ReLU
    d_channels: tuple[int, int, int]  # the three stride-2 convolutions
    d_kernel: int
    d_slope: float  # LeakyReLU slope in D
    dropout: float  # rate after every hidden layer of G and D (0.0: none)
    kernel_init: Callable


SEED_000 = Architecture(
    image_size=28,
    g_channels=(512, 256, 128),
    g_convs=((4, 1, "VALID"), (3, 2, "SAME"), (3, 2, "SAME")),  # 4 -> 7 -> 14 -> 28
    g_slope=0.01,
    d_channels=(128, 256, 512),  # 28 -> 14 -> 7 -> 4
    d_kernel=3,
    d_slope=0.01,
    dropout=0.2,  # tf.nn.dropout(keep_prob=0.8)
    kernel_init=nn.initializers.xavier_uniform(),  # the tf.layers default (glorot uniform)
)

SEED_001 = Architecture(
    image_size=32,
    g_channels=(512, 256, 128),
    g_convs=((5, 2, "SAME"),) * 3,  # 4 -> 8 -> 16 -> 32
    g_slope=0.0,
    d_channels=(64, 128, 256),  # 32 -> 16 -> 8 -> 4
    d_kernel=5,
    d_slope=0.2,
    dropout=0.0,
    kernel_init=nn.initializers.normal(stddev=0.02),  # seed 001 / the DCGAN paper
)


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 8, at least 8 (width 1.0: the seed's own)."""
    return max(8, int(round(channels * width / 8)) * 8)


def _batch_norm(train: bool, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3, name=name)


def _activation(x, slope: float):
    return nn.leaky_relu(x, slope) if slope else nn.relu(x)


class Dropout(nn.Module):
    """``flax.linen.Dropout``: the same RNG stream and the same masks, bit for bit.

    On the CPU backend JAX lowers its threefry hash as a 5-iteration loop (to keep compiles
    short), which XLA:CPU runs as separate passes over memory: at width 1 seed 000's 15 dropout
    masks per step cost ~100 ms of a 700 ms step. :func:`_threefry_bernoulli` is the same hash
    unrolled, which XLA fuses into the select (that step: 699 -> 599 ms). Other backends and key
    types take ``jax.random.bernoulli``, as flax does. Named ``Dropout`` so that its automatic
    module names, and with them the RNG streams, are flax's.
    """

    rate: float
    deterministic: bool = False

    @nn.compact
    def __call__(self, x):
        if self.deterministic or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        rng = self.make_rng("dropout")
        if _unrolled_threefry_applies(rng):
            mask = _threefry_bernoulli(rng, keep, x.shape)
        else:
            mask = jax.random.bernoulli(rng, p=keep, shape=x.shape)
        return jax.lax.select(mask, x / keep, jnp.zeros_like(x))


def _unrolled_threefry_applies(rng) -> bool:
    # raw uint32[2] threefry keys, JAX's "partitionable" bit layout (its default since 0.5)
    return (
        jax.default_backend() == "cpu"
        and jax.config.jax_threefry_partitionable
        and jax.config.jax_default_prng_impl == "threefry2x32"
        and rng.dtype == jnp.uint32
        and rng.shape == (2,)
    )


def _threefry_bernoulli(key, p: float, shape) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)`` (float32 uniform < p), with the hash unrolled.

    As JAX does it: the counter of element ``n`` (row-major) is the pair ``(0, n)`` (sizes
    below 2**32), its 32 random bits are the xor of threefry2x32's two output words, and the top
    23 of them are the mantissa of a float in [1, 2), minus 1.
    """
    size = math.prod(shape)
    if size >= 2**32:
        return jax.random.bernoulli(key, p=p, shape=shape)
    counts = jax.lax.iota(jnp.uint32, size).reshape(shape)
    bits1, bits2 = _threefry2x32(key[0], key[1], jnp.zeros_like(counts), counts)
    float_bits = ((bits1 ^ bits2) >> np.uint32(9)) | np.array(1.0, np.float32).view(np.uint32)
    uniform = jax.lax.bitcast_convert_type(float_bits, jnp.float32) - np.float32(1.0)
    return uniform < np.float32(p)


def _threefry2x32(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) exactly as ``jax._src.random.threefry2x32``."""
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x0, x1 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = x0 + x1
            x1 = (x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))
            x1 = x0 ^ x1
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


class DcganGenerator(nn.Module):
    """z -> dense 4x4xC0 -> BN, act -> 2 x (convT, BN, act) -> convT to ``channels`` -> tanh."""

    arch: Architecture
    width: float
    channels: int  # of the image

    @nn.compact
    def __call__(self, z, train: bool = True):
        a = self.arch
        c0, c1, c2 = (scaled(c, self.width) for c in a.g_channels)

        def hidden(x, i):
            x = _activation(_batch_norm(train, f"bn{i}")(x), a.g_slope)
            return Dropout(a.dropout, deterministic=not train)(x) if a.dropout else x

        x = nn.Dense(4 * 4 * c0, kernel_init=a.kernel_init, name="project")(z)
        x = hidden(x.reshape((z.shape[0], 4, 4, c0)), 0)
        for i, (features, (kernel, stride, padding)) in enumerate(
            zip((c1, c2, self.channels), a.g_convs), start=1
        ):
            x = ConvTranspose(
                features, kernel, stride, padding, kernel_init=a.kernel_init, name=f"deconv{i}"
            )(x)
            if i < len(a.g_convs):
                x = hidden(x, i)
        return jnp.tanh(x)


class DcganDiscriminator(nn.Module):
    """3 x (stride-2 conv, BN except the first, LeakyReLU) -> flatten -> dense 1 logit.

    With ``spectral_norm`` (SN-DCGAN, Miyato et al. 2018): every layer's kernel is divided by its
    largest singular value (one power iteration per training call, ``u`` kept in batch_stats) and
    D has no batch norm, as in the paper's SN discriminators. D then judges each sample on its own
    (batch norm made a sample's logit depend on its batch), which also lets R1 apply cleanly.
    """

    arch: Architecture
    width: float
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x, train: bool = True):
        a = self.arch
        for i, channels in enumerate(a.d_channels, start=1):
            conv = Conv(
                scaled(channels, self.width),
                a.d_kernel,
                strides=2,
                padding="SAME",
                kernel_init=a.kernel_init,
                name=f"conv{i}",
            )
            x = self._layer(conv, x, train)
            if i > 1 and not self.spectral_norm:  # the seeds leave batch norm out of D's input layer
                x = _batch_norm(train, f"bn{i}")(x)
            x = nn.leaky_relu(x, a.d_slope)
            if a.dropout:
                x = Dropout(a.dropout, deterministic=not train)(x)
        x = x.reshape((x.shape[0], -1))
        return self._layer(nn.Dense(1, kernel_init=a.kernel_init, name="logit"), x, train)[:, 0]

    def _layer(self, layer: nn.Module, x, train: bool):
        if not self.spectral_norm:  # the seed's network, its parameter names
            return layer(x)
        return nn.SpectralNorm(layer, name=f"{layer.name}_sn")(x, update_stats=train)


def default_width(platform: str) -> float:
    """The default ``width`` on a JAX platform ("cpu", "gpu", "cuda", "rocm", "tpu").

    With an accelerator, the seed's full model. On CPU, 0.25: the aim was the largest of the
    widths 1, 0.5 and 0.25 whose whole training step (D and G updates, batch 64) stays near 60 ms,
    i.e. ~15 steps/s. Measured on 2 shared cores none reached that and 0.25 came closest
    (dcgan28 80-130 ms, dcgan32 110-150 ms; width 0.5: 220-480 ms; width 1: 0.7-1.6 s).
    """
    return 1.0 if platform != "cpu" else 0.25


def _builder(arch: Architecture):
    def build(config, data_shape) -> GanPair:
        size = arch.image_size
        if len(data_shape) != 3 or tuple(data_shape[:2]) != (size, size):
            raise ConfigError(
                f"this model needs {size}x{size} images, "
                f"got data of shape {tuple(data_shape)}"
            )
        return GanPair(
            generator=DcganGenerator(arch, config.width, data_shape[-1], name="generator"),
            discriminator=DcganDiscriminator(arch, config.width, config.spectral_norm, name="discriminator"),
        )

    return build


def backend_width() -> float:
    """The default width on the backend JAX runs on (asked when a config is made, so that importing
    the models starts no backend: a distributed run must meet its peers first)."""
    return default_width(jax.default_backend())


MODELS.register(
    "dcgan28",
    ModelSpec(
        name="dcgan28",
        description="Seed 000: DCGAN for 28x28 images (MNIST), LeakyReLU 0.01, dropout 0.2",
        kinds=frozenset({"images"}),
        build=_builder(SEED_000),
        # batch 64, z 100 ~ U(-1,1), TF Adam(1e-3) with its default beta1 0.9, label smoothing
        # 0.1 on the real labels and on G's target
        defaults={"z_dim": 100, "noise": "uniform", "batch_size": 64, "lr_g": 1e-3,
                  "lr_d": 1e-3, "beta1": 0.9, "label_smoothing": 0.1, "smooth_g_target": True,
                  "width": backend_width},
        image_size=28,
        uses_width=True,
        scan_steps=False,
        d_options=frozenset({"spectral_norm"}),
    ),
)

MODELS.register(
    "dcgan32",
    ModelSpec(
        name="dcgan32",
        description="Seed 001: DCGAN for 32x32 images (SVHN), 5x5 kernels, ReLU G, LeakyReLU 0.2 D",
        kinds=frozenset({"images"}),
        build=_builder(SEED_001),
        # z ~ N(0,1), label smoothing 0.1 (seed 001); Adam 2e-4, beta1 0.5 (DCGAN paper). The
        # seed does not state a batch size (the DCGAN paper used 128); 64 keeps CPU steps short.
        defaults={"z_dim": 100, "noise": "normal", "batch_size": 64, "lr_g": 2e-4,
                  "lr_d": 2e-4, "beta1": 0.5, "label_smoothing": 0.1, "width": backend_width},
        image_size=32,
        uses_width=True,
        scan_steps=False,
        d_options=frozenset({"spectral_norm"}),
    ),
)
