"""The divergence guard's checks inside the fused step: which of D's and G's losses and parameters
first went non-finite, as a code per step, and how a run's fault is found and said."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


# ``metrics["fault"]`` per step: what first went non-finite in that step (0: nothing). The check
# runs inside the fused step, so the guard costs no extra host synchronisation.
FAULTS = {1: ("discriminator", "loss"), 2: ("discriminator", "parameters"),
          3: ("generator", "loss"), 4: ("generator", "parameters")}


def _all_finite(tree) -> jax.Array:
    """True when every element of every leaf is finite (elementwise, so huge values don't overflow)."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]))


def _first_fault(d_loss_ok, d_params_ok, g_loss_ok, g_params_ok) -> jax.Array:
    """The ``FAULTS`` code of the first check that failed, in update order (0 when all passed)."""
    code = jnp.int32(0)
    for c, ok in reversed(list(enumerate((d_loss_ok, d_params_ok, g_loss_ok, g_params_ok), start=1))):
        code = jnp.where(ok, code, jnp.int32(c))
    return code


def find_fault(metrics: dict[str, np.ndarray], first_step: int) -> tuple[int, str, str] | None:
    """(step, network, what) of the first non-finite step in a dispatch's host metrics, or None."""
    fault = metrics.get("fault")
    if fault is None:
        return None
    bad = np.flatnonzero(fault)
    if not len(bad):
        return None
    i = int(bad[0])
    network, what = FAULTS[int(fault[i])]
    return first_step + i, network, what


def describe_fault(step: int, network: str, what: str) -> str:
    return f"training diverged at step {step:,}: the {network}'s {what} became non-finite (NaN or inf)"
