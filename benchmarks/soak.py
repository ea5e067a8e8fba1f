"""Soak benchmarks: does a long run keep memory flat and the window responsive?

    python benchmarks/soak.py gui --minutes 30        # scripted GUI run (offscreen), issue 7
    python benchmarks/soak.py headless --steps 1000000  # engine session only, issue 6

Both log RSS every ``--every`` seconds to a CSV (``--log``) and print a JSON summary: RSS at the
start (after warm-up) and the end, its maximum, steps done, and for the GUI the frame-time
percentiles (time between drawn frames) and frames per second. Not part of the test suite.
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


def _config(args):
    from ganplay.config import Config

    return Config.for_model("toy-mlp", dataset=args.dataset, hidden=args.hidden, batch_size=args.batch_size)


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


def soak_gui(args) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.engine.compile_cache import enable_compilation_cache
    from ganplay.ui.errors import StatusErrors
    from ganplay.ui.main_window import MainWindow

    enable_compilation_cache()
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(args.log).with_suffix(".ini")), QSettings.IniFormat)
    w = MainWindow(_config(args), settings=settings, restore=False, errors=StatusErrors())
    w.show()
    frames: list[float] = []
    rows: list[tuple] = []
    t0 = time.perf_counter()
    state = {"start_rss": None, "closing": False}
    live = open(args.log + ".live", "w")  # rows as they come, in case the run has to be killed

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

    w.snapshot_drawn.connect(on_frame)

    def log():
        now = time.perf_counter() - t0
        step = w._drawn.step if w._drawn is not None else 0
        rss = rss_mb()
        if state["start_rss"] is None and now >= 60:
            state["start_rss"] = rss
        rows.append((now, step, rss))
        live.write(f"{now:.1f},{step},{rss:.1f},{len(frames)}\n")
        live.flush()
        if now >= args.minutes * 60:
            finish()

    timer = QTimer()
    timer.timeout.connect(log)
    timer.start(int(args.every * 1000))
    QTimer.singleShot(0, w.play)
    app.exec()
    gaps = np.diff(np.asarray(frames)) * 1000 if len(frames) > 1 else np.zeros(1)
    late = gaps[len(gaps) // 10:]  # skip the warm-up (compiles)
    extra = {
        "frames": len(frames),
        "fps": len(frames) / max(rows[-1][0], 1e-9),
        "frame_ms_p50": float(np.percentile(late, 50)),
        "frame_ms_p90": float(np.percentile(late, 90)),
        "frame_ms_p99": float(np.percentile(late, 99)),
        "steps_per_s": rows[-1][1] / max(rows[-1][0], 1e-9),
        "rss_samples": len(rows),  # one per --every seconds if the timer was never starved
    }
    return _summary(rows, state["start_rss"], extra)


def _summary(rows, start_rss, extra) -> dict:
    rss = [r[2] for r in rows]
    return {"seconds": round(rows[-1][0], 1), "steps": rows[-1][1],
            "rss_start_mb": round(start_rss if start_rss is not None else rss[0], 1),
            "rss_end_mb": round(rss[-1], 1), "rss_max_mb": round(max(rss), 1),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in extra.items()}, "log": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("gui", "headless"))
    p.add_argument("--minutes", type=float, default=30.0, help="GUI soak length")
    p.add_argument("--steps", type=int, default=1_000_000, help="headless soak length")
    p.add_argument("--dataset", default="ring8")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument("--log", default="soak-log.csv", help="CSV of time, step, RSS (MB)")
    args = p.parse_args(argv)
    out = soak_gui(args) if args.mode == "gui" else soak_headless(args)
    rows = out.pop("log")
    with open(args.log, "w") as f:
        f.write("seconds,step,rss_mb\n")
        for r in rows:
            f.write(f"{r[0]:.1f},{r[1]},{r[2]:.1f}\n")
    print(json.dumps({"mode": args.mode, **out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
