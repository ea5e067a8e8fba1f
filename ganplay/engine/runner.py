"""Headless training: the loop behind ``ganplay train`` (and scripts, notebooks, benchmarks).

It writes into an output folder ``config.json``, ``metrics.csv`` (one row per step),
``samples.npy`` (generated from fixed noise, in data coordinates), ``samples.png`` for images and
``run.npz`` (the checkpoint that ``--resume`` continues from).

``metrics.csv`` has the training metrics (``METRIC_NAMES``) on every row, then the dataset's
quality columns (:func:`~ganplay.engine.quality.quality_columns`), filled only on the rows where
the :class:`~ganplay.engine.quality.QualityMonitor` evaluated (within its time budget) and always
on the run's last step, from exactly the samples written to ``samples.npy``.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.checkpoint import load_run, save_run
from ganplay.files import atomic_write_bytes
from ganplay.engine.guard import GoodStates, keep_every
from ganplay.engine.observers import ChunkEvent
from ganplay.engine.accuracy import AccuracyMonitor
from ganplay.engine.quality import IMAGE_SAMPLES, POINT_SAMPLES, QualityMonitor, is_conditional, quality_columns
from ganplay.engine.train import METRIC_NAMES, Trainer, build_trainer, describe_fault, fetch_metrics, find_fault
from ganplay.errors import GanplayError

CHECKPOINT = "run.npz"
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
            fixed = sorted(set(overrides) - LIVE_FIELDS)
            if fixed:
                raise GanplayError(
                    f"cannot change {', '.join(fixed)} when resuming; only {', '.join(sorted(LIVE_FIELDS))} can change"
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
    names = trainer.metric_names
    _prepare_out_dir(out, config, start_step, resume, columns, names)
    monitor = QualityMonitor(trainer, clock=clock, notify=notify) if quality and columns else None

    chunk = chunk or default_chunk(trainer)
    target = start_step + steps
    t0 = time.perf_counter()
    last_ckpt = t0
    done = start_step
    good = GoodStates(keep_every(trainer.dataset.kind))
    good.offer(state, done, bool(state.finite))
    rollbacks = 0
    samples = None  # generated at the last step, scored, then written to samples.npy
    final: dict = {}
    next_report = start_step + max(1, steps // 10)
    for o in observers:  # the state training starts from, as a chunk of no steps
        o.on_chunk(ChunkEvent(trainer, state, start_step + 1, 0, {}, 0.0))
    csv = open(out / "metrics.csv", "a", encoding="utf-8")
    try:
        while done < target:
            k = good.limit(done, min(chunk, target - done))  # ends on a kept-state step
            started = clock()
            state, metrics = trainer.run(state, k)
            m = fetch_metrics(metrics)
            seconds = clock() - started
            for watcher in (monitor, accuracy):
                if watcher is not None:
                    watcher.record_training(seconds)
            fault = find_fault(m, done + 1)
            if fault is not None:
                _write_rows(csv, done + 1, {n: m[n][:fault[0] - done - 1] for n in names},
                            columns)  # the rows before the bad step
                message = describe_fault(*fault)
                if on_diverge != "rollback" or good.state is None or rollbacks >= MAX_ROLLBACKS:
                    csv.close()
                    hint = (f"gave up after {rollbacks} rollbacks" if rollbacks
                            else "lower lr_g/lr_d or add label smoothing, or pass --on-diverge rollback")
                    if good.state is not None:  # nothing lost: keep the last good state
                        _truncate_csv(out / "metrics.csv", good.step)
                        save_run(out / CHECKPOINT, config, good.state)
                        hint += (f"; the last good state (step {good.step:,}) is saved: continue it with "
                                 f"ganplay train --resume {out} --steps N --set lr_g=… --set lr_d=…")
                    raise DivergenceError(f"{message}; {hint}")
                rollbacks += 1
                config = config.replace(lr_g=config.lr_g / 2, lr_d=config.lr_d / 2)
                trainer.set_config(config)
                state = trainer.set_hyper(good.state, lr_g=config.lr_g, lr_d=config.lr_d)
                # Fresh batches: the same key would replay the same steps into the same blow-up.
                state = state._replace(key=jax.random.fold_in(state.key, rollbacks))
                done = good.step
                csv.close()
                _truncate_csv(out / "metrics.csv", done)
                atomic_write_bytes(out / "config.json", (config.to_json() + "\n").encode())
                csv = open(out / "metrics.csv", "a", encoding="utf-8")
                for o in observers:
                    o.on_rollback(done)
                if notify is not None:
                    notify(f"{message}; rolled back to step {done:,} and halved the learning rates "
                           f"(lr_g={config.lr_g:g}, lr_d={config.lr_d:g})")
                continue
            quality_row = None
            if accuracy is not None:
                accuracy.advance_baseline(done + k, k)
            if done + k == target:
                # The last step is always scored, on exactly the samples samples.npy gets.
                samples = generate_samples(trainer, state)
                if monitor is not None:
                    quality_row = monitor.evaluate(state, target, samples=samples)
                if accuracy is not None:
                    quality_row = {**(quality_row or {}), **accuracy.evaluate(state, target)}
            else:
                if monitor is not None:
                    quality_row = monitor.maybe_evaluate(state, done + k)
                if accuracy is not None:
                    row = accuracy.maybe_evaluate(state, done + k)
                    if row is not None:
                        quality_row = {**(quality_row or {}), **row}
                        if notify is not None and done + k >= next_report:  # ~10 lines a run
                            notify(_accuracy_line(done + k, row))
                            next_report = done + k + max(1, steps // 10)
            _write_rows(csv, done + 1, {n: m[n] for n in names}, columns, quality_row)
            if done + k == target and quality_row:
                final = dict(quality_row)
            done += k
            good.offer(state, done, True)
            for o in observers:
                o.on_chunk(ChunkEvent(trainer, state, done - k + 1, k, m, seconds))
            now = time.perf_counter()
            if progress is not None:
                rate = (done - start_step) / max(now - t0, 1e-9)
                progress(Progress(done, target, rate, (target - done) / max(rate, 1e-9)))
            if now - last_ckpt > checkpoint_every_s and done < target:
                csv.flush()
                save_run(out / CHECKPOINT, config, state)
                last_ckpt = now
    finally:
        csv.close()
    seconds = time.perf_counter() - t0
    save_run(out / CHECKPOINT, config, state)
    write_samples(trainer, state, out, samples)
    quality_seconds = monitor.eval_seconds + monitor.setup_seconds if monitor is not None else 0.0
    return RunSummary(out, done, seconds, (done - start_step) / max(seconds, 1e-9), quality_seconds, final)


def _accuracy_line(step: int, row: dict) -> str:
    line = f"step {step:,}: test accuracy {100 * row['test_acc']:.2f}%"
    if row.get("baseline_acc") is not None:
        line += f" (supervised-only baseline {100 * row['baseline_acc']:.2f}%)"
    return line


def _write_rows(csv, first_step: int, m: dict[str, np.ndarray], columns: tuple[str, ...] = (),
                quality_row: dict | None = None) -> None:
    """Append one row per step; the quality cells are empty except, when ``quality_row`` is
    given, on the last row."""
    n = len(next(iter(m.values())))
    if n == 0:
        return
    rows = np.column_stack([np.arange(first_step, first_step + n)] + list(m.values()))
    # One format string for the whole row: the quality cells follow as empty fields.
    fmt = ",".join(["%d"] + ["%.6g"] * len(m)) + "," * len(columns)
    try:
        if quality_row is None:
            np.savetxt(csv, rows, fmt=fmt)
        else:
            np.savetxt(csv, rows[:-1], fmt=fmt)
            last = fmt.rstrip(",") % tuple(rows[-1])
            cells = ["" if quality_row.get(c) is None else f"{quality_row[c]:.6g}" for c in columns]
            csv.write(",".join([last] + cells) + "\n")
    except OSError as exc:
        raise GanplayError(f"cannot write {csv.name}: {exc.strerror or exc}; "
                           "free some space or choose another --out folder") from None


def _truncate_csv(csv: Path, last_step: int) -> None:
    """Keep the header and the rows up to ``last_step`` (a resume or a rollback)."""
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.strip() and int(ln.split(",", 1)[0]) <= last_step]
    atomic_write_bytes(csv, "".join(kept).encode())


def csv_header(columns: tuple[str, ...] = (), names: tuple[str, ...] = METRIC_NAMES) -> str:
    """metrics.csv's first line: the step, the training metrics ``names`` (the trainer's
    ``metric_names``), then the quality columns."""
    return ",".join(("step", *names, *columns)) + "\n"


def _prepare_out_dir(out: Path, config: Config, start_step: int, resume: bool,
                     columns: tuple[str, ...] = (), names: tuple[str, ...] = METRIC_NAMES) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanplayError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    atomic_write_bytes(out / "config.json", (config.to_json() + "\n").encode())
    header = csv_header(columns, names)
    csv = out / "metrics.csv"
    if resume and csv.exists():
        # Rows written after the checkpoint was taken (a crash mid-run) are dropped, so the
        # file continues exactly where the restored state does.
        _truncate_csv(csv, start_step)
        _match_header(csv, header, len(names))
    else:
        atomic_write_bytes(csv, header.encode())


def _match_header(csv: Path, header: str, n_names: int) -> None:
    """Give a resumed metrics.csv this version's columns (a run started by an older ganplay has
    no quality columns): training cells are kept, quality cells of old rows left empty."""
    lines = csv.read_text(encoding="utf-8").splitlines()
    if lines and lines[0] + "\n" == header:
        return
    n_cells = header.count(",") + 1
    n_kept = 1 + n_names
    rows = [",".join((ln.split(",") + [""] * n_cells)[:n_kept] + [""] * (n_cells - n_kept))
            for ln in lines[1:] if ln.strip()]
    atomic_write_bytes(csv, "".join([header] + [r + "\n" for r in rows]).encode())


def generate_samples(trainer: Trainer, state) -> np.ndarray:
    """G on the run's fixed noise: what ``samples.npy`` holds and the final evaluation scores."""
    n = POINT_SAMPLES if trainer.dataset.kind == "points" else IMAGE_SAMPLES
    z = trainer.fixed_noise(n)
    return np.asarray(jax.device_get(trainer.generate(state, z)), np.float32)


def write_samples(trainer: Trainer, state, out: Path, samples: np.ndarray | None = None) -> np.ndarray:
    """``samples.npy`` from the run's fixed noise (and ``samples.png`` for images); ``samples``
    when already generated from ``state``."""
    if samples is None:
        samples = generate_samples(trainer, state)
    buf = io.BytesIO()
    np.save(buf, samples)
    atomic_write_bytes(out / "samples.npy", buf.getvalue())
    if is_conditional(trainer):  # the class each sample was generated for
        buf = io.BytesIO()
        np.save(buf, np.asarray(trainer.display_labels(len(samples)), np.int64))
        atomic_write_bytes(out / "labels.npy", buf.getvalue())
    if trainer.dataset.kind == "images":
        from ganplay.engine.images import grid_png_bytes

        atomic_write_bytes(out / "samples.png", grid_png_bytes(samples[:64], cols=8))
    return samples


def format_progress(p: Progress) -> str:
    pct = 100.0 * p.step / max(p.target, 1)
    eta = "--:--" if not math.isfinite(p.eta_s) else time.strftime("%M:%S", time.gmtime(p.eta_s))
    if p.eta_s >= 3600:
        eta = f"{int(p.eta_s // 3600)}h{time.strftime('%M:%S', time.gmtime(p.eta_s))}"
    return f"step {p.step:,}/{p.target:,} ({pct:5.1f}%)  {p.rate:,.0f} steps/s  ETA {eta}"
