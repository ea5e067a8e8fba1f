"""What Compare's window shows and exports of its runs: the table's latest numbers and a CSV of
every run's logged steps."""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from ganplay.engine.display import Snapshot

# Metrics the table shows, from the per-step history (a trailing mean) and the quality series.
STEP_METRICS = ("d_loss", "g_loss", "d_real", "d_fake")
RECENT_POINTS = 20  # history points averaged for the table (each point may already be a bin)


def latest_metrics(snap: Snapshot) -> dict[str, float]:
    """A run's latest numbers for the table: the step, steps/s, a trailing mean of each per-step
    metric and the newest value of each quality metric."""
    out: dict[str, float] = {"step": float(snap.step), "steps/s": float(snap.steps_per_s)}
    for key in STEP_METRICS:
        values = snap.history.get(key)
        if values is not None and len(values):
            out[key] = float(np.mean(values[-RECENT_POINTS:]))
    for key, values in snap.quality.series.items():
        if key != "step" and len(values):
            out[key] = float(values[-1])
    return out


def comparison_csv(names: list[str], labels_: list[str], snapshots: list[Snapshot]) -> str:
    """Per run, per logged step: the per-step metrics (as the bounded history holds them: a
    long run's early steps are bin means) and the quality metrics at the steps they were measured."""
    metric_cols: list[str] = []
    quality_cols: list[str] = []
    for snap in snapshots:
        metric_cols += [k for k in snap.history if k != "step" and k not in metric_cols]
        quality_cols += [k for k in snap.quality.series if k != "step" and k not in quality_cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "settings", "step", *metric_cols, *quality_cols])
    for name, label, snap in zip(names, labels_, snapshots):
        rows: dict[float, dict[str, float]] = {}
        h = snap.history
        for j, step in enumerate(h.get("step", ())):
            rows.setdefault(float(step), {}).update({k: h[k][j] for k in metric_cols if k in h})
        q = snap.quality.series
        for j, step in enumerate(q.get("step", ())):
            rows.setdefault(float(step), {}).update({k: q[k][j] for k in quality_cols if k in q})
        settings = label.partition(": ")[2]
        for step in sorted(rows):
            row = rows[step]
            w.writerow([name, settings, f"{step:g}", *(_cell(row.get(k)) for k in (*metric_cols, *quality_cols))])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    v = float(v)
    return f"{v:.6g}" if math.isfinite(v) else str(v)
