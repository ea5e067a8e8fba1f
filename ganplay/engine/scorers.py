"""The loop's scorers: sample quality and test accuracy, evaluated when their time budget allows.

Each wraps its monitor (:class:`~ganplay.engine.quality.QualityMonitor`,
:class:`~ganplay.engine.accuracy.AccuracyMonitor`) as an observer of the training loop: it
counts the chunk's training time, scores the chunk's state when due and returns the cells, and
forgets later scores on a rollback. With ``final_step`` (a headless run's last step) the state
there is always scored; quality scores exactly the samples ``samples.npy`` gets.
"""
from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.engine.quality import IMAGE_SAMPLES, POINT_SAMPLES
from ganplay.engine.samplers import sample
from ganplay.quality_metrics import SAMPLED_METRICS, sampler_column


def generate_samples(trainer, state) -> np.ndarray:
    """G on the run's fixed noise: what ``samples.npy`` holds and the final evaluation scores."""
    n = POINT_SAMPLES if trainer.dataset.kind == "points" else IMAGE_SAMPLES
    z = trainer.fixed_noise(n)
    return np.asarray(jax.device_get(trainer.generate(state, z)), np.float32)


class QualityScorer(Observer):
    """Sample quality (``monitor`` may be None: then only the final samples are drawn)."""

    def __init__(self, monitor, final_step: int | None = None):
        self.monitor = monitor
        self.final_step = final_step
        self.samples: np.ndarray | None = None  # G's samples at ``final_step``

    def score(self, event: ChunkEvent) -> dict | None:
        m = self.monitor
        if m is not None:
            m.record_training(event.seconds)
        if event.step == self.final_step:
            self.samples = generate_samples(event.trainer, event.state)
            return None if m is None else m.evaluate(event.state, event.step, samples=self.samples)
        return None if m is None else m.maybe_evaluate(event.state, event.step)

    def on_rollback(self, step: int) -> None:
        if self.monitor is not None:
            self.monitor.truncate(step)


class AccuracyScorer(Observer):
    """A semi-supervised model's test accuracy; its baseline advances in step with the run.
    ``notify`` hears a line about every ``report_every`` steps."""

    def __init__(self, monitor, final_step: int | None = None, *,
                 notify: Callable[[str], None] | None = None, report_every: int = 0, start_step: int = 0):
        self.monitor = monitor
        self.final_step = final_step
        self.notify = notify
        self.report_every = max(1, int(report_every))
        self._next_report = start_step + self.report_every

    def score(self, event: ChunkEvent) -> dict | None:
        a = self.monitor
        a.record_training(event.seconds)
        a.advance_baseline(event.step, event.steps)
        if event.step == self.final_step:
            return a.evaluate(event.state, event.step)
        row = a.maybe_evaluate(event.state, event.step)
        if row is not None and self.notify is not None and event.step >= self._next_report:
            self.notify(accuracy_line(event.step, row))  # ~10 lines a run
            self._next_report = event.step + self.report_every
        return row

    def on_rollback(self, step: int) -> None:
        self.monitor.truncate(step)


def accuracy_line(step: int, row: dict) -> str:
    line = f"step {step:,}: test accuracy {100 * row['test_acc']:.2f}%"
    if row.get("baseline_acc") is not None:
        line += f" (supervised-only baseline {100 * row['baseline_acc']:.2f}%)"
    return line


class SamplerScorer(Observer):
    """A sampling-time remedy at a headless run's last step (``final_step``): its samples (kept in
    ``samples`` for ``samples_<sampler>.npy``), scored by ``monitor`` (None: not scored) under
    the sampler's own columns, beside its acceptance rate."""

    def __init__(self, sampler: str, monitor, final_step: int, n: int, seed: int):
        self.sampler, self.monitor, self.final_step, self.n, self.seed = sampler, monitor, final_step, n, seed
        self.samples: np.ndarray | None = None
        self.rate: float | None = None

    def score(self, event: ChunkEvent) -> dict | None:
        if event.step != self.final_step:
            return None
        drawn = sample(self.sampler, event.trainer, event.state, self.n, self.seed)
        self.samples, self.rate = np.asarray(drawn.samples, np.float32), drawn.rate
        cells = {sampler_column(self.sampler, "acceptance"): self.rate}
        scored = None if self.monitor is None or len(self.samples) == 0 else self.monitor.metrics_of(self.samples)
        for k, v in (scored or {}).items():
            if k in SAMPLED_METRICS:
                cells[sampler_column(self.sampler, k)] = v
        return cells
