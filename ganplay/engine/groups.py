"""Runs that train together: several runs of one structure as one ``jax.vmap``-ed program.

Sweeps (:mod:`ganplay.engine.sweep`) and Compare (:mod:`ganplay.engine.compare`) both group runs
that share every structural setting (they differ only in ``seed`` and live settings) and, where
it pays (:func:`choose_vmap`), train each group as one program: :class:`VmappedGroup` dispatches
a chunk for every member at once, fetches the group's metrics once, and hands each member its
slice as an ordinary chunk of its own :class:`~ganplay.engine.loop.ChunkLoop` (or a Session,
which composes one), so every member's guard, divergence, scorers and files work as alone.

A vmapped run is statistically equivalent to the run trained alone, not step-for-step identical:
the batched program rounds differently, and GAN training amplifies a last-bit difference. At the
default toy-mlp sizes on gmm2 (``benchmarks/vmap_drift.py``) d_loss first differs at step 3, by
more than 1e-3 from step 56, and G's parameters are 0.3 apart after 1,000 steps. The exact path,
each run alone, reproduces ``ganplay train`` bit for bit.
"""
from __future__ import annotations

import copy
import functools
import json
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.loop import Chunk
from ganplay.engine.train import HYPER_FIELDS, Trainer, active_remedies, fetch_metrics, steps_bucket
from ganplay.models import MODELS

# Objectives whose runs can train together: the semi-supervised trainer draws its label budget
# from the seed (its data differs per run) and reports test accuracy from its own monitor.
VMAP_OBJECTIVES = ("gan", "cgan")
# On a CPU, a vmapped group pays only when a step is small: ``benchmarks/sweep_vmap.py`` on 2
# cores measured 2.3x for 4 toy-mlp runs of hidden 16, batch 32 (about 700 parameters x 32
# samples of work per step) and 0.8-0.94x for hidden 128, batch 256 (about 35,000 x 256).
CPU_VMAP_WORK = 200_000  # parameters x batch size per step below which a CPU group is vmapped


def structural_key(config: Config) -> str:
    """Equal for configs whose runs can share one compiled program: everything but the seed and
    the live settings (whether the EMA is on is structural: it changes the state's shape)."""
    values = {k: v for k, v in config.to_dict().items() if k not in LIVE_FIELDS and k != "seed"}
    values["ema"] = config.ema_decay > 0
    # Which remedies are compiled in (a weight of 0 leaves its code out of the step).
    values["active"] = sorted(active_remedies(config))
    return json.dumps(values, sort_keys=True)


def can_vmap(config: Config) -> bool:
    """Whether the run can train in a vmapped group: a model that scans its steps, a plain or
    conditional GAN, on one device (a data-parallel run splits each batch over a mesh)."""
    spec = MODELS.get(config.model)
    return spec.scan_steps and spec.objective in VMAP_OBJECTIVES and getattr(config, "devices", "1") == "1"


def member_trainer(trainer: Trainer, config: Config) -> Trainer:
    """The group's trainer seen as one member's: it shares the compiled functions and the data
    (which read only structural settings and the state) and reads the member's own config where
    a run's seed matters (fixed noise, the quality reference sample).

    Its ``init`` is the group's (compiled for the group's seed): use :func:`initial_states`."""
    view = copy.copy(trainer)
    view.config = config
    return view


def initial_states(trainer: Trainer, configs: list[Config]):
    """The members' first states, stacked: each equal to ``build_trainer(config).init()`` (tested,
    bit for bit). One compiled program for the whole group: the trainer's own ``_init_impl`` with
    the seed and the live settings as traced arguments instead of constants (its optimizers were
    built with the group's learning rates, so the members' are set after)."""
    seeds = np.asarray([c.seed for c in configs], np.int32)
    live = {k: np.asarray([getattr(c, k) for c in configs], np.float32) for k in sorted(LIVE_FIELDS)}

    def init(seed, live):
        view = copy.copy(trainer)
        # ``_init_impl`` reads the seed and ``initial_hyper`` the live settings from its config.
        view.config = SimpleNamespace(**{**trainer.config.to_dict(), "seed": seed, **live})
        return trainer.set_hyper(view._init_impl(), lr_g=live["lr_g"], lr_d=live["lr_d"])

    return jax.jit(jax.vmap(init))(seeds, live)


def vmapped_run(trainer: Trainer, configs: list[Config]) -> Callable:
    """``run(states, k, data) -> (states, metrics)``: ``k`` steps of every stacked run in one
    program. The data is an argument shared by all runs (not vmapped, not a baked constant).

    The step count (equal across the group) and the live settings the runs share go in unbatched:
    batched, the step's ``lax.cond``s on them (penalties, instance noise, weight clipping) would
    become selects that compute both branches, every step, for every run.

    The steps run in :func:`~ganplay.engine.train.loop_steps` with the count an argument, as a
    single run's do: one program serves every chunk of up to 64 steps (Compare mode's window
    sizes its ticks freely), and a vmapped run stays bit-identical to a single run's program."""
    shared = sorted(k for k in HYPER_FIELDS if len({getattr(c, k) for c in configs}) == 1)

    def looped(states, n, length: int, data):
        common = {key: states.hyper[key][0] for key in shared}
        own = states._replace(step=None, hyper={key: v for key, v in states.hyper.items() if key not in common})
        return jax.vmap(partial(_loop_member, trainer, length), in_axes=(0, None, None, None, None))(
            own, states.step[0], common, data, n)

    program = jax.jit(looped, static_argnums=(2,))

    def run(states, k: int, data):
        length = steps_bucket(k)
        states, buffers = program(states, np.int32(k), length, data)
        return states, buffers if length == k else _first_columns(buffers, int(k))

    run.program = program  # (tests count its compiles)
    return run


def _loop_member(trainer, length, state, step, common, data, n):
    return trainer._loop_impl(state._replace(step=step, hyper={**state.hyper, **common}), n, length, data)


@partial(jax.jit, static_argnums=1)
def _first_columns(buffers, k: int):
    """Each run's first ``k`` steps of ``[runs, length]`` metric buffers."""
    return jax.tree_util.tree_map(lambda b: b[:, :k], buffers)



def step_work(trainer: Trainer) -> int:
    """Parameters (G and D) x batch size: a step's size, as :func:`choose_vmap` weighs it."""
    shapes = jax.eval_shape(trainer._init_impl)
    n = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves((shapes.g_params, shapes.d_params)))
    return n * int(trainer.config.batch_size)


def choose_vmap(trainer: Trainer, vmap: bool | None) -> tuple[bool, str]:
    """Whether a group of runs built like ``trainer``'s trains vmapped, and why in a few words.

    ``vmap`` True or False is the user's choice (``--vmap``, ``--no-vmap``); None chooses: on an
    accelerator, together; on a CPU, together only for small steps (``CPU_VMAP_WORK``), since
    elsewhere vmapping is slower and each run alone is exactly what ``ganplay train`` gives."""
    if vmap is not None:
        return bool(vmap), "--vmap" if vmap else "--no-vmap"
    platform = jax.devices()[0].platform
    if platform != "cpu":
        return True, f"vmapped on {platform}"
    work = step_work(trainer)
    if work < CPU_VMAP_WORK:
        return True, f"vmapped: small steps on the CPU ({work:,} parameters x batch)"
    return False, f"each alone, exact: vmapping does not pay on the CPU at {work:,} parameters x batch"


def member_state(host_states, i: int):
    """Run ``i``'s state from the group's stacked state (already on the host: no device ops)."""
    return jax.tree_util.tree_map(lambda x: x[i], host_states)


@functools.cache
def splitter(n: int):
    """A compiled function from a stacked state to its ``n`` members' states (one dispatch)."""
    return jax.jit(lambda s: tuple(jax.tree_util.tree_map(lambda x, i=i: x[i], s) for i in range(n)))


def stack(states):
    """Member states stacked into a group's state."""
    return jax.tree_util.tree_map(lambda *xs: jax.numpy.stack([jax.numpy.asarray(x) for x in xs]), *states)


class VmappedGroup:
    """Members of one structure trained as one vmapped program (:func:`vmapped_run`).

    ``members`` each have ``finish(chunk, seconds=None)`` (a ChunkLoop or a Session): after
    each chunk every member receives its slice of the state and its row of the metrics, exactly
    as if it had trained that chunk itself, and its share of the chunk's time. The slices, and
    what ``displays[i](state)`` dispatches for each member (a window's samples), are dispatched
    right behind the chunk: dispatched after it is recorded, they would wait for the next chunk,
    already queued (with 4 runs, that wait was most of a tick)."""

    def __init__(self, trainer: Trainer, configs: list[Config], members: list, stacked,
                 displays: list[Callable] | None = None, clock: Callable[[], float] = time.perf_counter,
                 share: bool = True):
        self.trainer = trainer
        self.members = members
        self.states = stacked  # the truth while training
        self.displays = displays
        self.clock = clock
        self.share = share  # each member is timed as its share of the chunk (a shared budget)
        self.program = vmapped_run(trainer, configs)
        self._split = splitter(len(members))
        self._pending: deque = deque()  # (k, new stacked state, member states, displays, metrics, launch time)
        self._head = None  # the newest stacked state dispatched, None: ``states``
        self._last_ready = 0.0

    def launch(self, k: int) -> None:
        launched = self.clock()
        head = self.states if self._head is None else self._head
        new, metrics = self.program(head, k, self.trainer.data_arrays)
        states = self._split(new)
        shown = ([d(s) for d, s in zip(self.displays, states)] if self.displays is not None
                 else [None] * len(states))
        self._head = new
        self._pending.append((int(k), new, states, shown, metrics, launched))

    def wait(self) -> None:
        jax.block_until_ready(self._pending[0][4])

    def finish(self) -> dict:
        """Record the oldest chunk in flight in every member; the group's host metrics
        (``[members, k]`` each: one transfer)."""
        k, new, states, shown, metrics, launched = self._pending.popleft()
        if not self._pending:
            self._head = None
        m = fetch_metrics(metrics)
        ready = self.clock()
        seconds = ready - max(launched, self._last_ready)
        self._last_ready = ready
        self.states = new
        each = seconds / len(self.members) if self.share else seconds
        for i, (member, state, display) in enumerate(zip(self.members, states, shown)):
            member.finish(Chunk(k, state, {name: v[i] for name, v in m.items()}, launched, display), seconds=each)
        return m

    def advance(self, k: int) -> dict:
        self.launch(k)
        return self.finish()

    def discard(self) -> None:
        self._pending.clear()
        self._head = None
