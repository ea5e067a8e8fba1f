"""What the views draw of a run: a :class:`Snapshot` of plain NumPy, safe to pass between threads.

Its optional parts are typed dataclasses, None when the run has none: a reader writes
``snap.field`` or ``snap.quality.modes_total`` and a type checker (or a reader) sees what is
there, instead of a string key into a dict whose schema lived in a docstring.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganplay.config import Config


@dataclass(frozen=True)
class DecisionField:
    """D's decision field over the visible range (2-D data, the field overlay)."""

    values: np.ndarray  # float32 [100, 100] D(x); row = y from y0, column = x from x0, at cell centres
    extent: tuple[float, float, float, float]  # (x0, x1, y0, y1)


@dataclass(frozen=True)
class Quality:
    """Sample quality scored so far (``engine/quality.py``)."""

    series: dict[str, np.ndarray]  # float64 series: "step" and the dataset's columns (quality_columns)
    note: str = ""  # why nothing is scored yet, "" when there is nothing to say
    modes_total: int | None = None  # mixtures: the modes there are to capture
    floor: dict[str, float] | None = None  # images: {"fid", "inception_score"} of real data, once known
    class_hist: list[float] | None = None  # images: the latest fractions of generated classes, once known


@dataclass(frozen=True)
class Classes:
    """Conditional models: which class each generated tile was drawn as."""

    labels: np.ndarray  # [N] the class of each generated sample
    rows: int  # K: ``generated`` is a class grid, row r = class r; 0: all are ``draw``
    draw: int | None  # the class the user picked, None: one row per class
    count: int  # classes the model knows


@dataclass(frozen=True)
class Accuracy:
    """Semi-supervised models: D as a classifier, on the test split."""

    series: dict[str, np.ndarray]  # "step", "test_acc", "baseline_step", "baseline_acc"
    confusion: np.ndarray | None  # [K, K] counts, rows = true class (None before the first evaluation)
    baseline_confusion: np.ndarray | None  # the supervised-only baseline's, once it runs
    has_baseline: bool
    baseline_step: int | None
    note: str  # the label budget and split


@dataclass(frozen=True)
class SubStep:
    """Step-by-step mode: the sub-step just taken (``engine/substeps.py``)."""

    phase: str  # "sample", "d" or "g"
    metrics: dict[str, float]  # what it measured (nothing yet after "sample")
    batch_real: np.ndarray | None = None  # 2-D data: the batch D trains on (float32 [n, 2])
    batch_fake: np.ndarray | None = None  # ... and its G(z)
    previous_fake: np.ndarray | None = None  # after "g": the displayed points before G's update


@dataclass(frozen=True)
class Sampled:
    """2-D data of a plain GAN with a sampler (``Config.sampler`` drs or mh): what it made of the
    shown generated points."""

    name: str  # "drs" or "mh"
    accepted: np.ndarray  # bool [N]: the points it kept (DRS) or moved to (MH)
    rate: float  # their share


@dataclass(frozen=True)
class Snapshot:
    """What the views draw: plain NumPy, safe to pass between threads. The overlays are there
    when switched on in ``Session.overlays`` (and None otherwise)."""

    step: int
    kind: str  # "points" or "images"
    generated: np.ndarray  # [N, 2] points or [N, H, W, C] images in [-1, 1]
    real: np.ndarray
    history: dict[str, np.ndarray]
    steps_per_s: float
    config: Config
    finite: bool = True
    quality: Quality = dataclasses.field(default_factory=lambda: Quality({}))
    confusion: dict[str, float] | None = None  # D's over recent steps: TP, FN, TN, FP (fractions), window
    d_scores: np.ndarray | None = None  # images: D's score of each generated tile [N]
    field: DecisionField | None = None  # points: D's decision field
    arrows: np.ndarray | None = None  # points: float32 [300, 2], minus the gradient of G's loss at generated[:300]
    # points: float32 [1, 200, 2] or [25, 25, 2], G on a noise grid, [i, j] at z0 = u[j], z1 = u[i]
    manifold: np.ndarray | None = None
    # float32 [64, 2] points or [10, H, W, C] images along a slerp between two noise vectors
    interpolation: np.ndarray | None = None
    sampler: Sampled | None = None  # points: the sampler's verdict on ``generated``
    classes: Classes | None = None  # conditional models
    accuracy: Accuracy | None = None  # semi-supervised models
    substep: SubStep | None = None  # until the run moves on from a sub-step
    latent: Any = None  # the latent lab's copy of G (engine.latent.GeneratorSnapshot), while it shows
    spectrum: Any = None  # the game's eigenvalues (engine.spectrum.SpectrumTrail), while their view shows

    def replace(self, **changes) -> Snapshot:
        """A copy with ``changes`` (the worker adds the spectrum; the timeline shows a past frame)."""
        return dataclasses.replace(self, **changes)
