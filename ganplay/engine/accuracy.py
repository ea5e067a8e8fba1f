"""Test accuracy of a semi-supervised GAN's classifier, and of a supervised-only baseline.

:class:`AccuracyMonitor` scores the SGAN discriminator's class head on the held-out test split
(never trained on) when the time budget allows, like :class:`~ganplay.engine.quality.QualityMonitor`
for sample quality, and keeps the latest confusion matrix. On demand it also trains the baseline:
the same D architecture trained on the same labels with the supervised loss alone, so the gap
between the two curves is what the unlabelled images and the generator add.

The baseline advances with the GAN (one baseline step per GAN step). Started late, it catches
up at ``CATCH_UP`` times the GAN's pace, so its curve is always plotted at its own steps.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ganplay.engine.history import SampledHistory
from ganplay.engine.quality import EVAL_BUDGET  # one budget: evaluation seconds per training second
CATCH_UP = 4  # a late baseline runs this many steps per GAN step until it has caught up
MIN_CATCH_UP = 200  # ... and at least this many per chunk


class AccuracyMonitor:
    """Test accuracy over time for a trainer with ``test_accuracy`` (the SGAN trainer)."""

    def __init__(self, trainer, *, budget: float = EVAL_BUDGET,
                 clock: Callable[[], float] = time.perf_counter, capacity: int = 1024):
        self.trainer = trainer
        self.budget = float(budget)
        self.clock = clock
        self.history = SampledHistory(("test_acc",), capacity)
        self.baseline_history = SampledHistory(("baseline_acc",), capacity)
        self.confusion: np.ndarray | None = None  # [K, K] counts: rows true class, columns predicted
        self.baseline_confusion: np.ndarray | None = None
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.baseline = None
        self._bstate = None
        self.baseline_step = 0
        self._warm: dict[str, bool] = {}

    @property
    def note(self) -> str:
        """Which labels and which images: the label budget and the test split, in one line."""
        parts = [getattr(self.trainer, "label_note", ""), getattr(self.trainer.dataset, "split_note", "")]
        return "; ".join(p for p in parts if p)

    @property
    def has_baseline(self) -> bool:
        return self.baseline is not None

    def columns(self) -> tuple[str, ...]:
        """metrics.csv columns: ``test_acc``, and ``baseline_acc`` once the baseline runs."""
        return ("test_acc", "baseline_acc") if self.has_baseline else ("test_acc",)

    # -- the baseline -------------------------------------------------------------------------------
    def start_baseline(self) -> None:
        """Build the supervised-only baseline at step 0 (no-op when it already runs)."""
        if self.baseline is not None:
            return
        from ganplay.engine.sgan import SupervisedBaseline

        self.baseline = SupervisedBaseline(self.trainer)
        self._bstate = self.baseline.init()
        self.baseline_step = 0

    def advance_baseline(self, gan_step: int, k: int) -> None:
        """Advance the baseline after the GAN ran ``k`` steps up to ``gan_step``: ``k`` steps,
        more (up to ``CATCH_UP`` x) while it is behind, never past ``gan_step``."""
        if self.baseline is None:
            return
        behind = gan_step - self.baseline_step
        if behind <= 0:
            return
        # In step with the GAN, or (started late) catching up faster.
        n = behind if behind <= k else min(behind, max(CATCH_UP * k, MIN_CATCH_UP))
        self._bstate, _ = self.baseline.run(self._bstate, int(n))
        self.baseline_step += int(n)

    # -- scheduling ---------------------------------------------------------------------------------
    def record_training(self, seconds: float) -> None:
        self.train_seconds += max(0.0, float(seconds))

    def due(self) -> bool:
        return self.eval_seconds <= self.budget * self.train_seconds

    def maybe_evaluate(self, state, step: int) -> dict | None:
        return self.evaluate(state, step) if self.due() else None

    def evaluate(self, state, step: int) -> dict:
        """Score now and record at ``step`` (the baseline at its own step); the row for metrics.csv."""
        if not self._warm.get("gan"):  # compile outside the budget: a one-off compile counted
            self.trainer.test_accuracy(state)  # in it would hold off the next scores for long
            self._warm["gan"] = True
        if self.baseline is not None and not self._warm.get("baseline"):
            self.baseline.test_accuracy(self._bstate)
            self._warm["baseline"] = True
        start = self.clock()
        acc, confusion = self.trainer.test_accuracy(state)
        self.confusion = np.asarray(confusion)
        self.history.append(int(step), {"test_acc": float(acc)})
        row = {"test_acc": float(acc)}
        if self.baseline is not None:
            b_acc, b_confusion = self.baseline.test_accuracy(self._bstate)
            self.baseline_confusion = np.asarray(b_confusion)
            self.baseline_history.append(self.baseline_step, {"baseline_acc": float(b_acc)})
            if self.baseline_step == step:
                row["baseline_acc"] = float(b_acc)
        self.eval_seconds += self.clock() - start
        return row

    def truncate(self, last_step: int) -> None:
        """Forget test accuracies after ``last_step`` (a rollback; the baseline is unaffected)."""
        self.history.truncate(last_step)

    def series(self) -> dict:
        """``{"step", "test_acc", "baseline_step", "baseline_acc"}`` as NumPy copies."""
        gan, base = self.history.snapshot(), self.baseline_history.snapshot()
        return {"step": gan["step"], "test_acc": gan["test_acc"],
                "baseline_step": base["step"], "baseline_acc": base["baseline_acc"]}
