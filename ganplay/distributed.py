"""Training over several processes (hosts): ``ganplay train --distributed``.

Every process runs the same program on its own devices; with ``devices=all`` the trainer's mesh
spans every device of every process (``jax.devices()`` is global once JAX's distributed system
is up), so each process trains on its share of each batch and all of them hold the same, fully
replicated state. Call :func:`start` before anything else touches JAX: importing the models
already asks JAX for its backend (which is why this module sits outside ``ganplay.engine``).
"""
from __future__ import annotations

import os

from ganplay.errors import GanplayError

# The variables JAX's own launcher support reads (``JAX_COORDINATOR_ADDRESS``), completed with the
# process count and index; on Slurm, Open MPI or Cloud TPU none is needed.
ENV = {"coordinator": "JAX_COORDINATOR_ADDRESS", "num_processes": "JAX_NUM_PROCESSES",
       "process_id": "JAX_PROCESS_ID"}


def start(coordinator: str | None = None, num_processes: int | None = None,
          process_id: int | None = None) -> int:
    """Join the run's processes (``jax.distributed.initialize``); returns this process's index.

    Arguments left out come from ``ENV``, then from JAX's cluster detection. On CPUs the
    processes exchange gradients over Gloo (TCP).
    """
    import jax

    coordinator = coordinator or os.environ.get(ENV["coordinator"]) or None
    num_processes = num_processes if num_processes is not None else _env_int("num_processes")
    process_id = process_id if process_id is not None else _env_int("process_id")
    if num_processes is not None and num_processes < 1:
        raise GanplayError(f"--num-processes={num_processes} must be 1 or more")
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        raise GanplayError(f"--process-id={process_id} must lie in 0..{num_processes - 1}")
    if coordinator is not None and ":" not in coordinator:
        raise GanplayError(f"--coordinator={coordinator} must be HOST:PORT (process 0's address)")
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):  # an older JAX without the option, or without Gloo
        pass
    try:
        jax.distributed.initialize(coordinator, num_processes, process_id)
    except (RuntimeError, ValueError) as exc:
        raise GanplayError(f"cannot join the distributed run: {str(exc).splitlines()[0]}") from None
    return jax.process_index()


def _env_int(name: str) -> int | None:
    raw = os.environ.get(ENV[name])
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise GanplayError(f"{ENV[name]}={raw!r} is not a whole number") from None
