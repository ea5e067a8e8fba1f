"""The divergence guard's memory: a recent known-good training state to roll back to.

JAX arrays are immutable, so keeping a state costs no copy, only the memory of one more state.
A state is kept at most every ``every`` steps, so the one restored after a blow-up is from some
way before it (the steps just before a NaN are often already exploding).
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

    def offer(self, state, step: int, finite: bool) -> None:
        """Keep ``state`` (at ``step``) if it is finite and the kept one is ``every`` steps old."""
        if finite and (self.state is None or step - self.step >= self.every):
            self.state, self.step = state, int(step)

    def clear(self) -> None:
        self.state, self.step = None, -1


def keep_every(kind: str) -> int:
    """Default spacing of kept states: cheap toy steps are many, image steps few."""
    return 1000 if kind == "points" else 50
