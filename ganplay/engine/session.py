"""A training session: one run's loop, history and display, as the window drives it.

This is everything the GUI worker needs that does not involve Qt: applying a new config (live
when only learning rates / label smoothing change, a clean restart otherwise), running chunks of
steps through the run's :class:`~ganplay.engine.loop.ChunkLoop` (or a single D or G update, or
a sub-step: :mod:`ganplay.engine.substeps`), scoring sample quality on a time budget, and
producing a :class:`Snapshot` of plain NumPy arrays for the views (:mod:`ganplay.engine.display`).
"""
from __future__ import annotations

import weakref
from collections import deque

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, VIEW_FIELDS, Config
from ganplay.engine.accuracy import AccuracyMonitor
from ganplay.engine.display import (  # noqa: F401 (re-exported: the window and tests import them here)
    ARROW_POINTS,
    CLASS_GRID_COLUMNS,
    DISPLAY_IMAGES,
    DISPLAY_POINTS,
    FIELD_SIZE,
    INTERPOLATION_IMAGES,
    INTERPOLATION_POINTS,
    MANIFOLD_GRID,
    MANIFOLD_LINE,
    NORMAL_EXTENT,
    OVERLAYS,
    SessionDisplay,
    Snapshot,
    manifold_noise,
    slerp,
)
from ganplay.engine.guard import Divergence, GoodStates, keep_every
from ganplay.engine.history import MetricHistory
from ganplay.engine.loop import Chunk, ChunkLoop
from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.engine.pacing import ChunkSizer, Pacer, RateMeter  # noqa: F401 (re-exported)
from ganplay.engine.quality import QualityMonitor, is_conditional
from ganplay.engine.scorers import AccuracyScorer, QualityScorer
from ganplay.engine.snapshot import Accuracy, Quality
from ganplay.engine.substeps import D_FAULTS, D_NUMBERS, SUBSTEPS, SubSteps  # noqa: F401 (re-exported)
from ganplay.engine.train import Trainer, build_trainer, live_values

CONFUSION_WINDOW = 200  # steps summarised by D's confusion matrix


class Session(SessionDisplay, SubSteps):
    def __init__(self, config: Config, trainer: Trainer | None = None, state=None):
        self.config = config
        self.trainer = trainer or build_trainer(config)
        if state is None:
            state = self.trainer.init()
            if trainer is not None:  # a reused trainer (a reset) may have older live settings
                self.trainer.set_config(config)
                state = self.trainer.set_hyper(state, **live_values(config))
        # Chunks are timed with the quality monitor's clock (tests inject one), which is what
        # its time budget is a share of.
        scorer = QualityScorer(QualityMonitor(self.trainer, background=True))
        self.loop = ChunkLoop(self.trainer, state, GoodStates(keep_every(self.kind)),
                              clock=lambda: scorer.monitor.clock())
        self.conditional = is_conditional(self.trainer)
        self._init_display()
        # The loop's observers: the history, rate and D's confusion, quality and test accuracy.
        # Classifier training (images) happens in the background: the GUI keeps training.
        self.recent = self.loop.add(Recent(self.trainer.metric_names))
        self.history = self.recent.history
        self._quality = self.loop.add(scorer)
        weakref.finalize(self, self._quality.monitor.close)  # a dropped session stops that training
        # Semi-supervised models: test accuracy, confusion matrix and the optional baseline.
        self.accuracy = (AccuracyMonitor(self.trainer)
                         if callable(getattr(self.trainer, "test_accuracy", None)) else None)
        if self.accuracy is not None:
            self.loop.add(AccuracyScorer(self.accuracy))

    # -- the loop's state -------------------------------------------------------------------------
    @property
    def state(self):
        """The newest finished training state (what snapshots, files and rollbacks see)."""
        return self.loop.state

    @state.setter
    def state(self, value) -> None:
        self.loop.state = value  # a state set from outside replaces anything in flight

    @property
    def step(self) -> int:
        return self.loop.step

    @property
    def head_step(self) -> int:
        """The step training will be at once the chunks in flight finish."""
        return self.loop.head_step

    @property
    def inflight_steps(self) -> int:
        return self.loop.inflight_steps

    @property
    def good(self) -> GoodStates:
        return self.loop.good

    @property
    def divergence(self) -> Divergence | None:
        return self.loop.divergence

    @property
    def last_train_seconds(self) -> float:
        """The last chunk's training alone (no evaluation)."""
        return self.loop.last_seconds

    @property
    def quality(self) -> QualityMonitor:
        return self._quality.monitor

    @quality.setter
    def quality(self, monitor: QualityMonitor) -> None:
        self._quality.monitor = monitor

    @property
    def kind(self) -> str:
        return self.trainer.dataset.kind

    # -- configuration ----------------------------------------------------------------------------
    @staticmethod
    def needs_restart(old: Config, new: Config) -> bool:
        changed = {k for k, v in new.to_dict().items() if old.to_dict()[k] != v}
        if (old.ema_decay > 0) != (new.ema_decay > 0):  # the EMA is part of the state's structure
            return True
        return bool(changed - LIVE_FIELDS - VIEW_FIELDS)

    def apply_live(self, new: Config) -> None:
        """Apply a config that differs only in live fields (learning rates, smoothing, weights)
        or in what is shown beside G's samples (``VIEW_FIELDS``: the sampler)."""
        changed = {k: v for k, v in live_values(new).items() if getattr(self.config, k) != v}
        state = self.trainer.set_hyper(self.state, **live_values(new))
        self.config = new
        self.trainer.set_config(new)
        self.loop.settings_changed(state, changed)

    def use_quality(self, monitor: QualityMonitor) -> None:
        """Score with ``monitor`` from now on (Compare mode's runs share one time budget); the
        current monitor stops, and its history goes with it."""
        self.quality.close()
        self.quality = monitor

    # -- training ---------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Compile the program the window's chunks run (1-64 steps), without training: a window
        calls it while the user reads it, so Play starts at once instead of after a compile
        (1.7 s for toy-mlp on 2 cores), and the first quality evaluation, of the untrained
        generator (its compile cost the first chunk another 0.7 s). Models dispatched a step at a
        time compile theirs on the first step."""
        if self.trainer.scan_steps:
            jax.block_until_ready(self.trainer.run(self.state, 0))
        if self.divergence is None and self.step == 0:
            self.quality.maybe_evaluate(self.state, self.step)

    def advance(self, k: int) -> dict[str, np.ndarray]:
        """Run ``k`` steps (one dispatch, one fetch) and record them in the history."""
        return self.finish(self.launch(k, display=False))

    def launch(self, k: int, display: bool = True) -> Chunk:
        """Dispatch ``k`` steps after the newest state (finished or in flight) without waiting.

        With ``display``, what a snapshot draws (samples, scores, overlays) is dispatched right
        behind the chunk, so it is ready when the chunk is, even if another chunk is queued
        after it (XLA runs dispatches in order). The GUI keeps one chunk queued while it
        records and draws the last one, so the device never waits for Python.
        """
        return self.loop.launch(k, self.display_device if display else None)

    def discard(self, chunk: Chunk | None = None) -> None:
        """Drop the chunks in flight (the run diverged before them): training resumes from ``state``."""
        self.loop.discard()

    def finish(self, chunk: Chunk, seconds: float | None = None) -> dict[str, np.ndarray]:
        """Wait for the oldest chunk in flight and record it (history, divergence, evaluations);
        ``seconds``: its time, when a vmapped group timed it."""
        m = self.loop.finish(chunk, seconds)
        self._display_cache = None if chunk.display is None else (chunk.state, chunk.display)
        return m

    def start_baseline(self) -> None:
        """Semi-supervised models: start the supervised-only baseline (it catches up, then keeps
        in step); ValueError for other models."""
        if self.accuracy is None:
            raise ValueError(f"{self.config.model} has no classifier to compare with a baseline")
        self.accuracy.start_baseline()

    def close(self) -> None:
        """Stop background work (a classifier training for FID) when the session is dropped."""
        self.quality.close()

    # -- files ------------------------------------------------------------------------------------
    def save(self, path, recording=None) -> None:
        """Write the whole run (both networks, optimizers, RNG, step, config, history, quality
        history, and a timeline ``recording`` when given) atomically."""
        from ganplay.engine.checkpoint import save_run

        extra, arrays = {"quality": self.quality.to_lists()}, None
        if recording is not None:
            from ganplay.engine.recorder import HEADER_KEY, save_arrays

            extra[HEADER_KEY], arrays = save_arrays(recording)
        save_run(path, self.config, self.state, history=self.history, extra=extra, arrays=arrays)

    @classmethod
    def open(cls, path, data_dir: str | None = None) -> "Session":
        """Continue a saved run; CheckpointError says exactly what does not match.

        ``data_dir`` replaces the stored data folder (the file may come from another machine).
        """
        from ganplay.engine.checkpoint import open_run

        config, trainer, state, run = open_run(path, data_dir)
        session = cls(config, trainer, state)
        if "history/step" in run.arrays:
            session.history.load_state_dict(run.arrays)
        session.quality.load_lists(run.header.get("quality"), run.shown)  # (older files have none)
        return session


    def rollback(self) -> int:
        """Return to the last kept good state (after a divergence); returns its step."""
        if self.good.state is None:
            raise RuntimeError("no good state kept")
        # Learning rates and smoothing may have been changed since the state was kept.
        state = self.trainer.set_hyper(self.good.state, **live_values(self.config))
        self.loop.rollback(state, self.good.step)
        return self.good.step

    def confusion(self) -> dict[str, float] | None:
        return self.recent.confusion()

    @property
    def finite(self) -> bool:
        return bool(self.state.finite)

    def snapshot(self) -> Snapshot:
        generated, shown = self._display_host()
        substep = self._substep_shown
        return Snapshot(
            step=self.step,
            kind=self.kind,
            generated=generated,
            real=self._real,
            history=self.history.snapshot(),
            steps_per_s=self.recent.rate.rate(),
            config=self.config,
            finite=self.finite,
            quality=self._quality_shown(),
            confusion=self.recent.confusion(),
            accuracy=None if self.accuracy is None else self._accuracy_shown(),
            # (a sub-step's numbers only until the run moves on)
            substep=substep[1] if substep is not None and substep[0] is self.state else None,
            latent=self._latent_shown(),
            **shown,
        )

    def _accuracy_shown(self) -> Accuracy:
        a = self.accuracy
        return Accuracy(
            series=a.series(),
            confusion=None if a.confusion is None else a.confusion.copy(),
            baseline_confusion=None if a.baseline_confusion is None else a.baseline_confusion.copy(),
            has_baseline=a.has_baseline,
            baseline_step=a.baseline_step,
            note=a.note,
        )

    def _quality_shown(self) -> Quality:
        q = self.quality
        if self.kind == "images":
            floor = q.fid_floor
            return Quality(q.series(), q.note,
                           floor=None if floor is None else {"fid": floor, "inception_score": q.is_real},
                           class_hist=None if q.class_hist is None else list(q.class_hist))
        return Quality(q.series(), q.note, modes_total=q.modes_total)


class Recent(Observer):
    """What the window shows of the steps trained: the metric history, steps per second and D's
    confusion matrix over the latest ``CONFUSION_WINDOW`` steps."""

    def __init__(self, metric_names):
        self.history = MetricHistory(metric_names)
        self.rate = RateMeter()
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._recent_steps = 0

    def on_chunk(self, event: ChunkEvent) -> None:
        self.history.extend(event.first_step, event.metrics)
        self.rate.add(event.steps)
        self._remember(event.metrics["d_acc_real"], event.metrics["d_acc_fake"])

    on_bad_chunk = on_chunk  # a diverged chunk's rows are shown too (until a rollback)

    def on_rollback(self, step: int) -> None:
        self.history.truncate(step)
        self._recent.clear()
        self._recent_steps = 0

    def state_dict(self) -> dict:
        return self.history.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.history.load_state_dict(state)

    def _remember(self, acc_real: np.ndarray, acc_fake: np.ndarray) -> None:
        self._recent.append((acc_real, acc_fake))
        self._recent_steps += len(acc_real)
        while self._recent_steps - len(self._recent[0][0]) >= CONFUSION_WINDOW:
            self._recent_steps -= len(self._recent.popleft()[0])

    def confusion(self) -> dict[str, float] | None:
        """D's confusion matrix over the latest window, as fractions of each true class.

        TP/FN split the real samples (called real / called fake), TN/FP the generated ones.
        """
        if not self._recent:
            return None
        acc_real = float(np.concatenate([r for r, _ in self._recent])[-CONFUSION_WINDOW:].mean())
        acc_fake = float(np.concatenate([f for _, f in self._recent])[-CONFUSION_WINDOW:].mean())
        return {"TP": acc_real, "FN": 1 - acc_real, "TN": acc_fake, "FP": 1 - acc_fake,
                "window": min(self._recent_steps, CONFUSION_WINDOW)}
