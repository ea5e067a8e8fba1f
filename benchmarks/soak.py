"""Soak benchmarks: does a long run keep memory flat and the window responsive?

    python benchmarks/soak.py gui --minutes 60 --dataset grid25 --overlays field,arrows,manifold,interpolation
    python benchmarks/soak.py compare --minutes 30 --dataset grid25 --runs 4
    python benchmarks/soak.py gui --minutes 30 --model gia-mlp --dataset mnist --data-dir ../shared/data/mnist
    python benchmarks/soak.py headless --steps 1000000   # engine session only

The window soaks log, every ``--every`` seconds (default a minute), the step, RSS, the Python
object count, frames drawn, this process's CPU seconds, the load and the timeline recorder's
bytes, to a CSV (``--log``), and print a JSON summary: per-interval frames/s, steps/s and steps
per CPU second (which other processes on a shared machine do not change), and the targets' figures
after ``--settle-minutes``: RSS and object growth, and the change from the first interval after
settling to the last. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def jax_live_mb() -> float:
    import jax

    return sum(a.nbytes for a in jax.live_arrays()) / 2**20


COLUMNS = "seconds,step,rss_mb,objects,frames,cpu_s,load1,recorder_mb,malloc_used_mb,malloc_free_mb,jax_live_mb"


def _config(args):
    from ganplay.config import Config

    sizes = {k: v for k, v in (("hidden", args.hidden), ("batch_size", args.batch_size)) if v is not None}
    if args.data_dir:
        sizes["data_dir"] = args.data_dir
    return Config.for_model(args.model, dataset=args.dataset, **sizes)


def soak_headless(args) -> dict:
    from ganplay.engine.session import ChunkSizer, Session

    session = Session(_config(args))
    sizer = ChunkSizer()
    rows, t0 = [], time.perf_counter()
    next_log = 0.0
    start_rss = None
    while session.step < args.steps:
        k = min(sizer.k, args.steps - session.step)
        t = time.perf_counter()
        session.advance(k)
        sizer.update(k, session.last_train_seconds)
        session.snapshot()  # what the GUI would take ~60 times a second
        now = time.perf_counter() - t0
        if now >= next_log:
            rss = rss_mb()
            if start_rss is None and session.step >= 20_000:
                start_rss = rss
            rows.append((now, session.step, rss))
            next_log = now + args.every
    rows.append((time.perf_counter() - t0, session.step, rss_mb()))
    return _summary(rows, start_rss, extra={"steps_per_s": session.step / rows[-1][0]})


def _window_soak(args, make_window, drawn_signal: str, step_of, recorder_bytes) -> dict:
    """Play a window offscreen for ``args.minutes``; every ``args.every`` seconds log the time,
    step, RSS, Python object count, frames drawn, this process's CPU seconds and the load."""
    import gc

    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.engine.compile_cache import enable_compilation_cache

    enable_compilation_cache()
    app = QApplication.instance() or QApplication([])
    w, start = make_window()
    w.show()
    frames: list[float] = []
    rows: list[tuple] = []
    t0 = time.perf_counter()
    state = {"closing": False}
    live = open(args.log + ".live", "w")  # rows as they come, in case the run has to be killed
    live.write(COLUMNS + "\n")
    from ganplay import heap

    def finish():
        if not state["closing"]:
            state["closing"] = True
            w.close()
            app.quit()

    def on_frame(_step):
        frames.append(time.perf_counter())
        # Also checked here, not only by the timer: a timer starved by painting must not keep
        # the soak running past its end.
        if frames[-1] - t0 >= args.minutes * 60 + 2 * args.every:
            finish()

    getattr(w, drawn_signal).connect(on_frame)

    def log():
        now = time.perf_counter() - t0
        row = (now, step_of(w), rss_mb(), len(gc.get_objects()), len(frames), time.process_time(),
               os.getloadavg()[0], recorder_bytes(w) / 2**20, *(heap.usage_mb() or (0.0, 0.0)), jax_live_mb())
        rows.append(row)
        live.write(",".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + "\n")
        live.flush()
        if now >= args.minutes * 60:
            finish()

    timer = QTimer()
    timer.timeout.connect(log)
    timer.start(int(args.every * 1000))
    QTimer.singleShot(0, log)
    QTimer.singleShot(0, start)
    app.exec()
    gaps = np.diff(np.asarray(frames)) * 1000 if len(frames) > 1 else np.zeros(1)
    late = gaps[len(gaps) // 10:]  # skip the warm-up (compiles)
    return {"frame_ms_p50": float(np.percentile(late, 50)), "frame_ms_p99": float(np.percentile(late, 99)),
            **trend(rows, settle_s=args.settle_minutes * 60), "log": rows}


def trend(rows, settle_s: float) -> dict:
    """Per-interval rates and the figures the soak targets: RSS and object growth after the
    settling time, and frames/s, steps/s and steps per CPU second (the load-independent one) in
    the first interval after settling against the last interval."""
    per = []
    for a, b in zip(rows, rows[1:]):
        dt, cpu = b[0] - a[0], b[5] - a[5]
        per.append({"until_s": round(b[0]), "steps_per_s": (b[1] - a[1]) / dt, "fps": (b[4] - a[4]) / dt,
                    "steps_per_cpu_s": (b[1] - a[1]) / max(cpu, 1e-9), "cpu_share": cpu / dt,
                    "rss_mb": b[2], "objects": b[3], "load1": b[6], "recorder_mb": b[7],
                    **({"malloc_used_mb": b[8], "malloc_free_mb": b[9], "jax_live_mb": b[10]} if len(b) > 8 else {})})
    settled = [r for r in rows if r[0] >= settle_s]
    after = [p for p in per if p["until_s"] > settle_s + 1]
    if len(settled) < 2 or len(after) < 2:
        return {"intervals": per}
    first, last = after[0], after[-1]
    return {
        "intervals": per,
        "rss_at_settle_mb": settled[0][2], "rss_end_mb": rows[-1][2], "rss_max_mb": max(r[2] for r in rows),
        "rss_growth_after_settle_mb": rows[-1][2] - settled[0][2],
        "objects_growth_after_settle": rows[-1][3] - settled[0][3],
        "recorder_growth_after_settle_mb": rows[-1][7] - settled[0][7],
        **({"malloc_used_growth_after_settle_mb": rows[-1][8] - settled[0][8],
            "malloc_free_growth_after_settle_mb": rows[-1][9] - settled[0][9],
            "jax_live_growth_after_settle_mb": rows[-1][10] - settled[0][10]} if len(rows[-1]) > 8 else {}),
        **{f"{k}_change": last[k] / max(first[k], 1e-9) - 1 for k in ("fps", "steps_per_s", "steps_per_cpu_s")},
        # One minute against one minute is noise on a shared machine (steps/s moved 160-271 from
        # minute to minute in the hour's soak): the mean of the first third after settling against
        # the last third's is the figure the README quotes.
        **{f"{k}_thirds_change": _thirds(after, k) for k in ("fps", "steps_per_s", "steps_per_cpu_s")},
        "steps": rows[-1][1], "fps_mean": (rows[-1][4] - rows[0][4]) / (rows[-1][0] - rows[0][0]),
    }


def _thirds(intervals: list[dict], key: str) -> float:
    n = max(1, len(intervals) // 3)
    first = sum(p[key] for p in intervals[:n]) / n
    return sum(p[key] for p in intervals[-n:]) / n / max(first, 1e-9) - 1


def soak_gui(args) -> dict:
    """The main window training ``args.model`` on ``args.dataset`` with the given overlays on."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from ganplay.ui.errors import StatusErrors
    from ganplay.ui.main_window import MainWindow

    def make():
        settings = QSettings(str(Path(args.log).with_suffix(".ini")), QSettings.IniFormat)
        w = MainWindow(_config(args), settings=settings, restore=False, errors=StatusErrors())
        for name in (args.overlays.split(",") if args.overlays else []):
            w.set_overlay(name, True)
        return w, w.play

    return _window_soak(args, make, "snapshot_drawn",
                        lambda w: w._drawn.step if w._drawn is not None else 0,
                        lambda w: w.worker.recorder.nbytes)


def soak_compare(args) -> dict:
    """Compare mode playing ``args.runs`` runs that differ in label smoothing."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ganplay.ui.compare_window import CompareWindow

    base = _config(args)
    configs = [base.replace(label_smoothing=round(0.1 * i, 2)) for i in range(args.runs)]

    def make():
        w = CompareWindow(configs)
        from PySide6.QtCore import QTimer

        def start():  # play once every run is built
            if len(w.steps()) == len(configs):
                w.play()
            else:
                QTimer.singleShot(100, start)
        return w, start

    def recorded(w):  # every run's timeline (read from the GUI thread: a size, no lock needed)
        comparison = getattr(w.worker, "comparison", None)
        return sum(r.nbytes for r in getattr(comparison, "recorders", []) if r is not None)

    return _window_soak(args, make, "snapshots_drawn", lambda w: min(w.steps()) if w.steps() else 0, recorded)


def _summary(rows, start_rss, extra) -> dict:
    rss = [r[2] for r in rows]
    return {"seconds": round(rows[-1][0], 1), "steps": rows[-1][1],
            "rss_start_mb": round(start_rss if start_rss is not None else rss[0], 1),
            "rss_end_mb": round(rss[-1], 1), "rss_max_mb": round(max(rss), 1),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in extra.items()}, "log": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("gui", "compare", "headless"))
    p.add_argument("--minutes", type=float, default=30.0, help="window soak length")
    p.add_argument("--settle-minutes", type=float, default=5.0, help="growth and decline are measured after this")
    p.add_argument("--steps", type=int, default=1_000_000, help="headless soak length")
    p.add_argument("--model", default="toy-mlp")
    p.add_argument("--dataset", default="ring8")
    p.add_argument("--data-dir", default="", help="where the image dataset is (gia-mlp on mnist)")
    p.add_argument("--hidden", type=int, default=None, help="the model's default if left out")
    p.add_argument("--batch-size", type=int, default=None, help="the model's default if left out")
    p.add_argument("--overlays", default="", help="window soak: 2-D views to switch on, e.g. field,arrows,manifold,interpolation")
    p.add_argument("--runs", type=int, default=4, help="compare soak: how many runs")
    p.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    p.add_argument("--log", default="soak-log.csv", help="CSV of the samples")
    p.add_argument("--no-trim", action="store_true",
                   help="keep glibc's free memory (no malloc_trim once a minute), for an A/B of ganplay/heap.py")
    args = p.parse_args(argv)
    if args.no_trim:
        from ganplay import heap

        heap.TRIM_EVERY_S = float("inf")
    out = {"gui": soak_gui, "compare": soak_compare, "headless": soak_headless}[args.mode](args)
    rows = out.pop("log")
    with open(args.log, "w") as f:
        f.write(COLUMNS + "\n")
        for r in rows:
            f.write(",".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + "\n")
    print(json.dumps({"mode": args.mode, "model": args.model, "dataset": args.dataset,
                      "minutes": args.minutes, "trim": not args.no_trim, **out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
