"""Sample-quality metrics during training, on a time budget.

:class:`QualityMonitor` evaluates the generator on the run's fixed noise (the samples that
``samples.npy`` holds) and decides when: only while the time spent evaluating stays within
``budget`` (4%) of the time spent training, so evaluation costs under 5% of a run however slow
one evaluation is. Forced evaluations (the last step of a headless run) count too.

* Points: ``kl`` (k-NN estimate of KL(real || generated) against a fixed real sample) for every
  2-D dataset, plus ``modes``, ``high_quality`` and ``reverse_kl`` on Gaussian mixtures.
* Images with labels: ``fid`` and ``inception_score`` from the evaluation classifier
  (:class:`~ganplay.engine.evaluator.Evaluator`, trained once per dataset and cached), built at
  the first evaluation; in the background when ``background=True`` (the GUI keeps training).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Callable

import jax
import numpy as np

from ganplay.data.toy import GaussianMixture
from ganplay.engine.history import SampledHistory
from ganplay.engine.metrics import ReferenceSample, mode_metrics
from ganplay.errors import CheckpointError, GanplayError
from ganplay.quality_metrics import SAMPLED_METRICS, sampler_column

log = logging.getLogger(__name__)

EVAL_BUDGET = 0.04  # evaluation seconds allowed per training second
POINT_SAMPLES = 2500  # generated points per evaluation (= samples.npy)
IMAGE_SAMPLES = 1000  # generated images per evaluation (= samples.npy)
MIXTURE_COLUMNS = ("modes", "high_quality", "reverse_kl", "kl")
POINT_COLUMNS = ("kl",)
IMAGE_COLUMNS = ("fid", "inception_score")
# The share of generated images the evaluation classifier assigns to the class G was asked for.
CONDITIONAL_COLUMNS = ("class_fraction",)
REFERENCE_SALT = 778  # the fixed real sample that ``kl`` compares against


def quality_columns(dataset, conditional: bool = False) -> tuple[str, ...]:
    """The quality metrics a dataset gets (metrics.csv columns, history series); a conditional
    generator (``is_conditional``) also gets ``class_fraction``."""
    if dataset.kind == "points":
        return MIXTURE_COLUMNS if isinstance(dataset, GaussianMixture) else POINT_COLUMNS
    if getattr(dataset, "labels", None) is None:
        return ()
    return IMAGE_COLUMNS + (CONDITIONAL_COLUMNS if conditional else ())


def sampler_columns(sampler: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns a sampling-time remedy adds beside G's ``columns``: each of G's metrics on
    the sampler's samples ("drs_high_quality"), then its acceptance rate; none for "none"."""
    if sampler == "none":
        return ()
    return tuple(sampler_column(sampler, c) for c in columns if c in SAMPLED_METRICS) + \
        (sampler_column(sampler, "acceptance"),)


def is_conditional(trainer) -> bool:
    """Whether the trainer's generator draws a requested class (it has ``display_labels``)."""
    return callable(getattr(trainer, "display_labels", None))


def sample_count(kind: str) -> int:
    """Generated samples per evaluation, the same number ``samples.npy`` holds."""
    return POINT_SAMPLES if kind == "points" else IMAGE_SAMPLES


# Monitors with a background classifier training. At exit each is cancelled and joined: a
# daemon thread still inside JAX when the interpreter finalises aborts the whole process.
_PREPARING: weakref.WeakSet[QualityMonitor] = weakref.WeakSet()


@atexit.register
def _stop_background_preparations() -> None:
    for monitor in list(_PREPARING):
        monitor.close(wait=True)


class QualityMonitor:
    """Evaluates a trainer's generator when the time budget allows, and keeps the results.

    The caller reports training time with :meth:`record_training` (measured with ``clock``,
    injectable for tests) and calls :meth:`maybe_evaluate` after each chunk of steps.
    """

    def __init__(self, trainer, *, budget: float = EVAL_BUDGET,
                 clock: Callable[[], float] = time.perf_counter, capacity: int = 1024,
                 background: bool = False, notify: Callable[[str], None] | None = None):
        self.trainer = trainer
        self.dataset = trainer.dataset
        self.kind = self.dataset.kind
        self.conditional = is_conditional(trainer)
        self.columns = quality_columns(self.dataset, self.conditional)
        self.n_samples = sample_count(self.kind)
        self.budget = float(budget)
        self.clock = clock
        self.background = background
        self._notify = notify  # told what the classifier preparation is doing, and failures
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.setup_seconds = 0.0  # building the evaluation classifier / real reference; not budgeted
        self.evaluations = 0
        self.history = SampledHistory(self.columns, capacity)
        self.latest: dict | None = None
        self.class_hist: list[float] | None = None
        self.note = ""  # one line for the user when a metric is unavailable or being prepared
        self.mixture = self.dataset if isinstance(self.dataset, GaussianMixture) else None
        self._z = None
        self._reference: ReferenceSample | None = None
        self._evaluator = None
        self._warm = False
        self._failed = not self.columns
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        if self.kind == "images" and not self.columns:
            self.note = f"{getattr(self.dataset, 'name', 'this dataset')} has no labels: no FID or Inception Score"

    # -- what the views read ----------------------------------------------------------------------
    @property
    def modes_total(self) -> int | None:
        """Modes in the mixture (positive weight), or None for data without discrete modes."""
        if self.mixture is None:
            return None
        return int(np.count_nonzero(np.asarray(self.mixture.weights) > 0))

    @property
    def fid_floor(self) -> float | None:
        """FID of real data against itself (what a perfect generator scores); None until known."""
        return self._evaluator.fid_floor if self._evaluator is not None else None

    @property
    def is_real(self) -> float | None:
        """Inception Score of the real held-out images; None until known."""
        return self._evaluator.is_real if self._evaluator is not None else None

    @property
    def ready(self) -> bool:
        """Whether an evaluation can run now (the image classifier may still be training)."""
        return not self._failed and (self.kind == "points" or self._evaluator is not None)

    def series(self) -> dict[str, np.ndarray]:
        """Every quality series and ``"step"``, as NumPy copies."""
        return self.history.snapshot()

    def to_lists(self) -> dict[str, list]:
        """The series as JSON lists (NaN, a diverged generator's score, as null): run files and
        comparison sets store them."""
        return {k: [float(x) if np.isfinite(x) else None for x in v] for k, v in self.series().items()}

    def load_lists(self, series, where: str) -> None:
        """Append series saved by :meth:`to_lists` (None, from a file written before they were
        saved: nothing); a malformed entry raises CheckpointError naming ``where``."""
        if series is None:
            return
        try:
            steps = [int(s) for s in series["step"]]
            if not all(0 <= s < 2**53 for s in steps):  # (stored as float64)
                raise ValueError(f"a step is not a step count: {min(steps)} to {max(steps)}"[:120])
            columns = {k: [np.nan if x is None else float(x) for x in series.get(k, [None] * len(steps))]
                       for k in self.columns}
            rows = [{k: v[j] for k, v in columns.items()} for j in range(len(steps))]
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            # (OverflowError: a step of Infinity, which JSON allows; found by fuzzing)
            raise CheckpointError(f"{where}: the quality history is malformed ({exc})") from None
        for step, row in zip(steps, rows):
            self.history.append(step, row)

    # -- scheduling -------------------------------------------------------------------------------
    def record_training(self, seconds: float) -> None:
        """Add ``seconds`` of training (measured with ``clock``) to what the budget is a share of."""
        self.train_seconds += max(0.0, float(seconds))

    def due(self) -> bool:
        """Whether evaluating now keeps evaluation within the budget so far."""
        return self.eval_seconds <= self.budget * self.train_seconds

    def maybe_evaluate(self, state, step: int) -> dict | None:
        """Evaluate ``state`` if the budget allows (and the metric is ready); the result or None."""
        if self._failed or not self.due():
            return None
        if not self.ready:
            if self.background:
                self._start_preparing()
                return None
            self.prepare()
            if not self.ready:
                return None
        return self.evaluate(state, step)

    def evaluate(self, state, step: int, samples: np.ndarray | None = None) -> dict | None:
        """Evaluate now (budget or not) and record the result at ``step``.

        ``samples`` are the generated samples to score (default: G on the run's fixed noise,
        which is what ``samples.npy`` holds). Returns None when the metric is unavailable.
        """
        if self._failed:
            return None
        if not self.ready:
            self.prepare()  # a forced evaluation waits for the classifier
            if not self.ready:
                return None
        if not self._warm:
            warm = self._warm_up(state)
            if samples is None:
                samples = warm
        start = self.clock()
        if samples is None:
            samples = self._generate(state)
        if self.kind == "points":
            result = self._points_metrics(np.asarray(samples))
        else:
            result = self._image_metrics(np.asarray(samples))
        self.eval_seconds += self.clock() - start
        self.evaluations += 1
        self.latest = {"step": int(step), **result}
        self.history.append(int(step), result)
        return {k: result[k] for k in self.columns}

    def metrics_of(self, samples: np.ndarray) -> dict | None:
        """The quality metrics of ``samples`` (a sampler's, say), by column, recorded nowhere;
        None when the metric is unavailable."""
        if self._failed:
            return None
        if not self.ready:
            self.prepare()
            if not self.ready:
                return None
        samples, hist = np.asarray(samples), self.class_hist  # G's class histogram stays G's
        result = self._points_metrics(samples) if self.kind == "points" else self._image_metrics(samples)
        self.class_hist = hist
        return {k: result[k] for k in self.columns}

    def truncate(self, last_step: int) -> None:
        """Forget evaluations after ``last_step`` (a rollback)."""
        self.history.truncate(last_step)

    # -- preparation ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Get the image classifier (blocking; waits for a background build). Points need none."""
        if self.ready or self._failed:
            return
        if self._thread is not None:
            self._thread.join()
            return
        self._prepare_images()

    def close(self, wait: bool = False) -> None:
        """Stop a background classifier training (at its next batch); ``wait`` for the thread."""
        self._cancel.set()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=60)

    def _start_preparing(self) -> None:
        if self._thread is None:
            self.note = "training the evaluation classifier for FID and Inception Score…"
            self._thread = threading.Thread(target=self._prepare_images, daemon=True,
                                            name="ganplay-evaluation-classifier")
            _PREPARING.add(self)
            self._thread.start()

    def _prepare_images(self) -> None:
        from ganplay.engine.evaluator import ClassifierCancelled, Evaluator

        start = time.perf_counter()
        try:
            evaluator = Evaluator.for_dataset(
                self.dataset, progress=lambda done, total, message: self._say(message),
                cancel=self._cancel.is_set,
            )
            _ = evaluator.fid_floor  # the real reference's statistics, once, outside the budget
        except ClassifierCancelled:
            self._failed = True
            self.note = ""
            return
        except GanplayError as exc:
            self._failed = True
            self._say(f"no FID or Inception Score: {exc}")
            return
        except Exception as exc:  # a bug or an XLA error in the background: report, don't hang
            log.warning("the evaluation classifier failed", exc_info=True)
            self._failed = True
            self._say(f"no FID or Inception Score: {type(exc).__name__}: {exc}")
            return
        self.setup_seconds += time.perf_counter() - start
        self._evaluator = evaluator
        self.note = ""

    def _warm_up(self, state) -> np.ndarray:
        """Compile the evaluation's programs and prepare the real reference, once, as setup:
        a one-off compile counted in the budget would hold off the next evaluations for long.
        Returns the samples it generated (the first evaluation scores them)."""
        start = time.perf_counter()
        samples = self._generate(state)
        if self.kind == "points":
            self._real_reference()
        self.setup_seconds += time.perf_counter() - start
        self._warm = True
        return samples

    def _say(self, message: str) -> None:
        self.note = message
        if self._notify is not None:
            self._notify(message)

    # -- the metrics ------------------------------------------------------------------------------
    def _noise(self):
        if self._z is None:
            self._z = self.trainer.fixed_noise(self.n_samples)  # the samples.npy noise
        return self._z

    def _generate(self, state) -> np.ndarray:
        return np.asarray(jax.device_get(self.trainer.generate(state, self._noise())))

    def _points_metrics(self, samples: np.ndarray) -> dict:
        result = {k: float("nan") for k in self.columns}
        if not np.all(np.isfinite(samples)):  # a diverged generator: nothing meaningful to score
            return result
        if self.mixture is not None:
            m = mode_metrics(samples, self.mixture)
            result.update(modes=float(m["modes"]), high_quality=m["high_quality"],
                          reverse_kl=m["reverse_kl"])
        result["kl"] = self._real_reference().divergences(samples)["kl_real_gen"]
        return result

    def _real_reference(self) -> ReferenceSample:
        if self._reference is None:
            key = jax.random.fold_in(jax.random.PRNGKey(self.trainer.config.seed), REFERENCE_SALT)
            real = np.asarray(jax.device_get(self.trainer.sample_real(key, POINT_SAMPLES)))
            self._reference = ReferenceSample(real)
        return self._reference

    def _image_metrics(self, samples: np.ndarray) -> dict:
        if not np.all(np.isfinite(samples)):
            return {k: float("nan") for k in self.columns}
        r = self._evaluator.evaluate(samples)
        self.class_hist = list(r["class_hist"])
        out = {"fid": r["fid"], "inception_score": r["inception_score"]}
        if self.conditional:  # samples are G on the fixed noise with the display labels
            intended = np.asarray(self.trainer.display_labels(len(samples)))
            out["class_fraction"] = float(self._evaluator.intended_class_fraction(samples, intended))
        return out
