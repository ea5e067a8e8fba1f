"""Compare mode's speed, measured in one run on this machine.

    QT_QPA_PLATFORM=offscreen python benchmarks/compare_throughput.py [--steps 2000] [--seconds 10]

(a) Headless: n runs of toy-mlp on grid25 that differ in a live setting (label_smoothing), trained
    together (one vmapped program, ``Comparison``), alternating (``Comparison(vmap=False)``: a
    session per run, the path of structurally different runs) and one after another (a
    ``Session`` per run, each trained to the end before the next starts). Steps/s per run and
    the ratios, for the playground's default model (hidden 128, batch 256) and a small one
    (hidden 16, batch 32).
(b) The CompareWindow playing offscreen with 2 and 4 runs (live-setting runs, vmapped; and 4
    runs with different losses, alternating): frames drawn per second and steps/s per run; its
    peer is the main window playing one run (``gui_throughput.gui_rate``), measured in the same run.
Reports ``uptime`` first: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

CHUNK = 200


def live_runs(base, n: int):
    return [base.replace(label_smoothing=round(0.1 * i, 2)) for i in range(n)]


def together_rate(configs, steps: int, vmap: bool) -> float:
    """Steps/s of each run, the runs trained by one Comparison."""
    from ganplay.engine.compare import Comparison

    c = Comparison(configs, vmap=vmap)
    c.advance(CHUNK)  # compile
    t0 = time.perf_counter()
    for _ in range(steps // CHUNK):
        c.advance(CHUNK)
    return steps / (time.perf_counter() - t0)


def one_after_another_rate(configs, steps: int) -> float:
    """Steps/s of each run, the runs trained alone one after another (compiles excluded)."""
    from ganplay.engine.session import Session

    elapsed = 0.0
    for config in configs:
        s = Session(config)
        s.advance(CHUNK)  # compile
        t0 = time.perf_counter()
        for _ in range(steps // CHUNK):
            s.advance(CHUNK)
        elapsed += time.perf_counter() - t0
    return steps / elapsed  # each run's steps over the time all of them took


def window_rate(configs, seconds: float):
    """(frames/s, steps/s per run, its TickSizer) of a CompareWindow playing ``configs``."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.ui.compare_window import CompareWindow

    app = QApplication.instance() or QApplication([])  # noqa: F841  (kept alive)
    w = CompareWindow(configs)
    w.show()
    frames: list[float] = []
    w.snapshots_drawn.connect(lambda _s: frames.append(time.perf_counter()))
    loop = QEventLoop()
    deadline = time.perf_counter() + 180
    poll = QTimer()
    started = []

    def check():
        if len(w.steps()) == len(configs) and not started:
            started.append(True)
            w.play()
        if (w.steps() and min(w.steps()) >= 2000) or time.perf_counter() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start(20)
    loop.exec()  # warm-up: compiles and chunk sizing, inside a real event loop as the app runs
    poll.stop()
    frames.clear()
    s0, t0 = w.steps()[0], time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - t0
    steps = w.steps()[0] - s0
    sizer = w.worker._sizer
    w.close()
    return len(frames) / elapsed, steps / elapsed, sizer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="steps per run in (a)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per window in (b)")
    p.add_argument("--skip-headless", action="store_true", help="measure the windows (b) only")
    p.add_argument("--skip-windows", action="store_true", help="measure headless (a) only")
    args = p.parse_args(argv)
    from ganplay.config import Config

    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"(a) headless, {args.steps:,} steps per run, runs differing in label_smoothing; steps/s per run")
    for hidden, batch in () if args.skip_headless else ((128, 256), (16, 32)):
        base = Config.for_model("toy-mlp", dataset="grid25", hidden=hidden, batch_size=batch)
        for n in (2, 4):
            configs = live_runs(base, n)
            alone = one_after_another_rate(configs, args.steps)
            vmapped = together_rate(configs, args.steps, vmap=True)
            alternating = together_rate(configs, args.steps, vmap=False)
            print(f"  hidden {hidden:3d} batch {batch:3d}, {n} runs: together (vmap) {vmapped:8,.0f}   "
                  f"alternating {alternating:8,.0f}   one after another {alone:8,.0f}   "
                  f"ratio vmap/alone {vmapped / alone:.2f}, alternating/alone {alternating / alone:.2f}")
    if args.skip_windows:
        print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
        return 0
    print(f"(b) CompareWindow playing offscreen, toy-mlp grid25 (defaults), {args.seconds:.0f} s after 2,000 steps")
    base = Config.for_model("toy-mlp", dataset="grid25")
    cases = (("2 runs, label_smoothing (vmapped)", live_runs(base, 2)),
             ("4 runs, label_smoothing (vmapped)", live_runs(base, 4)),
             ("4 runs, ns/hinge/lsgan/rsgan (alternating)",
              [base.replace(loss=loss) for loss in ("ns", "hinge", "lsgan", "rsgan")]))
    from gui_throughput import Window  # this folder's peer benchmark

    peer = Window(base)
    rate, fps = peer.measure(args.seconds)[:2]
    peer.close()
    print(f"  {'main window, 1 run (peer)':44s} {fps:5.1f} frames/s   {rate:8,.0f} steps/s")
    for name, configs in cases:
        fps, rate, sizer = window_rate(configs, args.seconds)
        tried = ", ".join(f"{k}: {1000 * s:.0f} ms" for k, s in sizer.measured.items())
        print(f"  {name:44s} {fps:5.1f} frames/s   {rate:8,.0f} steps/s per run   ({sizer.k} steps per tick; "
              f"ticks measured {tried})")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
