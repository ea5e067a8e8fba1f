"""What the views ask of a trainer, outside training: G's samples (the EMA generator when it is
shown), D's scores and its decision field over a 2-D view, and the push of G's loss on each
sample. A mixin of Trainer; its jitted programs are built in Trainer.__init__.

A dataset with a ``data_map`` (a points file, standardised for training) trains in standard
coordinates; everything here speaks the data's own: samples are mapped back on the way out and
points mapped in on the way to D, so views, files and metrics never see the training space."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ganplay.engine.state import TrainState
from ganplay.models import conditioned


class TrainerViews:
    """What the views ask of a trainer, outside training, in the data's own coordinates."""

    def _to_data(self, x):
        """Training coordinates -> the data's own (the identity without a ``data_map``)."""
        data_map = getattr(self.dataset, "data_map", None)
        if data_map is None:
            return x
        centre, scale = data_map
        return x * jnp.float32(scale) + jnp.asarray(centre, jnp.float32)

    def _from_data(self, x):
        """The data's own coordinates -> training coordinates."""
        data_map = getattr(self.dataset, "data_map", None)
        if data_map is None:
            return x
        centre, scale = data_map
        return (x - jnp.asarray(centre, jnp.float32)) / jnp.float32(scale)

    def generate(self, state: TrainState, z, labels=None) -> jax.Array:
        """G(z) in inference mode (batch-norm running averages, no dropout); ``labels`` (int
        ``[B]``) only for a conditional model."""
        return self._generate(state, z, self._labels(labels, len(z)))

    def discriminate(self, state: TrainState, x, labels=None) -> jax.Array:
        """D's probability that each x is real, in inference mode; ``labels`` (int ``[B]``)
        only for a conditional model."""
        return self._discriminate(state, x, self._labels(labels, len(x)))

    def discriminator_field(self, state: TrainState, view, size: int) -> jax.Array:
        """D's probability of "real" on a ``size`` x ``size`` grid of cell centres over the
        2-D ``view`` (x0, x1, y0, y1): ``[size, size]``, row i at y, column j at x. One dispatch;
        the view is an argument, so panning and zooming do not recompile."""
        return self._field(state, jnp.asarray(view, jnp.float32), int(size))

    def g_loss_push(self, state: TrainState, x) -> jax.Array:
        """Minus the gradient of G's loss with respect to each sample's position ``x`` [N, 2]:
        the direction in which training moves each generated point (D in inference mode)."""
        if self.loss.relativistic:  # G's loss compares with D's scores on real samples
            return self._g_loss_push(state, x, self.data_arrays)
        return self._g_loss_push(state, x)

    def _shown_g_params(self, state):
        """G's parameters the views use: the EMA's while it is on and ``ema_view`` is set."""
        if not self.ema:
            return state.g_params
        use = state.hyper["ema_view"] > 0.5
        return jax.tree_util.tree_map(lambda e, p: jnp.where(use, e, p), state.g_ema, state.g_params)

    def _generate_impl(self, state, z, labels=None):
        return self.pair.generator.apply(
            {"params": self._shown_g_params(state), "batch_stats": state.g_stats},
            *conditioned(z, self._condition(self._labels(labels, z.shape[0]))), train=False,
        )

    def _generate_in_data_impl(self, state, z, labels=None):
        return self._to_data(self._generate_impl(state, z, labels))

    def _real_in_data_impl(self, data, key, n: int):
        return self._to_data(self.dataset.sample(data, key, n))

    def _d_logits_each(self, state, x, labels=None):
        """D's inference logits for each sample of ``x`` alone (packed with copies of itself)."""
        if self.config.pack > 1:
            x = self._pack(jnp.repeat(x, self.config.pack, axis=0))
        return self._d_infer(state.d_params, state.d_stats, x, labels).logit

    def _discriminate_impl(self, state, x, labels=None):
        x = self._from_data(x)
        return jax.nn.sigmoid(self._d_logits_each(state, x, self._condition(self._labels(labels, x.shape[0]))))

    def _field_impl(self, state: TrainState, view, size: int):
        centres = (jnp.arange(size, dtype=jnp.float32) + 0.5) / size
        xs = view[0] + (view[1] - view[0]) * centres
        ys = view[2] + (view[3] - view[2]) * centres
        gx, gy = jnp.meshgrid(xs, ys)  # [size (y), size (x)]
        points = jnp.stack([gx.ravel(), gy.ravel()], axis=-1)
        return self._discriminate_impl(state, points).reshape(size, size)

    def _g_loss_push_impl(self, state: TrainState, x, data=None):
        labels = self._condition(self._labels(None, x.shape[0]))
        real_logits = None
        if data is not None:  # relativistic: D's scores on as many real samples, fixed key
            real, real_labels = self._real_sample(data, jax.random.PRNGKey(0), x.shape[0])
            real_logits = self._d_logits_each(state, real, real_labels)

        def total_loss(x):  # x in the data's coordinates, so the push is too
            logits = self._d_logits_each(state, self._from_data(x), labels)
            # Summed, not averaged: each sample's gradient is that of its own loss.
            return jnp.sum(self._g_sample_loss(logits, state.hyper, real_logits))

        return -jax.grad(total_loss)(x)
