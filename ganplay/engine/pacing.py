"""Pacing a window's training: steps per second shown, slow motion, and how many steps a dispatch
(or a comparison's tick) takes so that a frame's worth of work fits in a frame."""
from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

# A tick (every run trains k steps, is recorded and handed to the window) should take one frame
# at 34 frames/s: the window, painting in between, then stays above 30.
TICK_S = 1 / 34


class RateMeter:
    """Steps per second over a sliding window of about two seconds."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self._events: list[tuple[float, int]] = []

    def add(self, steps: int) -> None:
        now = time.perf_counter()
        self._events.append((now, steps))
        while len(self._events) > 2 and now - self._events[1][0] > self.window_s:
            self._events.pop(0)

    def rate(self) -> float:
        if len(self._events) < 2:
            return 0.0
        t0 = self._events[0][0]
        t1 = self._events[-1][0]
        steps = sum(s for _, s in self._events[1:])
        return steps / (t1 - t0) if t1 > t0 else 0.0


class Pacer:
    """Slow motion: step n (counted from ``restart``) is due at t0 + n / rate on a monotonic clock.

    Deadlines, not sleeps after each step, so the time a step takes does not add up into drift:
    at 1 step/s the counter gains one a second however long each dispatch lasts. A run further
    behind than ``max_lag_s`` (a compile, a blocked thread) starts counting again from now
    instead of bursting to catch up. ``clock`` is injectable for tests.
    """

    def __init__(self, rate: float, clock=time.monotonic, max_lag_s: float = 1.0):
        if not (rate > 0 and np.isfinite(rate)):
            raise ValueError(f"speed {rate!r} steps/s must be a positive number")
        self.rate = float(rate)
        self.clock = clock
        self.max_lag_s = max(float(max_lag_s), 1.0 / self.rate)
        self.restart()

    def restart(self) -> None:
        """The next step is due at once; those after it every 1/rate seconds."""
        self._t0: float | None = None
        self._n = 0

    def wait_s(self) -> float:
        """Seconds until the next step is due (<= 0: due now)."""
        now = self.clock()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._n / self.rate
        if now - due > self.max_lag_s:  # far behind: count from now
            self._t0, self._n, due = now, 0, now
        return due - now

    def tick(self) -> None:
        """One step was dispatched; the next is due 1/rate after this one's deadline."""
        self._n += 1


class ChunkSizer:
    """Chooses steps per dispatch so one dispatch takes about ``target_s``: the window can show at
    most one new picture per dispatch, and a frame at 37 fps keeps it above 30 (with the
    dispatches' jitter, 1/34 s gave 30.8-32.6 frames/s; see docs/decisions.md for the figures).

    Sizes above 6 are even. A size changes when the median time per step of the last five
    dispatches at it puts the ideal more than 1.3x away; while a dispatch is far shorter than a
    frame it grows 4x at a time from one step instead (at a step or two per dispatch the time is
    mostly the dispatch itself).

    It never stops measuring: while the window starts, compiling its display programs and the
    first evaluation delay the first dispatches' timings 3-20x. Sizes of 1-64 steps share one compiled training program (``steps_bucket``), so a new size
    costs only a small program taking the first rows of the metrics; the first dispatch at it
    is not timed, and at most ``max_sizes`` sizes are used (then the nearest one used before).
    ``max_changes`` caps the changes (0 keeps the first size: tests force dispatch sizes).
    """

    def __init__(self, target_s: float = 1 / 37, max_k: int = 1024, max_changes: int | None = None,
                 k: int = 1, max_sizes: int = 8):
        self.target_s = target_s
        self.max_k = max_k
        self.max_changes = max_changes
        self.max_sizes = max_sizes
        self.k = int(k)  # the first size
        self.changes = 0
        self.sizes = {self.k}  # compiled (or being compiled)
        self._fresh = True  # the next sample at this size includes its compile
        self._times: deque[float] = deque(maxlen=5)

    def update(self, k: int, seconds: float) -> None:
        """Report that ``k`` steps of training took ``seconds`` (training only: an evaluation or
        a snapshot timed with it makes the sizer settle far too low)."""
        if k != self.k:
            return
        if self._fresh:  # (cleared even after the last change: the size is compiled now)
            self._fresh = False
            return
        if self.max_changes is not None and self.changes >= self.max_changes:
            return
        self._times.append(seconds / k)
        if len(self._times) < 3:
            return
        per_step = float(np.median(self._times))  # one disturbed dispatch does not count
        if per_step * self.k < self.target_s / 3 and self.k * 4 <= self.max_k:
            # Far below a frame: grow 4x and measure again. At a step or two per dispatch the
            # time is mostly the dispatch and the wait for the GIL (the window paints), so the
            # size it suggests is too small.
            self._switch(self.k * 4)
            return
        ideal = max(self.target_s / max(per_step, 1e-7), 1.0)
        if abs(np.log2(ideal) - np.log2(self.k)) <= 0.4:
            return
        k_new = round(ideal) if ideal < 6 else 2 * round(ideal / 2)
        if ideal > self.k and self.k < 8:
            # A few steps per dispatch are timed mostly as the worker's own round (recording,
            # the snapshot, the GIL): grow at least 2-4x, not in proportion.
            k_new = max(k_new, 4 * self.k if self.k < 4 else 2 * self.k)
        k_new = int(min(self.max_k, k_new))
        if k_new not in self.sizes and len(self.sizes) >= self.max_sizes:
            k_new = min(self.sizes, key=lambda size: abs(np.log2(size) - np.log2(ideal)))
        if k_new != self.k:
            self.changes += 1
            self._switch(k_new)

    def _switch(self, k: int) -> None:
        self.k = int(k)
        self._times.clear()
        self._fresh = self.k not in self.sizes  # a size compiled before times true at once
        self.sizes.add(self.k)


class TickSizer:
    """Steps per tick for a window playing a comparison: the most that keep a tick (every run
    trains ``k`` steps, is recorded and drawn) within ``target_s``, one frame.

    It is fed the wall time between ticks while playing, all of it: the window paces the ticks
    (one per frame drawn), and recording 2-4 runs and drawing them is a fixed cost of every
    tick, so the device time alone would pick ticks that take seconds. A tick's time
    is modelled as ``a + b * k`` (fixed cost plus the steps), fitted on every size measured;
    with one size known, the next is proportional to it, and at least twice as large when a
    tick is short (a fixed cost makes proportion timid). When the fixed cost alone is near a
    frame, the steps get a fifth of each tick. The size changes only when the ideal is more than
    1.3x away; the first ticks at each size (the pipeline refilling, and a compile of a size not
    run before) are not measured.

    It never stops measuring (a size timed while the window started, or before the machine's
    load changed, would stay). The runs' programs
    take any size up to 64 steps without compiling (``sweep.vmapped_run``, ``Trainer.run``), so a
    change costs little. When the current size's time moves more than 1.3x, the other sizes'
    times are from other conditions and are forgotten.
    """

    def __init__(self, target_s: float = TICK_S, k: int = 1, max_k: int = 1024, max_changes: int | None = None,
                 samples: int = 8, skip: int = 3):
        self.target_s = target_s
        self.k = int(k)
        self.max_k = max_k
        self.max_changes = max_changes  # None: no cap
        self.samples = samples
        self.skip = skip
        self.changes = 0
        self.stable = False  # the last measurement pointed at the current size
        self.measured: dict[int, float] = {}  # size -> median seconds per tick
        self._times: list[float] = []
        self._skip = skip

    @classmethod
    def for_kind(cls, kind: str) -> TickSizer:
        """A sizer starting at 4 steps for 2-D data (a toy step is cheap), 1 for images."""
        return cls(k=4 if kind == "points" else 1)

    def update(self, k: int, seconds: float) -> None:
        """A tick of ``k`` steps took ``seconds`` of wall time (from the previous tick's end)."""
        if k != self.k or (self.max_changes is not None and self.changes >= self.max_changes):
            return
        if self._skip:
            self._skip -= 1
            return
        self._times.append(float(seconds))
        if len(self._times) < self.samples:
            return
        now = float(np.median(self._times))
        before = self.measured.get(k)
        if before is not None and abs(math.log2(now / before)) > math.log2(1.3):
            self.measured = {}  # the machine changed: the other sizes' times no longer hold
        self.measured[k] = now
        self._times.clear()
        ideal = self.ideal()
        # Near enough the ideal, unless a tick overruns the frame by more than a tenth (at 33 ms
        # ticks, 4 runs draw 29 frames/s).
        self.stable = ideal == self.k or (abs(math.log2(ideal / self.k)) <= math.log2(1.3)
                                          and now <= 1.1 * self.target_s)
        if self.stable:
            return
        self.k = ideal
        self.changes += 1
        self._skip = self.skip

    def ideal(self) -> int:
        """The size the measurements so far point to (from 8 up, a multiple of 4)."""
        t, k = self.target_s, self.k
        ks = np.asarray(sorted(self.measured), np.float64)
        ws = np.asarray([self.measured[s] for s in sorted(self.measured)])
        b = a = 0.0
        if len(ks) >= 2:
            b, a = np.polyfit(ks, ws, 1)
            a = max(a, 0.0)
        if b > 0:
            ideal = (t - a) / b if a < 0.8 * t else 0.25 * a / b
        else:  # one size known (or noise hides the steps' share): in proportion
            w = self.measured[k]
            if w < t:
                ideal = max(k * t / w, 2.0 * k)
            else:  # (at one step, try two: is the tick's time the steps' or a fixed cost's?)
                ideal = 2.0 if k == 1 and len(ks) == 1 else k * t / w
        ideal = min(max(ideal, k / 16, 1.0), k * 16.0, self.max_k)
        # Rounded down: the frame is the goal, the steps get what fits in it.
        return int(ideal) if ideal < 8 else 4 * int(ideal / 4)
