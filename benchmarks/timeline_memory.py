"""The timeline recorder's memory on long runs, and how long a video export takes.

    python benchmarks/timeline_memory.py

Synthetic feeding (no training): frames of the window's shapes arrive far more often than a
window publishes them (toy: a frame every 10 steps, with the decision field and the manifold on;
gia-mlp on MNIST: 64 images every 2 steps), so the figures are an upper bound for those runs.
Then an MP4 and a GIF of a 10,000-step stretch are exported (a dense recording: every frame kept,
as ``ganplay train --video`` keeps them; and the window's thinned recording).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time

import numpy as np

from ganplay.engine.recorder import Recorder
from ganplay.engine.snapshot import DecisionField
from ganplay.report.video import export_video


def toy(steps: int, every: int = 10, dense: int | None = None) -> Recorder:
    rng = np.random.default_rng(0)
    rec = Recorder() if dense is None else Recorder(dense=dense)
    rec.real = rng.normal(size=(1500, 2)).astype(np.float16)
    base = rng.normal(size=(1500, 2)).astype(np.float32)
    u = np.linspace(-3, 3, 100)
    field = (1 / (1 + np.exp(-(u[None, :] ** 2 + u[:, None] ** 2 - 2)))).astype(np.float32)  # smooth, as D's
    mesh = rng.normal(size=(25, 25, 2)).astype(np.float32)
    for step in range(0, steps + 1, every):
        t = step / max(steps, 1)
        rec.add(step, base * (0.2 + t), field=DecisionField(field, (-3, 3, -3, 3)),
                manifold=mesh, metrics={"d_loss": 1.3 + 0.1 * np.sin(step / 500), "g_loss": 0.7, "modes": 8})
    return rec


def images(steps: int, every: int = 2) -> Recorder:
    rng = np.random.default_rng(1)
    rec = Recorder()
    tiles = rng.uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    for step in range(0, steps + 1, every):
        rec.add(step, tiles, metrics={"d_loss": 1.0, "g_loss": 0.7})
    return rec


def record_cost(n: int = 300) -> None:
    """What recording a window's snapshot costs the training thread: a real toy-mlp session's
    snapshot with the decision field on, recorded ``n`` times at advancing steps."""
    from ganplay.config import Config
    from ganplay.engine.session import Session

    session = Session(Config.for_model("toy-mlp", dataset="grid25"))
    session.overlays["field"] = True
    snap = session.snapshot()
    rec = Recorder()
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(n):
        rec.record(dataclasses.replace(snap, step=i * 20))
    dt, cpu = (time.perf_counter() - t0) / n, (time.process_time() - c0) / n
    print(f"recording a snapshot (toy, field on): {1e3 * dt:.3f} ms wall, {1e3 * cpu:.3f} ms CPU each; "
          f"at 40 snapshots/s {100 * 40 * cpu:.2f}% of a core")


def main() -> int:
    for name, rec in (("toy-mlp 20,000 steps (field + manifold)", toy(20_000)),
                      ("toy-mlp 100,000 steps (field + manifold)", toy(100_000)),
                      ("gia-mlp 20,000 steps (MNIST, 64 images)", images(20_000))):
        print(f"{name:44s} {len(rec):5,} frames kept  {rec.nbytes / 2**20:6.1f} MB")
    record_cost()
    folder = tempfile.mkdtemp()
    for label, rec in (("dense (every frame, as train --video)", toy(10_000, every=20, dense=10**9)),
                       ("window's thinned recording", toy(10_000))):
        for suffix in (".mp4", ".gif"):
            path = os.path.join(folder, "run" + suffix)
            t0 = time.perf_counter()
            n = export_video(rec, path)
            dt = time.perf_counter() - t0
            print(f"export 10,000 steps, {label}: {suffix} {n} frames in {dt:.1f} s "
                  f"({1e3 * dt / n:.0f} ms a frame, {os.path.getsize(path) / 2**20:.1f} MB)")
    print(f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
