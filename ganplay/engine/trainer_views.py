"""What the views ask of a trainer, outside training: G's samples (the EMA generator when it is
shown), D's scores and its decision field over a 2-D view, and the push of G's loss on each
sample. A mixin of Trainer; its jitted programs are built in Trainer.__init__."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from ganplay.engine.state import TrainState
from ganplay.models import conditioned


class TrainerViews:
    """What the views ask of a trainer, outside training: G's samples (the EMA generator when it is"""

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

    def _d_logits_each(self, state, x, labels=None):
        """D's inference logits for each sample of ``x`` alone (packed with copies of itself)."""
        if self.config.pack > 1:
            x = self._pack(jnp.repeat(x, self.config.pack, axis=0))
        return self._d_infer(state.d_params, state.d_stats, x, labels).logit

    def _discriminate_impl(self, state, x, labels=None):
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

        def total_loss(x):
            logits = self._d_logits_each(state, x, labels)
            # Summed, not averaged: each sample's gradient is that of its own loss.
            return jnp.sum(self._g_sample_loss(logits, state.hyper, real_logits))

        return -jax.grad(total_loss)(x)
