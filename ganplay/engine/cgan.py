"""The conditional GAN game (Mirza & Osindero, 2014): G draws an image of a given class, D judges
whether an (image, class) pair is a real image of that class.

Real images come with their dataset labels; fake ones get classes drawn uniformly over the
dataset's classes. The networks see the class as a one-hot vector (see
:mod:`ganplay.models.cgan`); this trainer makes those vectors, so the class count comes from the
dataset alone. Losses, label smoothing, the learning rates and the divergence guard are the base
:class:`~ganplay.engine.train.Trainer`'s.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.config import Config
from ganplay.data import DATASETS
from ganplay.engine.objectives import (
    OBJECTIVES,
    DBatch,
    GBatch,
    Objective,
    adversarial_d_loss,
    adversarial_g_loss,
)
from ganplay.engine.train import Trainer, TrainState, check_compatible
from ganplay.errors import DataError
from ganplay.models import MODELS


class CganTrainer(Trainer):
    """A :class:`Trainer` whose G and D are conditioned on the class.

    ``generate`` and ``discriminate`` take optional class labels (int ``[B]``); without them each
    sample gets :meth:`display_labels`, so the base class's callers (the GUI's sample grid and
    D's scores under it, the quality metrics, the CLI's ``samples.npy``) work unchanged.
    """

    game = "cgan"

    def __init__(self, config: Config, dataset=None):
        # The dataset is loaded here, before the base class builds anything, so that unlabelled
        # data fails at once with a message about labels.
        check_compatible(config.model, config.dataset)
        if dataset is None:
            dataset = DATASETS.get(config.dataset).load(config, MODELS.get(config.model).image_size)
        title = getattr(dataset, "name", config.dataset)
        if getattr(dataset, "labels", None) is None or dataset.n_classes < 1:
            raise DataError(
                f"the conditional GAN {config.model!r} needs class labels, and {title} has none; "
                "choose a labelled dataset (mnist, fashion-mnist)"
            )
        self.n_classes = int(dataset.n_classes)
        super().__init__(config, dataset)

    # -- labels ---------------------------------------------------------------------------------
    def display_labels(self, n: int) -> np.ndarray:
        """int32 ``[n]`` classes cycling 0, 1, ..., K-1, 0, ...: what unlabelled calls draw."""
        return np.arange(n, dtype=np.int32) % self.n_classes

    def one_hot(self, labels) -> jax.Array:
        """float32 ``[B, K]`` one-hot vectors of int labels ``[B]``: the networks' class input."""
        return jax.nn.one_hot(labels, self.n_classes, dtype=jnp.float32)

    def _labels(self, labels, n: int):
        """int32 ``[n]`` labels: ``labels`` checked (shape; range, when known on the host), or
        the display labels. Jittable."""
        if labels is None:
            return jnp.arange(n, dtype=jnp.int32) % self.n_classes
        if not isinstance(labels, jax.core.Tracer):
            host = np.asarray(labels)
            if host.size and (host.min() < 0 or host.max() >= self.n_classes):
                raise ValueError(f"class labels must lie in 0..{self.n_classes - 1}, "
                                 f"got {host.min()}..{host.max()}")
        labels = jnp.asarray(labels, jnp.int32)
        if labels.shape != (n,):
            raise ValueError(f"{labels.shape} labels for {n} samples; expected shape ({n},)")
        return labels

    _condition = one_hot  # the networks see the class as a one-hot vector

    # -- public entry points --------------------------------------------------------------------
    def class_grid(self, state: TrainState, columns: int, z=None) -> tuple[np.ndarray, np.ndarray]:
        """One row per class, the same noise down each column (so a column shares its style).

        Returns ``(images, labels)``: float32 ``[K * columns, H, W, C]`` in [-1, 1], row-major
        (row r is class r), and their int32 classes. ``z`` ``[columns, z_dim]`` defaults to the
        run's fixed noise.
        """
        images, labels = self.class_grid_device(state, columns, z)
        return np.asarray(jax.device_get(images), np.float32), np.asarray(labels)

    def class_grid_device(self, state: TrainState, columns: int, z=None) -> tuple[jax.Array, jax.Array]:
        """``class_grid`` as device arrays, dispatched without waiting (for the window)."""
        columns = int(columns)
        z = self.fixed_noise(columns, salt=2) if z is None else jnp.asarray(z, jnp.float32)
        if z.shape != (columns, self.config.z_dim):
            raise ValueError(f"noise of shape {z.shape} for {columns} columns; expected "
                             f"({columns}, {self.config.z_dim})")
        labels = jnp.repeat(jnp.arange(self.n_classes, dtype=jnp.int32), columns)
        return self.generate(state, jnp.tile(z, (self.n_classes, 1)), labels), labels

    # -- the game's batches -----------------------------------------------------------------------
    def _fake_labels(self, key):
        """Classes for a batch of generated images, uniform over the dataset's classes."""
        return self._batch(jax.random.randint(key, (self.config.batch_size,), 0, self.n_classes))

    def _real_sample(self, data, key, n: int):
        images, labels = self.dataset.sample_labelled(data, key, n)
        return images, self.one_hot(labels)

    def _d_batch(self, state: TrainState, key, data) -> DBatch:
        """Real images with their own classes, G's images with classes drawn uniformly."""
        kx, ky, kz, kg, kd1, kd2 = jax.random.split(key, 6)
        real, y_real = self._batch(self._real_sample(data, kx, self.config.batch_size))
        y_fake = self.one_hot(self._fake_labels(ky))
        return DBatch(real, self._fakes(state, kz, kg, y_fake), keys=(kd1, kd2),
                      real_labels=y_real, fake_labels=y_fake)

    def _g_batch(self, state: TrainState, key, data) -> GBatch:
        kz, ky, kg, kd = jax.random.split(key, 4)
        z, y = self._batch(self.noise(kz, self.config.batch_size)), self.one_hot(self._fake_labels(ky))
        return GBatch(z, kg, kd, labels=y)


OBJECTIVES.register("cgan", Objective(
    name="cgan",
    summary="The conditional game (Mirza & Osindero 2014): G and D both see the class, D judges "
            "whether an image is a real one of its class.",
    trainer=CganTrainer,
    d_loss=adversarial_d_loss,
    g_loss=adversarial_g_loss,
))
