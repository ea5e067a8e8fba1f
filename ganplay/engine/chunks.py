"""K training steps in one dispatch: one compiled loop serves every chunk of 1-64 steps (the
count is an argument), and a chunk's metrics come back in one transfer."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def scan_steps(step, state, k: int, data):
    """``k`` applications of ``step(state, data) -> (state, metrics)`` in one ``lax.scan``."""
    return jax.lax.scan(lambda s, _: step(s, data), state, None, length=k)


MIN_BUCKET = 64  # one loop program serves every chunk of 1-64 steps (the window's sizes)


def steps_bucket(k: int) -> int:
    """The loop program serving ``k`` steps: its metric buffers' length, the next power of two
    (at least ``MIN_BUCKET``)."""
    return max(MIN_BUCKET, 1 << max(int(k) - 1, 0).bit_length())


def loop_steps(step, state, n, length: int, data):
    """``n`` (a traced count, at most ``length``) applications of ``step(state, data) -> (state,
    metrics)`` in one loop; the metrics as ``[length]`` buffers whose first ``n`` rows are set.

    The count is an argument, not part of the program: with ``lax.scan``'s static length every
    new chunk size compiled the whole training step again (1.7 s for toy-mlp), so the window's
    chunk sizer, a Step of 37 or a run's last 13 steps each stalled training. One program per
    bucket of buffer length serves them all (see :func:`steps_bucket`; the same body, so the
    results are bit-identical to the scan's).
    """
    shapes = jax.eval_shape(lambda s: step(s, data)[1], state)
    buffers = jax.tree_util.tree_map(lambda m: jnp.zeros((length, *m.shape), m.dtype), shapes)

    def body(i, carry):
        s, bufs = carry
        s, m = step(s, data)
        return s, jax.tree_util.tree_map(lambda b, v: b.at[i].set(v), bufs, m)

    return jax.lax.fori_loop(0, n, body, (state, buffers))


@partial(jax.jit, static_argnums=1)
def _first_rows(buffers, k: int):
    return jax.tree_util.tree_map(lambda b: b[:k], buffers)


def run_steps(looped, step, state, k: int, data, scan: bool):
    """``k`` steps in one dispatch of ``looped(state, k, steps_bucket(k), data)`` (see
    :func:`loop_steps`) or, with ``scan`` off, ``k`` dispatches of ``step(state, data)``
    (asynchronous: no host sync between them); the metrics as ``[k]`` device arrays either way."""
    if scan:
        length = steps_bucket(k)
        state, buffers = looped(state, np.int32(k), length, data)  # (a NumPy count: no device op per dispatch)
        return state, buffers if length == k else _first_rows(buffers, int(k))
    per_step = []
    for _ in range(int(k)):
        state, m = step(state, data)
        per_step.append(m)
    return state, jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *per_step)


def fetch_metrics(metrics) -> dict[str, np.ndarray]:
    """One device-to-host transfer for a dispatch's metrics."""
    host = jax.device_get(metrics)
    return {k: np.asarray(v, np.float64) for k, v in host.items()}
