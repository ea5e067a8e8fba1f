"""What the training loop tells the code that watches it: the observer protocol.

The one training loop (``engine/loop.py``) dispatches chunks of steps, fetches their metrics and
turns a fault into a divergence. Everything else that acts on a run (quality and accuracy
monitors, metrics.csv rows, checkpoints, the timeline's recorder, the dynamics probes) is an
observer: it subscribes to the loop, decides for itself when to act, and saves its own state.

An observer implements any of the hooks below; the loop calls only the ones it defines, in the
order the observers were added. For each finished chunk: every observer's ``score`` (scorers
return cells), then ``on_evaluate`` with the merged cells (when there are any), then ``on_chunk``;
a chunk with a fault gets ``on_bad_chunk`` and, the first time, ``on_divergence`` instead. Hooks run on the loop's thread and must not block for long:
an observer that needs the device does its own bounded work (see the quality monitor's budget).

Adding one (the recorder is the first user)::

    class StepCounter(Observer):
        def __init__(self):
            self.steps = 0
        def on_chunk(self, event):
            self.steps += event.steps
        def state_dict(self):
            return {"steps": self.steps}
        def load_state_dict(self, d):
            self.steps = int(d["steps"])

    loop.add(StepCounter())
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ChunkEvent:
    """A finished chunk, as observers see it.

    ``state`` is the training state after the chunk (device arrays: reading it costs a sync, so
    an observer that needs numbers from it acts on its own schedule). ``metrics`` holds the
    chunk's per-step host metrics (``[steps]`` float64 each, already fetched by the loop).
    ``display`` is what the display path already fetched for this state (host arrays, or None
    when nothing was drawn): a recorder takes it instead of asking the device again.
    """

    trainer: Any
    state: Any
    first_step: int  # the absolute step of the chunk's first row
    steps: int  # steps in the chunk
    metrics: dict[str, np.ndarray]
    seconds: float  # the chunk's training time (wall clock, no evaluation)
    display: Any = None

    @property
    def step(self) -> int:
        """The absolute step the run reached at the end of the chunk."""
        return self.first_step + self.steps - 1


class Observer:
    """Base class with every hook a no-op; subclass and override what you need."""

    def score(self, event: ChunkEvent) -> dict | None:
        """A scorer (quality, test accuracy) scores ``event.state`` when it is due, and returns the
        cells (column -> value) or None. Called for a chunk without a fault, before any observer's
        :meth:`on_evaluate` and :meth:`on_chunk`: the cells of every scorer reach every observer."""
        return None

    def on_chunk(self, event: ChunkEvent) -> None:
        """A chunk finished without a fault."""

    def on_bad_chunk(self, event: ChunkEvent) -> None:
        """A chunk in which training diverged, or one run after a divergence (its rows are
        there, non-finite from the bad step on); called instead of :meth:`on_chunk`, before
        :meth:`on_divergence`."""

    def on_evaluate(self, step: int, row: dict) -> None:
        """Quality or accuracy cells were scored at ``step`` (``row``: column -> value)."""

    def on_divergence(self, step: int, network: str, what: str) -> None:
        """A chunk's step ``step`` made the ``network``'s ``what`` non-finite."""

    def on_rollback(self, step: int) -> None:
        """The run went back to its kept state at ``step`` (a rollback, a Continue from here)."""

    def on_settings(self, step: int, changed: dict) -> None:
        """Live settings changed at ``step`` (``changed``: name -> new value)."""

    def state_dict(self) -> dict:
        """What the observer keeps across a save and a load (plain arrays and numbers)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
