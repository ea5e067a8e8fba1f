"""Keras 3 (JAX backend) peer: seed 004's models driven by ``train_on_batch`` as the seed does.

Per step, as in the seed's loop: a real batch drawn with NumPy, G's fake batch, then
``discriminator.train_on_batch`` on the real and on the fake batch and ``gan.train_on_batch`` on
fresh noise (the combined model, D frozen). Two departures, both in Keras' favour: fake images
come from ``predict_on_batch`` (the seed's ``predict`` adds a data adapter per call), and the
seed's second ``generator.predict`` before the G update, whose result it never uses, is left out.
One change keeps the seed's meaning: Keras 3 reads ``trainable`` at every call (Keras 2 fixed it
at ``compile``), so the seed's loop verbatim would never update D; ``run`` sets
``discriminator.trainable`` to True around D's updates and False around the combined model's
(each setting compiles once; both programs stay cached).
Adam takes ours' learning rates and betas (the seed keeps Keras' defaults; speed is the same).
"""
from __future__ import annotations

import importlib
import math
import os
import sys

import numpy as np

from ganplay.bench.workloads import PEER_INSTALL_HINT, PeerUnavailable


def _import_keras():
    """Keras on the JAX backend, or PeerUnavailable saying why not."""
    if "keras" not in sys.modules:
        # the backend is fixed at Keras' first import; the bench needs the one ours runs on
        os.environ["KERAS_BACKEND"] = "jax"
    try:
        keras = importlib.import_module("keras")
    except ImportError:
        raise PeerUnavailable(f"peer keras not installed: {PEER_INSTALL_HINT}") from None
    backend = keras.backend.backend()
    if backend != "jax":
        raise PeerUnavailable(
            f"peer keras runs on the {backend!r} backend in this process; "
            "run the bench with KERAS_BACKEND=jax"
        )
    return keras


class KerasGan:
    """Seed 004's compiled models and training loop, one GAN step per ``run`` call."""

    def __init__(self, keras, config, dataset):
        c = config
        self.config = c
        self.label = f"Keras {keras.__version__} train_on_batch (JAX)"
        shape = tuple(dataset.shape)
        layers = keras.layers
        keras.utils.set_random_seed(c.seed)
        self.generator = keras.Sequential([
            keras.Input((c.z_dim,)),
            layers.Dense(c.hidden),
            layers.LeakyReLU(negative_slope=0.01),
            layers.Dense(math.prod(shape), activation="tanh"),
            layers.Reshape(shape),
        ])
        self.discriminator = keras.Sequential([
            keras.Input(shape),
            layers.Flatten(),
            layers.Dense(c.hidden),
            layers.LeakyReLU(negative_slope=0.01),
            layers.Dense(1, activation="sigmoid"),
        ])

        def adam(lr):
            return keras.optimizers.Adam(learning_rate=lr, beta_1=c.beta1, beta_2=c.beta2)

        self.discriminator.compile(loss="binary_crossentropy", optimizer=adam(c.lr_d),
                                   metrics=["accuracy"])
        self.discriminator.trainable = False  # for the combined model (run switches it)
        self.gan = keras.Sequential([self.generator, self.discriminator])
        self.gan.compile(loss="binary_crossentropy", optimizer=adam(c.lr_g))
        # the seed's data: float images in [-1, 1], NumPy sampling, label arrays made once
        self.x_train = (dataset.images.astype(np.float32) / 127.5 - 1.0)
        self.rng = np.random.default_rng(c.seed)
        n = c.batch_size
        self.real = np.ones((n, 1), np.float32)
        self.fake = np.zeros((n, 1), np.float32)

    def parameter_count(self) -> int:
        return sum(
            math.prod(v.shape) for m in (self.generator, self.discriminator) for v in m.weights
        )

    def warmup(self) -> None:
        for _ in range(3):
            self.run()

    def _noise(self):
        return self.rng.standard_normal((self.config.batch_size, self.config.z_dim), np.float32)

    def run(self) -> int:
        idx = self.rng.integers(0, self.x_train.shape[0], self.config.batch_size)
        imgs = self.x_train[idx]
        gen_imgs = self.generator.predict_on_batch(self._noise())
        self.discriminator.trainable = True
        self.discriminator.train_on_batch(imgs, self.real)
        self.discriminator.train_on_batch(gen_imgs, self.fake)
        self.discriminator.trainable = False
        self.gan.train_on_batch(self._noise(), self.real)  # returns host floats: synchronous
        return 1


def build(config, dataset) -> KerasGan:
    """The Keras peer; only seed 004's gia-mlp has one."""
    keras = _import_keras()
    if config.model != "gia-mlp":
        raise PeerUnavailable(f"no keras peer for model {config.model!r}")
    return KerasGan(keras, config, dataset)
