"""Step-by-step mode: a training step taken apart into its sample, D and G sub-steps, and single D
or G updates. :class:`SubSteps` is that half of :class:`~ganplay.engine.session.Session` (a mixin:
it reads the session's trainer, config, state and loop)."""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.engine.display import DISPLAY_POINTS
from ganplay.engine.loop import Chunk
from ganplay.engine.snapshot import SubStep
from ganplay.engine.train import FAULTS, fetch_metrics, find_fault

D_NUMBERS = ("d_real", "d_fake", "d_loss")  # what D's sub-step shows (mean D(x), D(G(z)), L_D)
D_FAULTS = frozenset(code for code, (network, _) in FAULTS.items() if network == "discriminator")
SUBSTEPS = ("sample", "d", "g")  # step-by-step: draw the batch, update D, update G


@dataclass(frozen=True)
class _Cycle:
    """A training step taken apart for step-by-step mode (see ``Session.substep``).

    The whole step runs when it is sampled (``Trainer.run(start, 1)``: the very step that Play
    runs); the D and G sub-steps then reveal its halves. ``at`` is the state the next sub-step
    expects: if anything else moved the run on, the cycle starts again from a new sample.
    """

    done: str  # the last sub-step shown: "sample" or "d"
    at: object
    start: object  # the state before the step
    after: object  # the state after the step
    metrics: dict  # its metrics (device arrays, [1] each)
    launched: float



class SubSteps:
    """Single D and G updates and the sub-steps of one training step."""

    _cycle: _Cycle | None = None  # step-by-step mode: the step being taken apart
    _substep_shown: tuple[object, SubStep] | None = None  # (state, what it showed) of the last sub-step

    def step_d(self) -> dict[str, float]:
        """One discriminator update only (the step counter does not move); not in the history."""
        self.state, metrics = self.trainer.d_step(self.state)
        return self._single_update(metrics, self.step + 1)

    def step_g(self) -> dict[str, float]:
        """One generator update only (counts as a step); not in the history."""
        self.state, metrics = self.trainer.g_step(self.state)
        return self._single_update(metrics, self.step)

    def _single_update(self, metrics, step: int) -> dict[str, float]:
        m = {k: float(v) for k, v in jax.device_get(metrics).items()}
        fault = find_fault({"fault": np.asarray([m["fault"]])}, step)
        if fault is not None:
            self.loop.diverged(*fault)
        self.good.offer(self.state, self.step, self.divergence is None)  # a G step may end a block
        return m

    # -- step-by-step ---------------------------------------------------------------------------
    def substep(self, upto: str | None = None) -> list[str]:
        """Advance step-by-step mode: sample (draw the batch), then D's update, then G's.

        With ``upto`` ("sample", "d" or "g") the cycle runs on to that sub-step, starting a new
        one if it is already there or past it (so the D key alone is sample + D update, the G key
        alone a whole step); without, it runs the next one. Returns the sub-steps that ran.

        A finished cycle is exactly one training step (the same program, keys and state as
        ``advance(1)``) and enters the history as one. A cycle left after its D sub-step leaves
        an extra D update, like ``step_d``. The next snapshot's ``substep`` says what
        ran: {"phase", "metrics" (what is known so far: d_real, d_fake, d_loss after "d", g_loss
        after "g")}, and for 2-D data "batch_real"/"batch_fake" (the batch D's update used:
        float32 [n, 2], x and G(z)) and, after "g", "previous_fake" (``generated`` before G's
        update, so the scatter can draw what moved).
        """
        if upto is not None and upto not in SUBSTEPS:
            raise ValueError(f"sub-step {upto!r} is not one of {', '.join(SUBSTEPS)}")
        if self.inflight_steps:
            raise RuntimeError("finish the chunks in flight before stepping sub-step by sub-step")
        cycle = self._cycle if self._cycle is not None and self._cycle.at is self.state else None
        done = SUBSTEPS.index(cycle.done) if cycle is not None else -1
        goal = (done + 1) % len(SUBSTEPS) if upto is None else SUBSTEPS.index(upto)
        if goal <= done:
            done = -1
        ran = []
        for phase in SUBSTEPS[done + 1:goal + 1]:
            getattr(self, f"_substep_{phase}")()
            ran.append(phase)
        return ran

    def _substep_sample(self) -> None:
        start = self.state
        after, metrics = self.trainer.run(start, 1)
        self._cycle = _Cycle("sample", start, start, after, metrics, self.loop.clock())
        batch = self._step_batch(start) if self.kind == "points" and not self.conditional else {}
        self._show_substep(SubStep("sample", {}, **batch))

    def _substep_d(self) -> None:
        c = self._cycle
        m = {k: float(v[0]) for k, v in fetch_metrics(c.metrics).items()}
        d_ok = int(m["fault"]) not in D_FAULTS
        # The step's D half: D, its statistics and optimizer after the update, G as before. The
        # key moves on as the whole step's does, so a cycle abandoned here never reuses a key.
        mid = self.trainer.place(c.start._replace(
            key=c.after.key, d_params=c.after.d_params, d_stats=c.after.d_stats, d_opt=c.after.d_opt,
            finite=jnp.logical_and(c.start.finite, d_ok)))
        self.state = mid
        self._cycle = _Cycle("d", mid, c.start, c.after, c.metrics, c.launched)
        if not d_ok:
            self.loop.diverged(*find_fault({"fault": np.asarray([m["fault"]])}, self.step + 1))
        previous = self._substep_shown[1] if self._substep_shown else None
        self._show_substep(SubStep("d", {k: m[k] for k in D_NUMBERS},
                                   batch_real=None if previous is None else previous.batch_real,
                                   batch_fake=None if previous is None else previous.batch_fake))

    def _substep_g(self) -> None:
        c = self._cycle
        before = None
        if self.kind == "points":  # where the displayed samples were before G's update
            before = np.asarray(jax.device_get(self.trainer.generate(self.state, self._display_z)), np.float32)
        self._cycle = None
        self.state = c.start  # ``finish`` records the step from where it began
        m = self.finish(Chunk(1, c.after, c.metrics, c.launched, None))
        self._show_substep(SubStep("g", {k: float(m[k][0]) for k in (*D_NUMBERS, "g_loss")}, previous_fake=before))

    def _step_batch(self, state) -> dict:
        """The real batch and G(z) that the next step's first D update trains on (2-D data).

        It mirrors the key schedule of ``Trainer._one_step`` and ``_d_update`` (split the state's
        key in 3, D's part in ``d_steps``, the first of those in 5: x, z, …); tests check it
        against the step's own D(x) and D(G(z)), so a change there cannot go unnoticed.
        """
        n = min(self.config.batch_size, DISPLAY_POINTS)
        _, k_d, _ = jax.random.split(state.key, 3)
        kx, kz = jax.random.split(jax.random.split(k_d, self.config.d_steps)[0], 5)[:2]
        real = self.trainer.sample_real(kx, self.config.batch_size)[:n]
        fake = self.trainer.generate(state, self.trainer.noise(kz, self.config.batch_size)[:n])
        real, fake = jax.device_get((real, fake))
        return {"batch_real": np.asarray(real, np.float32), "batch_fake": np.asarray(fake, np.float32)}

    def _show_substep(self, shown: SubStep) -> None:
        self._substep_shown = (self.state, shown)
