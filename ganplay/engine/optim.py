"""The networks' optimizers: optax transformations with the learning rate injected (live-editable
without a compile), the decaying schedules, and one update."""
from __future__ import annotations

import jax.numpy as jnp
import optax

from ganplay.config import Config
from ganplay.errors import ConfigError


def _adam(lr: float, config: Config):
    return optax.inject_hyperparams(optax.adam)(
        learning_rate=lr, b1=config.beta1, b2=config.beta2
    )


def schedule_factor(config: Config):
    """The learning rates' multiplier at update ``count`` (None for a constant rate)."""
    horizon = float(config.schedule_steps)
    if config.lr_schedule == "linear":
        return lambda count: jnp.maximum(0.0, 1.0 - count / horizon)
    if config.lr_schedule == "cosine":
        return lambda count: 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(count, horizon) / horizon))
    return None


def make_optimizer(name: str, lr: float, config: Config):
    """One network's optimizer with its learning rate injected (live-editable without a compile).

    ``sgd`` uses ``beta1`` as its momentum (0: plain SGD), ``rmsprop`` uses ``beta2`` as its decay;
    the optimistic methods (Daskalakis et al. 2018) damp the rotation of simultaneous updates.
    A decaying schedule multiplies the updates by :func:`schedule_factor`.
    """
    factor = schedule_factor(config)
    if name == "adam" and factor is None:  # today's optimizer state, so old run files open
        return _adam(lr, config)

    def build(learning_rate):
        if name == "adam":
            tx = optax.adam(learning_rate, b1=config.beta1, b2=config.beta2)
        elif name == "sgd":
            tx = optax.sgd(learning_rate, momentum=config.beta1 or None)
        elif name == "rmsprop":
            tx = optax.rmsprop(learning_rate, decay=config.beta2)
        elif name == "optimistic_adam":
            # optax >= 0.2.6 names the corrected version _v2 and deprecates the first
            adam_v2 = getattr(optax, "optimistic_adam_v2", None)
            tx = (adam_v2 or optax.optimistic_adam)(learning_rate, b1=config.beta1, b2=config.beta2)
        elif name == "optimistic_gd":
            tx = optax.optimistic_gradient_descent(learning_rate)
        else:
            raise ConfigError(f"unknown optimizer {name!r}")
        return tx if factor is None else optax.chain(tx, optax.scale_by_schedule(factor))

    return optax.inject_hyperparams(build)(learning_rate=lr)


def apply_gradients(tx, grads, opt_state, params):
    """One optimizer update: (new parameters, new optimizer state)."""
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def _with_lr(opt_state, lr: float):
    hp = dict(opt_state.hyperparams)
    hp["learning_rate"] = jnp.asarray(lr, dtype=jnp.asarray(hp["learning_rate"]).dtype)
    return opt_state._replace(hyperparams=hp)
