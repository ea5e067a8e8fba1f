"""Headless training: the loop behind ``ganplay train`` (and scripts, notebooks, benchmarks).

It writes into an output folder ``config.json``, ``metrics.csv`` (one row per step),
``samples.npy`` (generated from fixed noise, in data coordinates), ``samples.png`` for images and
``run.npz`` (the checkpoint that ``--resume`` continues from).
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jax
import numpy as np

from ganplay.config import LIVE_FIELDS, Config
from ganplay.engine.checkpoint import atomic_write_bytes, load_run, save_run
from ganplay.engine.guard import GoodStates, keep_every
from ganplay.engine.train import METRIC_NAMES, Trainer, describe_fault, fetch_metrics, find_fault
from ganplay.errors import GanplayError

CHECKPOINT = "run.npz"
POINT_SAMPLES = 2500
IMAGE_SAMPLES = 1000
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
) -> RunSummary:
    """Train ``steps`` more steps into ``out_dir``.

    On divergence (a non-finite loss or parameter, detected inside the fused step) the run stops
    with ``DivergenceError``; with ``on_diverge="rollback"`` it returns to the last kept good
    state instead, halves both learning rates, draws fresh batches and goes on (at most
    ``MAX_ROLLBACKS`` times).
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
            trainer.config = config
    else:
        if config is None:
            raise GanplayError("no configuration given")
        trainer = Trainer(config)
        state = trainer.init()
    note = getattr(trainer.dataset, "split_note", "")
    if note and notify is not None:
        notify(note)
    start_step = int(state.step)
    _prepare_out_dir(out, config, start_step, resume)

    chunk = chunk or default_chunk(trainer)
    target = start_step + steps
    t0 = time.perf_counter()
    last_ckpt = t0
    done = start_step
    good = GoodStates(keep_every(trainer.dataset.kind))
    good.offer(state, done, bool(state.finite))
    rollbacks = 0
    csv = open(out / "metrics.csv", "a", encoding="utf-8")
    try:
        while done < target:
            k = min(chunk, target - done)
            state, metrics = trainer.run(state, k)
            m = fetch_metrics(metrics)
            fault = find_fault(m, done + 1)
            keep = k if fault is None else fault[0] - done - 1  # rows before the bad step
            _write_rows(csv, done + 1, {n: m[n][:keep] for n in METRIC_NAMES})
            if fault is not None:
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
                trainer.config = config
                state = trainer.set_hyper(good.state, lr_g=config.lr_g, lr_d=config.lr_d)
                # Fresh batches: the same key would replay the same steps into the same blow-up.
                state = state._replace(key=jax.random.fold_in(state.key, rollbacks))
                done = good.step
                csv.close()
                _truncate_csv(out / "metrics.csv", done)
                atomic_write_bytes(out / "config.json", (config.to_json() + "\n").encode())
                csv = open(out / "metrics.csv", "a", encoding="utf-8")
                if notify is not None:
                    notify(f"{message}; rolled back to step {done:,} and halved the learning rates "
                           f"(lr_g={config.lr_g:g}, lr_d={config.lr_d:g})")
                continue
            done += k
            good.offer(state, done, True)
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
    write_samples(trainer, state, out)
    return RunSummary(out, done, seconds, (done - start_step) / max(seconds, 1e-9))


def _write_rows(csv, first_step: int, m: dict[str, np.ndarray]) -> None:
    n = len(m[METRIC_NAMES[0]])
    if n == 0:
        return
    rows = np.column_stack([np.arange(first_step, first_step + n)] + [m[k] for k in METRIC_NAMES])
    try:
        np.savetxt(csv, rows, fmt=["%d"] + ["%.6g"] * len(METRIC_NAMES), delimiter=",")
    except OSError as exc:
        raise GanplayError(f"cannot write {csv.name}: {exc.strerror or exc}; "
                           "free some space or choose another --out folder") from None


def _truncate_csv(csv: Path, last_step: int) -> None:
    """Keep the header and the rows up to ``last_step`` (a resume or a rollback)."""
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.strip() and int(ln.split(",", 1)[0]) <= last_step]
    atomic_write_bytes(csv, "".join(kept).encode())


def _prepare_out_dir(out: Path, config: Config, start_step: int, resume: bool) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanplayError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    atomic_write_bytes(out / "config.json", (config.to_json() + "\n").encode())
    header = "step," + ",".join(METRIC_NAMES) + "\n"
    csv = out / "metrics.csv"
    if resume and csv.exists():
        # Rows written after the checkpoint was taken (a crash mid-run) are dropped, so the
        # file continues exactly where the restored state does.
        _truncate_csv(csv, start_step)
    else:
        atomic_write_bytes(csv, header.encode())


def write_samples(trainer: Trainer, state, out: Path) -> np.ndarray:
    """``samples.npy`` from the run's fixed noise (and ``samples.png`` for images)."""
    n = POINT_SAMPLES if trainer.dataset.kind == "points" else IMAGE_SAMPLES
    z = trainer.fixed_noise(n)
    samples = np.asarray(jax.device_get(trainer.generate(state, z)), np.float32)
    buf = io.BytesIO()
    np.save(buf, samples)
    atomic_write_bytes(out / "samples.npy", buf.getvalue())
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
