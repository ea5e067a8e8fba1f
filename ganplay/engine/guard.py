"""The divergence guard's memory: a recent known-good training state to roll back to.

JAX arrays are immutable, so keeping a state costs no copy, only the memory of one more state.

The guarantee: the state a rollback returns to is at most ``every`` steps before the first bad
step, and it is the run's first state only when the run (since it started or was resumed) is
younger than ``every`` steps. Training loops ask :meth:`GoodStates.limit` how many steps the next
dispatch may take, so every dispatch ends on a multiple of ``every`` rather than jumping over it
(a chunk of 600 cheap toy steps once jumped from step 600 to 1,200 and kept only step 0), and
:meth:`GoodStates.offer` keeps the first finite state of each new block of ``every`` steps.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Divergence:
    step: int  # the first step whose loss or parameters were non-finite
    network: str  # "discriminator" or "generator"
    what: str  # "loss" or "parameters"

    def message(self) -> str:
        from ganplay.engine.train import describe_fault

        return describe_fault(self.step, self.network, self.what)


class GoodStates:
    def __init__(self, every: int):
        if every < 1:
            raise ValueError("every must be >= 1")
        self.every = int(every)
        self.state = None
        self.step = -1

    def limit(self, step: int, k: int) -> int:
        """The steps a dispatch starting at ``step`` may take (at most ``k``) so that it ends on,
        not past, the next multiple of ``every``."""
        return min(int(k), self.every - int(step) % self.every)

    def offer(self, state, step: int, finite: bool) -> None:
        """Keep ``state`` (at ``step``) if it is finite and starts a new block of ``every`` steps
        (or nothing is kept yet)."""
        if finite and (self.state is None or step // self.every > self.step // self.every):
            self.state, self.step = state, int(step)

    def clear(self) -> None:
        self.state, self.step = None, -1


def keep_every(kind: str) -> int:
    """Default spacing of kept states: cheap toy steps are many, image steps few."""
    return 1000 if kind == "points" else 50
