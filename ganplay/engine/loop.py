"""The one training loop: chunks of steps dispatched, fetched, timed and checked in one place.

:class:`ChunkLoop` owns a run's training state. ``launch(k)`` dispatches ``k`` steps after the
newest state (finished or still in flight) without waiting, so a caller can keep the next chunk
queued on the device while it records the last; ``finish(chunk)`` waits for the oldest chunk,
fetches its metrics once, times it, turns a fault into a :class:`~ganplay.engine.guard.Divergence`,
offers the state to the guard (:class:`~ganplay.engine.guard.GoodStates`) and tells the observers
(:mod:`ganplay.engine.observers`): scorers first, then ``on_evaluate``, then ``on_chunk``.

Every way of training composes it: the window's ``Session``, ``ganplay train``
(``runner.train_headless``), and each member of a vmapped group (``engine/groups.py``, for sweeps
and Compare), whose chunks the group dispatches for all members at once and hands to each
member's loop with :meth:`ChunkLoop.finish`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ganplay import heap
from ganplay.engine.guard import Divergence, GoodStates
from ganplay.engine.observers import ChunkEvent
from ganplay.engine.train import fetch_metrics, find_fault

HOOKS = ("score", "on_chunk", "on_bad_chunk", "on_evaluate", "on_divergence", "on_rollback", "on_settings")


@dataclass(frozen=True)
class Chunk:
    """Steps dispatched by :meth:`ChunkLoop.launch` and not yet recorded by :meth:`ChunkLoop.finish`."""

    k: int
    state: object
    metrics: dict  # device arrays ([k] each), or host arrays a group has already fetched
    launched: float  # the loop's clock at dispatch
    display: dict | None = None  # device arrays of what a snapshot of ``state`` draws


class ChunkLoop:
    """One run's state, advanced a chunk at a time; see the module docstring.

    ``program(state, k) -> (state, metrics)`` runs the steps (default ``trainer.run``); ``good``
    is the guard's memory (the caller's spacing); ``clock`` times the chunks.
    """

    def __init__(self, trainer, state, good: GoodStates, *, program: Callable | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.trainer = trainer
        self.program = program or trainer.run
        self.good = good
        self.clock = clock
        self.observers: list = []
        self._hooks: dict[str, list] = {h: [] for h in HOOKS}
        self.divergence: Divergence | None = None
        self.last_seconds = 0.0  # the last chunk's training time (no evaluation)
        self._last_ready = 0.0
        self.state = state
        good.offer(state, self.step, bool(state.finite))

    # -- observers --------------------------------------------------------------------------------
    def add(self, observer):
        """Subscribe ``observer`` (called after those added before it); returns it."""
        self.observers.append(observer)
        for hook in HOOKS:
            fn = getattr(observer, hook, None)
            if fn is not None:
                self._hooks[hook].append(fn)
        return observer

    def remove(self, observer) -> None:
        """Unsubscribe ``observer``."""
        kept = [o for o in self.observers if o is not observer]
        self.observers, self._hooks = [], {h: [] for h in HOOKS}
        for o in kept:
            self.add(o)

    def state_dict(self) -> dict:
        """Every observer's saved state, keyed by its position and class name."""
        return {f"{i}:{type(o).__name__}": o.state_dict() for i, o in enumerate(self.observers)
                if callable(getattr(o, "state_dict", None))}

    def load_state_dict(self, saved: dict) -> None:
        for i, o in enumerate(self.observers):
            key = f"{i}:{type(o).__name__}"
            if key in saved and callable(getattr(o, "load_state_dict", None)):
                o.load_state_dict(saved[key])

    # -- the state --------------------------------------------------------------------------------
    @property
    def state(self):
        """The newest finished training state."""
        return self._state

    @state.setter
    def state(self, value) -> None:
        """A state set from outside (a live setting, a sub-step) replaces anything in flight."""
        self._state = value
        self._step = None
        self._head = None  # the newest state dispatched, None: ``state``
        self.inflight_steps = 0

    @property
    def step(self) -> int:
        if self._step is None:  # read once per state: no device sync per read
            self._step = int(self._state.step)
        return self._step

    @property
    def head_step(self) -> int:
        """The step training will be at once the chunks in flight finish."""
        return self.step + self.inflight_steps

    # -- chunks -----------------------------------------------------------------------------------
    def launch(self, k: int, display: Callable | None = None) -> Chunk:
        """Dispatch ``k`` steps after the newest state, finished or in flight, without waiting.
        ``display(state)`` dispatches what a snapshot of the new state draws, right behind it."""
        head = self._state if self._head is None else self._head
        launched = self.clock()
        state, metrics = self.program(head, k)
        shown = display(state) if display is not None else None
        self._head = state
        self.inflight_steps += int(k)
        return Chunk(int(k), state, metrics, launched, shown)

    def discard(self) -> None:
        """Drop every chunk in flight (the run diverged before them): training resumes from
        ``state``."""
        self._head = None
        self.inflight_steps = 0

    def advance(self, k: int) -> dict:
        """Run ``k`` steps (one dispatch, one fetch) and record them; their host metrics."""
        return self.finish(self.launch(k))

    def finish(self, chunk: Chunk, seconds: float | None = None) -> dict:
        """Wait for ``chunk`` (the oldest in flight) and record it: the one place a chunk's
        metrics are fetched, timed, checked for a fault and handed to the guard and observers.
        Returns its host metrics (``[k]`` float64 each). ``seconds``: the chunk's time when a
        group timed it for its members."""
        first = self.step + 1
        m = fetch_metrics(chunk.metrics)  # blocks until the chunk is done
        ready = self.clock()
        if seconds is None:  # the chunk ran from its dispatch, or from when the one before finished
            seconds = ready - max(chunk.launched, self._last_ready)
        self._last_ready = ready
        self._state, self._step = chunk.state, first - 1 + chunk.k
        self.inflight_steps = max(0, self.inflight_steps - chunk.k)
        if self.inflight_steps == 0:
            self._head = None
        self.last_seconds = seconds
        event = ChunkEvent(self.trainer, chunk.state, first, chunk.k, m, seconds)
        fault = find_fault(m, first) if self.divergence is None else None
        if fault is not None:
            self.divergence = Divergence(*fault)
        self.good.offer(chunk.state, self._step, self.divergence is None)
        if self.divergence is None:
            self._scored(event)
            for fn in self._hooks["on_chunk"]:
                fn(event)
        else:
            for fn in self._hooks["on_bad_chunk"]:
                fn(event)
            if fault is not None:
                for fn in self._hooks["on_divergence"]:
                    fn(*fault)
        heap.trim_if_due()  # a long run's freed C memory goes back to the system (at most once a minute)
        return m

    def _scored(self, event: ChunkEvent) -> None:
        row: dict = {}
        for fn in self._hooks["score"]:
            cells = fn(event)
            if cells:
                row.update(cells)
        if row:
            self.evaluated(event.step, row)

    def evaluated(self, step: int, row: dict) -> None:
        """Tell every observer that ``row`` was scored at ``step`` (the loop's scorers, or a
        forced evaluation such as a run's last step)."""
        for fn in self._hooks["on_evaluate"]:
            fn(step, row)

    # -- what changes the run from outside -------------------------------------------------------
    def diverged(self, step: int, network: str, what: str) -> None:
        """A fault found outside a chunk (a single D or G update, a sub-step)."""
        if self.divergence is None:
            self.divergence = Divergence(step, network, what)
            for fn in self._hooks["on_divergence"]:
                fn(step, network, what)

    def rollback(self, state, step: int) -> None:
        """Continue from ``state`` at ``step`` (a kept good state): the divergence is cleared and
        observers forget what came after ``step``."""
        self.state = state
        self._step = int(step)
        self.divergence = None
        for fn in self._hooks["on_rollback"]:
            fn(int(step))

    def settings_changed(self, state, changed: dict) -> None:
        """Live settings changed (``state`` carries them): observers hear of it."""
        self.state = state
        for fn in self._hooks["on_settings"]:
            fn(self.step, dict(changed))
