"""A sweep's results: each run's best metrics and headline, ``runs.csv`` and ``summary.csv``
(the mean and sd over seeds of each combination)."""
from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganplay.files import atomic_write_bytes
from ganplay.formatting import format_value
from ganplay.quality_metrics import QUALITY_METRICS

if TYPE_CHECKING:
    from ganplay.engine.sweep import Grid

# The best value of a quality metric over a run's evaluations: higher or lower is better.
BEST = {name: QUALITY_METRICS.get(name).best for name in QUALITY_METRICS}


def best_metrics(metrics_csv: Path, final: dict | None = None) -> dict:
    """The best value of each quality metric over the evaluations in a run's metrics.csv (and
    ``final``, the last evaluation at full precision: the csv keeps 6 digits)."""
    best: dict[str, float] = {}
    cols: list = []
    try:
        with open(metrics_csv, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            cols = [(j, c) for j, c in enumerate(header) if c in BEST]
            for row in reader:
                for j, c in cols:
                    if j < len(row) and row[j]:
                        v = float(row[j])
                        if math.isfinite(v):
                            best[c] = BEST[c](best[c], v) if c in best else v
    except FileNotFoundError:
        pass
    for c, v in (final or {}).items():
        if c in BEST and v is not None and math.isfinite(v):
            best[c] = BEST[c](best[c], v) if c in best else v
    order = [c for _, c in cols] + [c for c in (final or {}) if c not in dict(cols).values()]
    return {c: best[c] for c in order if c in best}


def headline(record: dict) -> str:
    """A run's result in a few words, for its progress line."""
    if record["status"] == "diverged":
        return "diverged: " + record["message"].split(";")[0].replace("training diverged ", "")
    f = record["final"]
    parts = []
    if f.get("modes") is not None:
        parts += [f"{f['modes']:.0f} mode{'s' * (f['modes'] != 1)}", f"{f['high_quality']:.2f} high quality"]
    elif f.get("fid") is not None:
        parts += [f"FID {f['fid']:.1f}", f"IS {f['inception_score']:.2f}"]
    elif f.get("kl") is not None:
        parts.append(f"KL {f['kl']:.3f}")
    if f.get("test_acc") is not None:
        parts.append(f"test accuracy {100 * f['test_acc']:.2f}%")
    return ", ".join(parts) or "done"


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _final_columns(records: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in records:
        cols += [c for c in r["final"] if c not in cols]
    return cols


def _best_columns(records: list[dict]) -> list[str]:
    cols: list[str] = []
    for r in records:
        cols += [c for c in r.get("best", {}) if c not in cols]
    return cols


def _cell(v) -> str:
    if v is None:
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def write_runs_csv(path: Path, grid: Grid, records: list[dict]) -> None:
    """One row per run: its name, varied settings, seed, status, seconds, final and best metrics."""
    keys = [v.key for v in grid.vary]
    final, best = _final_columns(records), _best_columns(records)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", *keys, "seed", "status", "seconds", *final, *(f"best_{c}" for c in best)])
    for r in records:
        w.writerow([r["name"], *(format_value(r["settings"][k]) for k in keys), r["seed"], r["status"],
                    f"{r['seconds']:.2f}", *(_cell(r["final"].get(c)) for c in final),
                    *(_cell(r.get("best", {}).get(c)) for c in best)])
    atomic_write_bytes(path, buf.getvalue().encode())


def summarize(grid: Grid, records: list[dict]) -> list[dict]:
    """Per combination of varied settings: ``n`` (finished runs), ``diverged``, and the mean and
    sample sd (n − 1) over seeds of each final and best metric (finished runs, finite values)."""
    final, best = _final_columns(records), _best_columns(records)
    metrics = [(m, lambda r, m=m: r["final"].get(m)) for m in final]
    metrics += [(f"best_{m}", lambda r, m=m: r.get("best", {}).get(m)) for m in best]
    table = []
    for combo in grid.combinations():
        settings = dict(combo)
        mine = [r for r in records if all(r["settings"].get(k) == v for k, v in settings.items())]
        ok = [r for r in mine if r["status"] == "done"]
        row: dict[str, Any] = {"settings": settings, "n": len(ok), "diverged": len(mine) - len(ok)}
        for name, get in metrics:
            values = [v for v in (get(r) for r in ok) if v is not None and math.isfinite(v)]
            row[f"{name}_mean"] = statistics.fmean(values) if values else None
            row[f"{name}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        table.append(row)
    return table


def write_summary_csv(path: Path, grid: Grid, table: list[dict]) -> None:
    keys = [v.key for v in grid.vary]
    stats = [c for c in (table[0] if table else {}) if c.endswith(("_mean", "_sd"))]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*keys, "n", "diverged", *stats])
    for row in table:
        w.writerow([*(format_value(row["settings"][k]) for k in keys), row["n"], row["diverged"],
                    *(_cell(row[c]) for c in stats)])
    atomic_write_bytes(path, buf.getvalue().encode())


def _chart_title(grid: Grid, steps: int) -> str:
    b = grid.base
    return (f"{b.model} on {b.dataset}, {steps:,} steps: mean ± sd over "
            f"{len(grid.seeds)} seed{'s' * (len(grid.seeds) > 1)}")
