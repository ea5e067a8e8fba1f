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
import optax

from ganplay.config import Config
from ganplay.data import DATASETS
from ganplay.engine.train import Trainer, TrainState, _bce, check_compatible, d_metrics, initial_hyper
from ganplay.errors import DataError
from ganplay.models import MODELS


class CganTrainer(Trainer):
    """A :class:`Trainer` whose G and D are conditioned on the class.

    ``generate`` and ``discriminate`` take optional class labels (int ``[B]``); without them each
    sample gets :meth:`display_labels`, so the base class's callers (the GUI's sample grid and
    D's scores under it, the quality metrics, the CLI's ``samples.npy``) work unchanged.
    """

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

    def _labels_or_display(self, labels, n: int):
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

    # -- public entry points --------------------------------------------------------------------
    def generate(self, state: TrainState, z, labels=None) -> jax.Array:
        """G(z | class) in inference mode; ``labels`` int ``[B]``, default :meth:`display_labels`."""
        return self._generate(state, z, self._labels_or_display(labels, len(z)))

    def discriminate(self, state: TrainState, x, labels=None) -> jax.Array:
        """D's probability that each x is a real image of its class (default
        :meth:`display_labels`), in inference mode."""
        return self._discriminate(state, x, self._labels_or_display(labels, len(x)))

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

    # -- implementation --------------------------------------------------------------------------
    def _init_impl(self) -> TrainState:
        c = self.config
        key = jax.random.PRNGKey(c.seed)
        key, kg, kd = jax.random.split(key, 3)
        z = jnp.zeros((2, c.z_dim), jnp.float32)
        x = jnp.zeros((2, *self.data_shape), jnp.float32)
        y = self.one_hot(jnp.zeros((2,), jnp.int32))
        g_vars = self.pair.generator.init({"params": kg, "dropout": kg}, z, y, train=False)
        d_vars = self.pair.discriminator.init({"params": kd, "dropout": kd}, x, y, train=False)
        g_params, d_params = g_vars["params"], d_vars["params"]
        return TrainState(
            step=jnp.int32(0),
            key=key,
            g_params=g_params,
            d_params=d_params,
            g_stats=g_vars.get("batch_stats", {}),
            d_stats=d_vars.get("batch_stats", {}),
            g_opt=self.g_tx.init(g_params),
            d_opt=self.d_tx.init(d_params),
            hyper=initial_hyper(c),
            finite=jnp.bool_(True),
        )

    def _generate_impl(self, state, z, labels=None):
        labels = self._labels_or_display(labels, z.shape[0])
        return self.pair.generator.apply(
            {"params": state.g_params, "batch_stats": state.g_stats}, z, self.one_hot(labels),
            train=False,
        )

    def _discriminate_impl(self, state, x, labels=None):
        labels = self._labels_or_display(labels, x.shape[0])
        logits = self.pair.discriminator.apply(
            {"params": state.d_params, "batch_stats": state.d_stats}, x, self.one_hot(labels),
            train=False,
        )
        return jax.nn.sigmoid(logits)

    def _g_forward(self, g_params, g_stats, z, y, key):
        out, mut = self.pair.generator.apply(
            {"params": g_params, "batch_stats": g_stats}, z, y, train=True,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )
        return out, mut.get("batch_stats", g_stats)

    def _d_forward(self, d_params, d_stats, x, y, key):
        logits, mut = self.pair.discriminator.apply(
            {"params": d_params, "batch_stats": d_stats}, x, y, train=True,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )
        return logits, mut.get("batch_stats", d_stats)

    def _fake_labels(self, key):
        """Classes for a batch of generated images, uniform over the dataset's classes."""
        return self._batch(jax.random.randint(key, (self.config.batch_size,), 0, self.n_classes))

    def _d_update(self, state: TrainState, key, data):
        c = self.config
        kx, ky, kz, kg, kd1, kd2 = jax.random.split(key, 6)
        real, real_labels = self._batch(self.dataset.sample_labelled(data, kx, c.batch_size))
        y_real, y_fake = self.one_hot(real_labels), self.one_hot(self._fake_labels(ky))
        z = self._batch(self.noise(kz, c.batch_size))
        fake, _ = self._g_forward(state.g_params, state.g_stats, z, y_fake, kg)
        fake = self._batch(jax.lax.stop_gradient(fake))
        smooth = state.hyper["label_smoothing"]

        def loss_fn(d_params):
            lr_, stats = self._d_forward(d_params, state.d_stats, real, y_real, kd1)
            lf, stats = self._d_forward(d_params, stats, fake, y_fake, kd2)
            loss = _bce(lr_, 1.0 - smooth) + _bce(lf, 0.0)
            return loss, (stats, lr_, lf)

        (loss, (stats, lr_, lf)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.d_params)
        updates, d_opt = self.d_tx.update(grads, state.d_opt, state.d_params)
        d_params = optax.apply_updates(state.d_params, updates)
        metrics = d_metrics(loss, lr_, lf)
        return state._replace(d_params=d_params, d_stats=stats, d_opt=d_opt), metrics

    def _g_update(self, state: TrainState, key):
        c = self.config
        kz, ky, kg, kd = jax.random.split(key, 4)
        z, y = self._batch(self.noise(kz, c.batch_size)), self.one_hot(self._fake_labels(ky))

        def loss_fn(g_params):
            fake, g_stats = self._g_forward(g_params, state.g_stats, z, y, kg)
            logits, _ = self._d_forward(state.d_params, state.d_stats, fake, y, kd)
            return jnp.mean(self._g_sample_loss(logits, state.hyper)), g_stats

        (loss, g_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
        updates, g_opt = self.g_tx.update(grads, state.g_opt, state.g_params)
        g_params = optax.apply_updates(state.g_params, updates)
        return state._replace(g_params=g_params, g_stats=g_stats, g_opt=g_opt), loss

    def _g_loss_push_impl(self, state: TrainState, x):
        y = self.one_hot(self._labels_or_display(None, x.shape[0]))

        def total_loss(x):
            logits = self.pair.discriminator.apply(
                {"params": state.d_params, "batch_stats": state.d_stats}, x, y, train=False
            )
            return jnp.sum(self._g_sample_loss(logits, state.hyper))

        return -jax.grad(total_loss)(x)


TRAINER = CganTrainer
