"""Semi-supervised GANs: a discriminator that is also a K-class classifier.

Two models, each with either head (``config.sgan_head``):

* ``sgan-mlp``, the CPU default: the fully connected D and G of Salimans et al. (2016), "Improved
  techniques for training GANs", for MNIST (their ``train_mnist_feature_matching.py``). D: Gaussian
  noise (std 0.3) on the input, dense 1000-500-250-250-250 (ReLU) with Gaussian noise (std 0.5)
  after every hidden layer, then a dense head; G: dense 500-500 (batch norm without scale,
  softplus), then a dense layer to the image; ``width`` scales the hidden layers (1.0: theirs).
  Why this model: matrix products are what a CPU does best, and with their weight norm it
  learns fast. Every dense layer of D and G's output layer are weight-normalised
  (W = g v / ||v||); D's start data-dependently (each unit's pre-activation at zero mean and unit
  variance over a batch of real images), and, as in their code, the scales ``g`` of D's hidden
  layers never train: D cannot inflate its features, which keeps feature matching, and G, in the
  game (with trained scales D won outright here and G's loss grew without bound). At width 0.5
  it reaches 93% test accuracy from 100 labels in 2-4 minutes on two cores and ~97% in under ten
  (``benchmarks/sgan_accuracy.py``). One difference: images are in [-1, 1] with a tanh output,
  so D maps them to their [0, 1] before the input noise (the same std, in their units).
* ``sgan64``: seed 003's 64x64 DCGAN-style pair, layer for layer (see :class:`Sgan64Discriminator`
  and :class:`Sgan64Generator`); ``width`` scales its channel counts for a CPU (1.0 is the seed).

The discriminator's ``__call__(x, train)`` returns a
:class:`~ganplay.models.base.DiscriminatorOutput` with all three parts: the real/fake logit, the
penultimate features ``[B, F]`` that feature matching compares, and the K class logits. Its last
layer gives head logits ``[B, K + 1]`` ("k+1") or ``[B, K]`` ("k"); how they become the real/fake
logit and the class logits is :func:`real_logit` and :func:`class_logits` (:func:`head_output`);
:func:`supervised_cross_entropy` is the supervised loss. Gaussian noise and dropout draw from the
``dropout`` RNG stream and act only when ``train=True``.

The heads:

* ``"k+1"`` (seed 003): logit 0 is the *fake* logit and logits 1..K the classes. The seed trains
  ``sigmoid_cross_entropy(logits[:, 0], 0)`` on real images and ``(..., 1)`` on generated ones,
  so ``sigmoid(logits[:, 0])`` is its p(fake) and p(real) = ``sigmoid(-logits[:, 0])``; its
  supervised loss is the (K+1)-way softmax cross-entropy with the label one-hot at index
  ``1 + y`` (the "extended label"). A class prediction is the argmax of logits 1..K.
* ``"k"`` (Salimans et al.): K class logits l, D(x) = Z / (Z + 1) with Z = sum exp(l), so the real
  logit is logsumexp(l); the supervised loss is the K-way softmax cross-entropy.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganplay.errors import ConfigError
from ganplay.models.base import MODELS, DiscriminatorOutput, GanPair, ModelSpec
from ganplay.models.conv_transpose import Conv, ConvTranspose
from ganplay.models.dcgan import Dropout, backend_width, scaled

HEADS = ("k+1", "k")


# -- heads ----------------------------------------------------------------------------------------
def head_size(n_classes: int, head: str) -> int:
    """Width of D's last layer: K + 1 logits ("k+1") or K ("k")."""
    _check_head(head)
    return n_classes + 1 if head == "k+1" else n_classes


def real_logit(head_logits: jax.Array, head: str) -> jax.Array:
    """``[B]`` logit of "real": ``sigmoid`` of it is D's p(real)."""
    _check_head(head)
    if head == "k+1":
        return -head_logits[:, 0]  # the seed's logit 0 is fake: p(real) = 1 - sigmoid(l0)
    return jax.nn.logsumexp(head_logits, axis=-1)  # Z / (Z + 1) = sigmoid(log Z)


def class_logits(head_logits: jax.Array, head: str) -> jax.Array:
    """``[B, K]`` logits of the K classes (argmax: the predicted class)."""
    _check_head(head)
    return head_logits[:, 1:] if head == "k+1" else head_logits


def head_output(head_logits: jax.Array, features: jax.Array, head: str) -> DiscriminatorOutput:
    """D's output from its last layer's logits and its features."""
    return DiscriminatorOutput(real_logit(head_logits, head), features, class_logits(head_logits, head))


def head_logits(out: DiscriminatorOutput, head: str) -> jax.Array:
    """The last layer's logits back from D's output ("k+1": the fake logit is minus the real one,
    exactly)."""
    _check_head(head)
    if head == "k+1":
        return jnp.concatenate([-out.logit[:, None], out.class_logits], axis=-1)
    return out.class_logits


def supervised_cross_entropy(out: DiscriminatorOutput, labels: jax.Array, head: str) -> jax.Array:
    """``[B]`` cross-entropy of the true classes ``labels`` (int, 0..K-1) from D's output.

    "k+1": seed 003's (K+1)-way softmax with the target at ``1 + label``; "k": the K-way softmax.
    """
    target = labels + 1 if head == "k+1" else labels
    log_p = jax.nn.log_softmax(head_logits(out, head), axis=-1)
    return -jnp.take_along_axis(log_p, target[:, None].astype(jnp.int32), axis=-1)[:, 0]


def _check_head(head: str) -> None:
    if head not in HEADS:
        raise ConfigError(f"sgan_head={head!r} is not allowed; choose one of: {', '.join(HEADS)}")


# -- sgan-mlp (Salimans et al. 2016, MNIST) -------------------------------------------------------
class WeightNormDense(nn.Module):
    """Dense layer with weight normalisation, ``y = (x v / ||v||) * g + b`` (||v|| per unit).

    With ``data_init``, initialising on a batch sets ``g`` and ``b`` so that each unit's output
    has zero mean and unit variance over that batch (Salimans & Kingma 2016, as Salimans et al.'s
    MNIST model does); a constant batch (zeros, as in a shape-only init) leaves ``g = 1, b = 0``.
    Without ``train_scale``, ``g`` keeps its initial value (its gradient is zero), so each unit's
    weight vector keeps its length: the layer cannot scale its outputs up.
    """

    features: int
    data_init: bool = True
    train_scale: bool = True

    @nn.compact
    def __call__(self, x):
        v = self.param("kernel", nn.initializers.normal(0.1), (x.shape[-1], self.features))
        y = x @ (v / jnp.sqrt(jnp.sum(jnp.square(v), axis=0) + 1e-12))
        scale_init, bias_init = nn.initializers.ones, nn.initializers.zeros
        if self.data_init and self.is_initializing():
            mean = jnp.mean(y, axis=0)
            var = jnp.mean(jnp.square(y - mean), axis=0)
            inv_std = jnp.where(var > 1e-10, jax.lax.rsqrt(jnp.maximum(var, 1e-10)), 1.0)

            def scale_init(key, shape, dtype=jnp.float32):
                return inv_std.astype(dtype)

            def bias_init(key, shape, dtype=jnp.float32):
                return (-mean * inv_std).astype(dtype)

        g = self.param("scale", scale_init, (self.features,))
        if not self.train_scale:
            g = jax.lax.stop_gradient(g)
        b = self.param("bias", bias_init, (self.features,))
        return y * g + b


class SganMlpDiscriminator(nn.Module):
    """Salimans et al.'s MNIST D: noise, 5 weight-normed ReLU layers with noise between, a head."""

    hidden: Sequence[int]
    n_out: int  # head logits: K + 1 or K
    head: str = "k"  # how the head logits read (HEADS)
    input_noise: float = 0.3  # std, in [0, 1] pixel units
    hidden_noise: float = 0.5

    # The trainer initialises this D on real images (its weight norm's data-dependent start).
    data_dependent_init = True

    @nn.compact
    def __call__(self, x, train: bool = True):
        x = (x.reshape((x.shape[0], -1)) + 1.0) * 0.5  # [-1, 1] -> their [0, 1]
        widths = (x.shape[-1], *self.hidden)
        if train:
            # All of a pass's Gaussian noise in one draw (the ``dropout`` stream), sliced per
            # layer: one RNG call instead of six compiles faster on XLA:CPU (a scanned step at
            # width 0.0625: 9.5 -> 7.9 s).
            noise = jax.random.normal(self.make_rng("dropout"), (x.shape[0], sum(widths)), x.dtype)
            stds = (self.input_noise,) + (self.hidden_noise,) * len(self.hidden)
            ends = np.cumsum(widths)
            noises = [std * noise[:, end - w:end] for std, w, end in zip(stds, widths, ends)]
        else:
            noises = [None] * len(widths)
        x = x if noises[0] is None else x + noises[0]
        features = x
        for i, (units, noise) in enumerate(zip(self.hidden, noises[1:])):
            features = nn.relu(WeightNormDense(units, train_scale=False, name=f"dense{i + 1}")(x))
            x = features if noise is None else features + noise
        # The features are the last hidden layer's activations before its noise (their
        # layers[-3]), which is what G's feature matching compares.
        logits = WeightNormDense(self.n_out, name="head")(x)
        return head_output(logits, features, self.head)


class SganMlpGenerator(nn.Module):
    """z -> 2 x (dense, batch norm without scale, softplus) -> weight-normed dense -> tanh."""

    hidden: Sequence[int]
    data_shape: tuple[int, ...]

    @nn.compact
    def __call__(self, z, train: bool = True):
        x = z
        for i, units in enumerate(self.hidden):
            x = nn.Dense(units, use_bias=False, name=f"dense{i + 1}")(x)
            # Their nn.batch_norm: running averages updated with weight 0.1, epsilon 1e-6, no scale
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-6,
                             use_scale=False, name=f"bn{i + 1}")(x)
            x = nn.softplus(x)
        x = WeightNormDense(math.prod(self.data_shape), data_init=False, name="out")(x)
        return jnp.tanh(x).reshape((z.shape[0], *self.data_shape))


MLP_D_HIDDEN = (1000, 500, 250, 250, 250)
MLP_G_HIDDEN = (500, 500)


def _units(units: int, width: float) -> int:
    # Exact at width 1.0 (Salimans et al.'s 1000-500-250: not multiples of 8, so not ``scaled``).
    return max(4, round(units * width))


def build_mlp(config, data_shape, n_classes: int = 10) -> GanPair:
    """``sgan-mlp`` for any image shape; ``width`` scales every hidden layer (1.0: Salimans')."""
    n_out = head_size(n_classes, config.sgan_head)
    return GanPair(
        generator=SganMlpGenerator(tuple(_units(u, config.width) for u in MLP_G_HIDDEN),
                                   tuple(data_shape), name="generator"),
        discriminator=SganMlpDiscriminator(tuple(_units(u, config.width) for u in MLP_D_HIDDEN),
                                           n_out, config.sgan_head, name="discriminator"),
    )


# -- sgan64 (seed 003) --------------------------------------------------------------------------
# tf.layers' defaults, which the seed keeps: glorot-uniform kernels, zero biases; batch norm
# momentum 0.99, epsilon 1e-3; tf.nn.leaky_relu's slope 0.2. tf.nn.dropout(x, 0.7) is TF1's
# keep_prob: rate 0.3.
_GLOROT = nn.initializers.xavier_uniform()
SEED_003_DROPOUT = 0.3
SEED_003_SLOPE = 0.2


def _seed_batch_norm(train: bool, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3, name=name)


class Sgan64Discriminator(nn.Module):
    """Seed 003's D, 64x64 -> 32 -> 16 -> 4 -> 2, then global average pooling and 1 + K logits.

    conv 128 k4 s2 SAME, lrelu, dropout (no batch norm on the input layer); conv 256 k4 s2,
    lrelu, BN, dropout; conv 512 k4 s4, lrelu, BN, dropout; conv 1024 k3 s1 VALID, lrelu (no BN
    and no dropout: these are the feature-matching features, after the average pool).
    """

    width: float
    n_out: int
    head: str = "k+1"  # how the head logits read (HEADS)

    @nn.compact
    def __call__(self, x, train: bool = True):
        def block(x, i, channels, kernel, stride, padding, bn, dropout):
            x = Conv(scaled(channels, self.width), kernel, strides=stride, padding=padding,
                     kernel_init=_GLOROT, name=f"conv{i}")(x)
            x = nn.leaky_relu(x, SEED_003_SLOPE)
            if bn:
                x = _seed_batch_norm(train, f"bn{i}")(x)
            if dropout:
                x = Dropout(SEED_003_DROPOUT, deterministic=not train)(x)
            return x

        x = block(x, 1, 128, 4, 2, "SAME", bn=False, dropout=True)
        x = block(x, 2, 256, 4, 2, "SAME", bn=True, dropout=True)
        x = block(x, 3, 512, 4, 4, "SAME", bn=True, dropout=True)
        x = block(x, 4, 1024, 3, 1, "VALID", bn=False, dropout=False)
        features = jnp.mean(x, axis=(1, 2))  # global average pooling
        logits = nn.Dense(self.n_out, kernel_init=_GLOROT, name="logits")(features)
        return head_output(logits, features, self.head)


class Sgan64Generator(nn.Module):
    """Seed 003's G: z as a 1x1 map -> 4 -> 16 -> 32 -> 64, tanh.

    convT 512 k4 s1 VALID; convT 256 k4 s4 SAME; convT 128 k4 s2 SAME; each ReLU, then batch
    norm, then dropout (keep 0.7); convT to the image's channels k4 s2 SAME, tanh.
    """

    width: float
    channels: int

    @nn.compact
    def __call__(self, z, train: bool = True):
        x = z.reshape((z.shape[0], 1, 1, z.shape[-1]))
        for i, (features, stride, padding) in enumerate(
            ((512, 1, "VALID"), (256, 4, "SAME"), (128, 2, "SAME")), start=1
        ):
            x = ConvTranspose(scaled(features, self.width), 4, stride, padding,
                              kernel_init=_GLOROT, name=f"deconv{i}")(x)
            x = _seed_batch_norm(train, f"bn{i}")(nn.relu(x))
            x = Dropout(SEED_003_DROPOUT, deterministic=not train)(x)
        x = ConvTranspose(self.channels, 4, 2, "SAME", kernel_init=_GLOROT, name="deconv4")(x)
        return jnp.tanh(x)


def build_sgan64(config, data_shape, n_classes: int = 10) -> GanPair:
    if len(data_shape) != 3 or tuple(data_shape[:2]) != (64, 64):
        raise ConfigError(f"this model needs 64x64 images, got data of shape {tuple(data_shape)}")
    return GanPair(
        generator=Sgan64Generator(config.width, data_shape[-1], name="generator"),
        discriminator=Sgan64Discriminator(config.width, head_size(n_classes, config.sgan_head),
                                          config.sgan_head, name="discriminator"),
    )


MODELS.register(
    "sgan-mlp",
    ModelSpec(
        name="sgan-mlp",
        description="Semi-supervised GAN, Salimans et al. 2016's MNIST MLPs (weight norm, "
                    "feature matching); D classifies",
        kinds=frozenset({"images"}),
        build=build_mlp,
        # Salimans et al.: batch 100, z 100 ~ uniform, Adam with beta1 0.5, G trained by feature
        # matching alone (adv_weight 0), 10 labels per class. Tuned for a 2-core CPU on the
        # offline MNIST (benchmarks/sgan_accuracy.py): width 0.5 (D 500-250-125-125-125, G
        # 250-250) halves the step time and still reaches 97%; lr_g 1e-3, as their older script
        # (their 3e-3 collapsed G to one saturated image within 50 steps here); lr_d 2e-3 reached
        # 93% in 4,500 steps where 1e-3 took 5,500.
        defaults={"z_dim": 100, "noise": "uniform", "batch_size": 100, "lr_g": 1e-3,
                  "lr_d": 2e-3, "beta1": 0.5, "label_smoothing": 0.0, "width": 0.5,
                  "sgan_head": "k", "labels_per_class": 10, "adv_weight": 0.0, "fm_weight": 1.0},
        image_size=28,
        uses_width=True,
        scan_steps=True,
        objective="sgan",
    ),
)

MODELS.register(
    "sgan64",
    ModelSpec(
        name="sgan64",
        description="Seed 003: semi-supervised DCGAN for 64x64 images (MNIST resized), "
                    "1 + K softmax head",
        kinds=frozenset({"images"}),
        build=build_sgan64,
        # Seed 003: z ~ N(0, 1), 20% of the labels, D loss = supervised + real + fake, G loss =
        # fake-is-real + feature matching. Its batch size, z size and optimiser are not in the
        # seed's text: 100 (its "latent"), batch 64 and the DCGAN paper's Adam(2e-4, 0.5).
        defaults={"z_dim": 100, "noise": "normal", "batch_size": 64, "lr_g": 2e-4,
                  "lr_d": 2e-4, "beta1": 0.5, "label_smoothing": 0.0,
                  "width": backend_width, "sgan_head": "k+1",
                  "label_fraction": 0.2, "labels_per_class": 0, "adv_weight": 1.0,
                  "fm_weight": 1.0},
        image_size=64,
        uses_width=True,
        scan_steps=False,
        objective="sgan",
    ),
)
