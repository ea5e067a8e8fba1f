"""Headless training: the loop behind ``ganplay train`` (and scripts, notebooks, benchmarks).

It writes into an output folder ``config.json``, ``metrics.csv`` (one row per step),
``samples.npy`` (generated from fixed noise, in data coordinates), ``samples.png`` for images and
``run.npz`` (the checkpoint that ``--resume`` continues from).

``metrics.csv`` has the training metrics (``METRIC_NAMES``) on every row, then the dataset's
quality columns (:func:`~ganplay.engine.quality.quality_columns`), filled only on the rows where
the :class:`~ganplay.engine.quality.QualityMonitor` evaluated (within its time budget) and always
on the run's last step, from exactly the samples written to ``samples.npy``. With a sampler
(``Config.sampler``: DRS or MH-GAN, ``engine/samplers.py``) the last step also gets the sampler's
own columns (``drs_high_quality``…, never mixed with G's), and its samples go to
``samples_<sampler>.npy``.

The training itself is the one loop (:class:`~ganplay.engine.loop.ChunkLoop`); what a headless
run adds are its observers (scorers, :mod:`~ganplay.engine.run_folder`'s writers, progress) and
its policy on divergence (:class:`Rollback`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import jax

from ganplay.config import LIVE_FIELDS, VIEW_FIELDS, Config
from ganplay.engine.accuracy import AccuracyMonitor
from ganplay.engine.checkpoint import load_run, save_run
from ganplay.engine.guard import GoodStates, keep_every
from ganplay.engine.loop import ChunkLoop
from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.engine.quality import QualityMonitor, is_conditional, quality_columns, sample_count, sampler_columns
from ganplay.engine.run_folder import (  # noqa: F401 (re-exported: callers import them here)
    CHECKPOINT,
    Checkpoints,
    write_sampler_samples,
    MetricsCsv,
    csv_header,
    prepare_out_dir,
    truncate_csv,
    write_samples,
)
from ganplay.engine.scorers import AccuracyScorer, QualityScorer, SamplerScorer, generate_samples  # noqa: F401
from ganplay.engine.train import Trainer, build_trainer, describe_fault
from ganplay.errors import GanplayError
from ganplay.files import atomic_write_bytes
ON_DIVERGE = ("stop", "rollback")
MAX_ROLLBACKS = 5


class DivergenceError(GanplayError):
    """Training produced non-finite losses."""


@dataclass
class Progress:
    step: int  # steps done in this run (absolute)
    target: int  # absolute step the run stops at
    rate: float  # steps per second over this invocation
    eta_s: float


@dataclass
class RunSummary:
    out_dir: Path
    steps: int  # absolute step reached
    seconds: float
    steps_per_s: float
    quality_seconds: float = 0.0  # of ``seconds``: evaluating quality, including its one-off setup
    final: dict = field(default_factory=dict)  # the last step's quality/accuracy cells (scored)


def default_chunk(trainer: Trainer) -> int:
    """Steps per dispatch: enough to hide Python overhead, few enough for steady progress."""
    return 200 if trainer.dataset.kind == "points" else 10


def train_headless(
    config: Config | None,
    steps: int,
    out_dir,
    *,
    resume: bool = False,
    overrides: dict | None = None,
    chunk: int | None = None,
    checkpoint_every_s: float = 60.0,
    progress: Callable[[Progress], None] | None = None,
    notify: Callable[[str], None] | None = None,
    on_diverge: str = "stop",
    quality: bool = True,
    baseline: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    observers: tuple = (),
) -> RunSummary:
    """Train ``steps`` more steps into ``out_dir``.

    On divergence (a non-finite loss or parameter, detected inside the fused step) the run stops
    with ``DivergenceError``; with ``on_diverge="rollback"`` it returns to the last kept good
    state instead, halves both learning rates, draws fresh batches and goes on (at most
    ``MAX_ROLLBACKS`` times).

    ``quality=False`` skips the quality evaluations (their metrics.csv cells stay empty).

    ``observers`` (``engine/observers.py``: a timeline recorder, say) see the start state (a
    chunk of 0 steps), each finished chunk and each rollback.

    Semi-supervised models also get ``test_acc`` (the classifier's accuracy on the held-out test
    split) and, with ``baseline``, ``baseline_acc``: the same D trained in step on the same
    labels with the supervised loss alone (on ``resume`` it first catches up to the start step).
    """
    out = Path(out_dir)
    if steps < 0:
        raise GanplayError(f"--steps={steps} must be 0 or more")
    if on_diverge not in ON_DIVERGE:
        raise GanplayError(f"--on-diverge={on_diverge} is not one of {', '.join(ON_DIVERGE)}")
    if resume:
        ckpt = out / CHECKPOINT
        if not ckpt.exists():
            raise GanplayError(f"cannot resume: {ckpt} does not exist (train into {out} first)")
        config, trainer, state, _ = load_run(ckpt)
        if overrides:
            fixed = sorted(set(overrides) - LIVE_FIELDS - VIEW_FIELDS)
            if fixed:
                raise GanplayError(
                    f"cannot change {', '.join(fixed)} when resuming; only "
                    f"{', '.join(sorted(LIVE_FIELDS | VIEW_FIELDS))} can change"
                )
            config = config.replace(**overrides)
            state = trainer.set_hyper(state, **{k: getattr(config, k) for k in LIVE_FIELDS})
            trainer.set_config(config)
    else:
        if config is None:
            raise GanplayError("no configuration given")
        trainer = build_trainer(config)
        state = trainer.init()
    start_step = int(state.step)
    accuracy = AccuracyMonitor(trainer, clock=clock) if callable(getattr(trainer, "test_accuracy", None)) else None
    if baseline and accuracy is None:
        raise GanplayError(f"--baseline needs a semi-supervised model (sgan-…); {config.model} has no classifier")
    if accuracy is not None and baseline:
        accuracy.start_baseline()
        accuracy.advance_baseline(start_step, start_step)
    note = accuracy.note if accuracy is not None else getattr(trainer.dataset, "split_note", "")
    if note and notify is not None:
        notify(note)
    columns = quality_columns(trainer.dataset, is_conditional(trainer))
    if accuracy is not None:
        columns += accuracy.columns()
    columns += sampler_columns(config.sampler, columns)  # beside G's, under their own names
    names = trainer.metric_names
    prepare_out_dir(out, config, start_step, resume, columns, names)
    monitor = QualityMonitor(trainer, clock=clock, notify=notify) if quality and columns else None

    chunk = chunk or default_chunk(trainer)
    target = start_step + steps
    t0 = time.perf_counter()
    # The loop and its observers: scorers (the last step is always scored, quality on exactly
    # the samples samples.npy gets), metrics.csv rows, checkpoints, progress.
    loop = ChunkLoop(trainer, state, GoodStates(keep_every(trainer.dataset.kind)), clock=clock)
    samples = loop.add(QualityScorer(monitor, final_step=target))
    sampled = None
    if config.sampler != "none":  # the sampler's samples and their cells, at the last step
        sampled = loop.add(SamplerScorer(config.sampler, monitor, target, sample_count(trainer.dataset.kind), config.seed))
    if accuracy is not None:
        loop.add(AccuracyScorer(accuracy, target, notify=notify, report_every=steps // 10, start_step=start_step))
    final = loop.add(LastCells(target))
    rows = loop.add(MetricsCsv(out, names, columns))
    saves = loop.add(Checkpoints(out, config, checkpoint_every_s, target, rows))
    if progress is not None:
        loop.add(ProgressReport(progress, target))
    policy = Rollback(out, on_diverge, saves, notify)
    for o in observers:  # (a recorder): the state training starts from, as a chunk of no steps
        loop.add(o).on_chunk(ChunkEvent(trainer, loop.state, start_step + 1, 0, {}, 0.0))
    try:
        while loop.step < target:
            done = loop.step
            loop.advance(loop.good.limit(done, min(chunk, target - done)))  # ends on a kept-state step
            if loop.divergence is not None:
                config = policy.handle(loop, config, rows)
    finally:
        rows.close()
    seconds = time.perf_counter() - t0
    save_run(out / CHECKPOINT, config, loop.state)
    write_samples(trainer, loop.state, out, samples.samples)
    if sampled is not None and sampled.samples is not None:
        write_sampler_samples(out, config.sampler, sampled.samples)
    quality_seconds = monitor.eval_seconds + monitor.setup_seconds if monitor is not None else 0.0
    return RunSummary(out, loop.step, seconds, (loop.step - start_step) / max(seconds, 1e-9), quality_seconds,
                      final.cells)


class LastCells(Observer):
    """The cells scored at ``step`` (a run's last): its summary's ``final``."""

    def __init__(self, step: int):
        self.step, self.cells = step, {}

    def on_evaluate(self, step: int, row: dict) -> None:
        if step == self.step:
            self.cells = dict(row)


class ProgressReport(Observer):
    """Hands ``progress`` a :class:`Progress` after every chunk."""

    def __init__(self, progress: Callable[[Progress], None], target: int):
        self.progress, self.target = progress, target
        self._t0, self._start = time.perf_counter(), None

    def on_chunk(self, event: ChunkEvent) -> None:
        if self._start is None:
            self._start = event.first_step - 1
        rate = (event.step - self._start) / max(time.perf_counter() - self._t0, 1e-9)
        self.progress(Progress(event.step, self.target, rate, (self.target - event.step) / max(rate, 1e-9)))


class Rollback:
    """What a headless run does when it diverges: stop (``DivergenceError``, the last good state
    saved), or with ``on_diverge="rollback"`` go back to the last kept good state with both
    learning rates halved and fresh batches (at most ``MAX_ROLLBACKS`` times)."""

    def __init__(self, out: Path, on_diverge: str, saves: Checkpoints, notify: Callable[[str], None] | None):
        self.out, self.on_diverge, self.saves, self.notify = out, on_diverge, saves, notify
        self.rollbacks = 0

    def handle(self, loop: ChunkLoop, config: Config, rows: MetricsCsv) -> Config:
        """Roll ``loop`` back (returns the new config) or raise DivergenceError."""
        d, good = loop.divergence, loop.good
        message = describe_fault(d.step, d.network, d.what)
        if self.on_diverge != "rollback" or good.state is None or self.rollbacks >= MAX_ROLLBACKS:
            hint = (f"gave up after {self.rollbacks} rollbacks" if self.rollbacks
                    else "lower lr_g/lr_d or add label smoothing, or pass --on-diverge rollback")
            if good.state is not None:  # nothing lost: keep the last good state
                rows.close()
                truncate_csv(rows.path, good.step)
                save_run(self.out / CHECKPOINT, config, good.state)
                hint += (f"; the last good state (step {good.step:,}) is saved: continue it with "
                         f"ganplay train --resume {self.out} --steps N --set lr_g=… --set lr_d=…")
            raise DivergenceError(f"{message}; {hint}")
        self.rollbacks += 1
        config = config.replace(lr_g=config.lr_g / 2, lr_d=config.lr_d / 2)
        loop.trainer.set_config(config)
        state = loop.trainer.set_hyper(good.state, lr_g=config.lr_g, lr_d=config.lr_d)
        # Fresh batches: the same key would replay the same steps into the same blow-up.
        state = state._replace(key=jax.random.fold_in(state.key, self.rollbacks))
        loop.rollback(state, good.step)
        self.saves.config = config
        atomic_write_bytes(self.out / "config.json", (config.to_json() + "\n").encode())
        if self.notify is not None:
            self.notify(f"{message}; rolled back to step {good.step:,} and halved the learning rates "
                        f"(lr_g={config.lr_g:g}, lr_d={config.lr_d:g})")
        return config


def format_progress(p: Progress) -> str:
    pct = 100.0 * p.step / max(p.target, 1)
    eta = "--:--" if not math.isfinite(p.eta_s) else time.strftime("%M:%S", time.gmtime(p.eta_s))
    if p.eta_s >= 3600:
        eta = f"{int(p.eta_s // 3600)}h{time.strftime('%M:%S', time.gmtime(p.eta_s))}"
    return f"step {p.step:,}/{p.target:,} ({pct:5.1f}%)  {p.rate:,.0f} steps/s  ETA {eta}"
