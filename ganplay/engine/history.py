"""Bounded metric history for live plots: memory stays flat however long a run goes.

Values arrive per step. Once ``capacity`` points are stored, neighbouring points are averaged in
pairs and the number of steps each point stands for (``stride``) doubles, so a run of 10**6 steps
keeps at most ``capacity`` points per metric while the curve keeps its shape.
"""
from __future__ import annotations

import numpy as np


class MetricHistory:
    def __init__(self, names, capacity: int = 4096):
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.names = tuple(names)
        self.capacity = capacity
        self.stride = 1
        self._n = 0
        self._steps = np.zeros(capacity, np.float64)
        self._values = {k: np.zeros(capacity, np.float64) for k in self.names}
        self._pending_steps: list[np.ndarray] = []
        self._pending: dict[str, list[np.ndarray]] = {k: [] for k in self.names}
        self._pending_count = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, first_step: int, metrics: dict[str, np.ndarray]) -> None:
        """Append consecutive steps ``first_step, first_step+1, …`` of per-step values."""
        count = len(next(iter(metrics.values())))
        self._pending_steps.append(np.arange(first_step, first_step + count, dtype=np.float64))
        for k in self.names:
            self._pending[k].append(np.asarray(metrics[k], np.float64))
        self._pending_count += count
        self._flush()

    def _flush(self) -> None:
        if self._pending_count < self.stride:
            return
        steps = np.concatenate(self._pending_steps)
        values = {k: np.concatenate(v) for k, v in self._pending.items()}
        used = self._append_binned(steps, values)
        self._pending_steps = [steps[used:]]
        self._pending = {k: [v[used:]] for k, v in values.items()}
        self._pending_count = len(steps) - used

    def _append_binned(self, steps: np.ndarray, values: dict[str, np.ndarray]) -> int:
        """Store whole bins of ``stride`` steps; returns how many leading steps were used."""
        used = 0
        while True:
            bins = (len(steps) - used) // self.stride
            if bins == 0:
                return used  # the rest waits for more steps (the stride may just have doubled)
            if self._n == self.capacity:  # full: halve the resolution and carry on
                self._decimate()
                continue
            take = min(bins, self.capacity - self._n)
            n = take * self.stride
            sl = slice(self._n, self._n + take)
            self._steps[sl] = steps[used : used + n].reshape(take, self.stride).mean(1)
            for k in self.names:
                self._values[k][sl] = values[k][used : used + n].reshape(take, self.stride).mean(1)
            self._n += take
            used += n

    def _decimate(self) -> None:
        half = self._n // 2
        self._steps[:half] = self._steps[: 2 * half].reshape(half, 2).mean(1)
        for k in self.names:
            self._values[k][:half] = self._values[k][: 2 * half].reshape(half, 2).mean(1)
        self._n = half
        self.stride *= 2

    def truncate(self, last_step: int) -> None:
        """Forget everything after ``last_step`` (a rollback); bins that straddle it go too."""
        n = self._n
        while n and self._steps[n - 1] + (self.stride - 1) / 2 > last_step:
            n -= 1
        self._n = n
        self._pending_steps, self._pending = [], {k: [] for k in self.names}
        self._pending_count = 0

    def steps(self) -> np.ndarray:
        return self._steps[: self._n].copy()

    def values(self, name: str) -> np.ndarray:
        return self._values[name][: self._n].copy()

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every series (safe to hand to another thread)."""
        out = {k: self.values(k) for k in self.names}
        out["step"] = self.steps()
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"history/{k}": self.values(k) for k in self.names}
        out["history/step"] = self.steps()
        out["history/stride"] = np.asarray(self.stride)
        return out

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        steps = np.asarray(d["history/step"], np.float64)
        n = min(len(steps), self.capacity)
        self._n = n
        self.stride = int(d["history/stride"])
        self._steps[:n] = steps[:n]
        for k in self.names:
            if f"history/{k}" in d:
                self._values[k][:n] = np.asarray(d[f"history/{k}"], np.float64)[:n]


class SampledHistory:
    """Metrics measured now and then (quality evaluations), at irregular steps, kept bounded.

    Unlike :class:`MetricHistory` nothing is averaged: each point is a measurement. Once
    ``capacity`` points are stored, every other one is dropped (the newest is always kept), so
    the points thin out evenly over the run while memory stays flat.
    """

    def __init__(self, names, capacity: int = 1024):
        if capacity < 4:
            raise ValueError("capacity must be >= 4")
        self.names = tuple(names)
        self.capacity = capacity
        self._n = 0
        self._steps = np.zeros(capacity, np.float64)
        self._values = {k: np.zeros(capacity, np.float64) for k in self.names}

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, values: dict[str, float]) -> None:
        """Record one evaluation; a name missing from ``values`` is stored as NaN."""
        if self._n == self.capacity:
            keep = np.r_[np.arange(0, self._n - 1, 2), self._n - 1]
            self._steps[: len(keep)] = self._steps[keep]
            for v in self._values.values():
                v[: len(keep)] = v[keep]
            self._n = len(keep)
        self._steps[self._n] = step
        for k in self.names:
            self._values[k][self._n] = values.get(k, np.nan)
        self._n += 1

    def truncate(self, last_step: int) -> None:
        """Forget the points after ``last_step`` (a rollback)."""
        self._n = int(np.searchsorted(self._steps[: self._n], last_step, side="right"))

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every series and ``"step"`` (safe to hand to another thread)."""
        out = {k: v[: self._n].copy() for k, v in self._values.items()}
        out["step"] = self._steps[: self._n].copy()
        return out
