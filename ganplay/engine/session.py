"""A training session: one trainer, its state, history and display noise, advanced in chunks.

This is everything the GUI worker needs that does not involve Qt: applying a new config (live
when only learning rates / label smoothing change, a clean restart otherwise), running a chunk
of steps, and producing a ``Snapshot`` of plain NumPy arrays for the views.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.guard import Divergence, GoodStates, keep_every
from ganplay.engine.history import MetricHistory
from ganplay.engine.train import METRIC_NAMES, Trainer, fetch_metrics, find_fault

DISPLAY_POINTS = 1500  # generated and real points drawn in the 2-D scatter
DISPLAY_IMAGES = 64  # generated images computed for the grid (the view shows 16/25/64)
CONFUSION_WINDOW = 200  # steps summarised by D's confusion matrix


@dataclass(frozen=True)
class Snapshot:
    """What the views draw: plain NumPy, safe to pass between threads."""

    step: int
    kind: str  # "points" or "images"
    generated: np.ndarray  # [N, 2] points or [N, H, W, C] images in [-1, 1]
    real: np.ndarray
    history: dict[str, np.ndarray]
    steps_per_s: float
    config: Config
    finite: bool = True
    extras: dict = field(default_factory=dict)


class Session:
    def __init__(self, config: Config, trainer: Trainer | None = None, state=None):
        self.config = config
        self.trainer = trainer or Trainer(config)
        self.state = self.trainer.init() if state is None else state
        self.history = MetricHistory(METRIC_NAMES)
        self._display_z = self.trainer.fixed_noise(self._n_display())
        self._real = self._real_display()
        self._rate = RateMeter()
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._recent_steps = 0
        self.good = GoodStates(keep_every(self.kind))
        self.good.offer(self.state, self.step, self.finite)
        self.divergence: Divergence | None = None

    @property
    def step(self) -> int:
        return int(self.state.step)

    @property
    def kind(self) -> str:
        return self.trainer.dataset.kind

    def _n_display(self) -> int:
        return DISPLAY_POINTS if self.kind == "points" else DISPLAY_IMAGES

    def _real_display(self) -> np.ndarray:
        key = jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 777)
        return np.asarray(jax.device_get(self.trainer.sample_real(key, self._n_display())))

    # -- configuration ----------------------------------------------------------------------------
    @staticmethod
    def needs_restart(old: Config, new: Config) -> bool:
        changed = {k for k, v in new.to_dict().items() if old.to_dict()[k] != v}
        return bool(changed - LIVE_FIELDS)

    def apply_live(self, new: Config) -> None:
        """Apply a config that differs only in live fields (learning rates, label smoothing)."""
        self.state = self.trainer.set_hyper(
            self.state, lr_g=new.lr_g, lr_d=new.lr_d, label_smoothing=new.label_smoothing
        )
        self.config = new
        self.trainer.config = new

    # -- training ---------------------------------------------------------------------------------
    def advance(self, k: int) -> dict[str, np.ndarray]:
        """Run ``k`` steps (one dispatch, one fetch) and record them in the history."""
        first = self.step + 1
        self.state, metrics = self.trainer.run(self.state, k)
        m = fetch_metrics(metrics)  # blocks until the chunk is done
        self.history.extend(first, m)
        self._rate.add(k)
        self._remember(m["d_acc_real"], m["d_acc_fake"])
        fault = find_fault(m, first)
        if fault is not None and self.divergence is None:
            self.divergence = Divergence(*fault)
        self.good.offer(self.state, self.step, self.divergence is None)
        return m

    # -- files ------------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the whole run (both networks, optimizers, RNG, step, config, history) atomically."""
        from ganplay.engine.checkpoint import save_run

        save_run(path, self.config, self.state, history=self.history)

    @classmethod
    def open(cls, path, data_dir: str | None = None) -> "Session":
        """Continue a saved run; CheckpointError says exactly what does not match.

        ``data_dir`` replaces the stored data folder (the file may come from another machine).
        """
        from ganplay.engine.checkpoint import read_run, restore_state
        from ganplay.errors import CheckpointError, GanplayError

        header, arrays = read_run(path)
        try:
            config = Config.from_dict(header["config"])
        except (GanplayError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: the stored config is invalid: {exc}") from None
        if data_dir is not None and data_dir != config.data_dir:
            config = config.replace(data_dir=data_dir)
        trainer = Trainer(config)
        state = restore_state(path, trainer.init(), arrays)
        session = cls(config, trainer, state)
        if "history/step" in arrays:
            session.history.load_state_dict(arrays)
        return session

    def rollback(self) -> int:
        """Return to the last kept good state (after a divergence); returns its step."""
        if self.good.state is None:
            raise RuntimeError("no good state kept")
        self.state = self.good.state
        # Learning rates and smoothing may have been changed since the state was kept.
        self.state = self.trainer.set_hyper(
            self.state, lr_g=self.config.lr_g, lr_d=self.config.lr_d,
            label_smoothing=self.config.label_smoothing,
        )
        self.history.truncate(self.good.step)
        self._recent.clear()
        self._recent_steps = 0
        self.divergence = None
        return self.good.step

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

    @property
    def finite(self) -> bool:
        return bool(self.state.finite)

    def snapshot(self) -> Snapshot:
        generated_dev = self.trainer.generate(self.state, self._display_z)
        extras = {"confusion": self.confusion()}
        if self.kind == "images":  # D's score under each generated tile
            extras["d_scores"] = np.asarray(self.trainer.discriminate(self.state, generated_dev))
        generated = np.asarray(jax.device_get(generated_dev))
        return Snapshot(
            extras=extras,
            step=self.step,
            kind=self.kind,
            generated=generated,
            real=self._real,
            history=self.history.snapshot(),
            steps_per_s=self._rate.rate(),
            config=self.config,
            finite=self.finite,
        )


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


class ChunkSizer:
    """Chooses steps per dispatch so one dispatch takes about ``target_s``.

    Sizes are powers of two and settle quickly, so only a couple of scan lengths get compiled.
    """

    def __init__(self, target_s: float = 0.04, max_k: int = 1024):
        self.target_s = target_s
        self.max_k = max_k
        self.k = 1
        self._settled = False
        self._samples = 0

    def update(self, k: int, seconds: float) -> None:
        if self._settled or k != self.k:
            return
        self._samples += 1
        if self._samples < 3:  # the first dispatch of a size includes its compile
            return
        per_step = seconds / k
        ideal = self.target_s / max(per_step, 1e-7)
        k_new = 1 << max(0, int(round(np.log2(max(ideal, 1.0)))))
        self.k = int(min(self.max_k, k_new))
        self._settled = True
