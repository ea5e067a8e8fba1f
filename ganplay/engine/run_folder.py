"""A run's output folder, as ``ganplay train`` and a sweep's runs write it.

``config.json``, ``metrics.csv`` (one row per step: the training metrics, then the dataset's
quality columns, filled on the rows where a scorer scored), ``samples.npy`` (``samples.png`` for
images, ``labels.npy`` for conditional models), with a sampler ``samples_<sampler>.npy`` (its
samples; ``samples.npy`` stays G's) and ``run.npz``, the checkpoint ``--resume``
continues from. :class:`MetricsCsv` and :class:`Checkpoints` are the training loop's observers
that write them while it trains.
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from ganplay.config import Config
from ganplay.engine.checkpoint import save_run
from ganplay.engine.observers import ChunkEvent, Observer
from ganplay.engine.quality import is_conditional
from ganplay.engine.scorers import generate_samples
from ganplay.engine.train import METRIC_NAMES, Trainer
from ganplay.errors import GanplayError
from ganplay.files import atomic_write_bytes

CHECKPOINT = "run.npz"


class MetricsCsv(Observer):
    """Appends each chunk's rows to ``metrics.csv``, with the scored cells on the row of the step
    they were scored at; of a chunk that diverged, the rows before the bad step (none with
    ``rows_before_fault`` off: the file then ends with the last chunk without a fault)."""

    def __init__(self, out: Path, names: tuple[str, ...], columns: tuple[str, ...], rows_before_fault: bool = True):
        self.path = Path(out) / "metrics.csv"
        self.rows_before_fault = rows_before_fault
        self.names, self.columns = tuple(names), tuple(columns)
        self.file = open(self.path, "a", encoding="utf-8")
        self._scored: tuple[int, dict] | None = None
        self._bad: ChunkEvent | None = None

    def on_evaluate(self, step: int, row: dict) -> None:
        self._scored = (step, row)

    def on_chunk(self, event: ChunkEvent) -> None:
        scored, self._scored = self._scored, None
        row = scored[1] if scored is not None and scored[0] == event.step else None
        write_rows(self.file, event.first_step, {n: event.metrics[n] for n in self.names}, self.columns, row)

    def on_bad_chunk(self, event: ChunkEvent) -> None:
        self._bad = event

    def on_divergence(self, step: int, network: str, what: str) -> None:
        e, self._bad = self._bad, None
        if e is not None and self.rows_before_fault:
            write_rows(self.file, e.first_step, {n: e.metrics[n][:step - e.first_step] for n in self.names},
                       self.columns)

    def on_rollback(self, step: int) -> None:
        self.file.close()
        truncate_csv(self.path, step)
        self.file = open(self.path, "a", encoding="utf-8")

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class Checkpoints(Observer):
    """Saves ``run.npz`` every ``every_s`` seconds of training (not at ``last_step``: the run
    saves its end itself), after flushing ``rows``."""

    def __init__(self, out: Path, config: Config, every_s: float, last_step: int, rows: MetricsCsv | None = None):
        self.path = Path(out) / CHECKPOINT
        self.config = config  # a rollback changes the learning rates
        self.every_s = every_s
        self.last_step = last_step
        self.rows = rows
        self._saved = time.perf_counter()

    def on_chunk(self, event: ChunkEvent) -> None:
        now = time.perf_counter()
        if now - self._saved > self.every_s and event.step < self.last_step:
            if self.rows is not None:
                self.rows.flush()
            save_run(self.path, self.config, event.state)
            self._saved = now


def write_rows(csv, first_step: int, m: dict[str, np.ndarray], columns: tuple[str, ...] = (),
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


def truncate_csv(csv: Path, last_step: int) -> None:
    """Keep the header and the rows up to ``last_step`` (a resume or a rollback)."""
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [lines[0]] + [ln for ln in lines[1:] if ln.strip() and int(ln.split(",", 1)[0]) <= last_step]
    atomic_write_bytes(csv, "".join(kept).encode())


def csv_header(columns: tuple[str, ...] = (), names: tuple[str, ...] = METRIC_NAMES) -> str:
    """metrics.csv's first line: the step, the training metrics ``names`` (the trainer's
    ``metric_names``), then the quality columns."""
    return ",".join(("step", *names, *columns)) + "\n"


def prepare_out_dir(out: Path, config: Config, start_step: int, resume: bool,
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
        truncate_csv(csv, start_step)
        match_header(csv, header, len(names))
    else:
        atomic_write_bytes(csv, header.encode())


def match_header(csv: Path, header: str, n_names: int) -> None:
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


def write_sampler_samples(out: Path, sampler: str, samples: np.ndarray) -> None:
    """``samples_<sampler>.npy``: a sampling-time remedy's samples (``samples.npy`` stays G's)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(samples, np.float32))
    atomic_write_bytes(Path(out) / f"samples_{sampler}.npy", buf.getvalue())


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
        from ganplay.report.images import grid_png_bytes

        atomic_write_bytes(out / "samples.png", grid_png_bytes(samples[:64], cols=8))
    return samples
