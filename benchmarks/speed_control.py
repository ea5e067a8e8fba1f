"""Slow motion: the step rate the worker holds at 1, 10 and 100 steps/s, against the one asked for.

    QT_QPA_PLATFORM=offscreen python benchmarks/speed_control.py [--seconds 10] [--rates 1,10,100]

The real TrainingWorker on its thread (toy-mlp, no window), playing at each speed: the steps done
in ``--seconds`` seconds of a Qt event loop are counted from the snapshots it publishes (one per
paced step). The issue's target: at 1 step/s, within 10%.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def measure(worker, app, rate: float, seconds: float) -> tuple[int, float, int]:
    """(steps, seconds, snapshots) while playing at ``rate`` steps/s, after the first paced step."""
    from PySide6.QtCore import QEventLoop, QTimer

    seen: list[tuple[float, int]] = []
    worker.snapshot_ready.connect(lambda step: seen.append((time.perf_counter(), step)))
    worker.set_speed(rate)
    worker.play()
    loop = QEventLoop()
    start = len(seen)
    poll = QTimer()
    poll.timeout.connect(lambda: len(seen) > start + 1 and loop.quit())
    poll.start(5)
    loop.exec()  # the first paced steps have run (nothing to compile any more)
    poll.stop()
    t0, s0 = seen[-1]
    n0 = len(seen)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    worker.pause()
    t1, s1 = seen[-1]
    worker.snapshot_ready.disconnect()
    return s1 - s0, t1 - t0, len(seen) - n0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rates", default="1,10,100", help="comma-separated steps/s to measure")
    args = p.parse_args(argv)
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from ganplay.config import Config
    from ganplay.ui.worker import TrainingWorker, WorkerThread

    app = QCoreApplication.instance() or QCoreApplication([])
    worker = TrainingWorker(Config.for_model("toy-mlp", dataset="ring8", hidden=64, batch_size=128))
    thread = WorkerThread(worker)
    thread.start()
    loop = QEventLoop()
    ready = QTimer()
    ready.timeout.connect(lambda: worker.session is not None and loop.quit())
    ready.start(20)
    loop.exec()
    ready.stop()
    worker.step(1)  # compile the one-step program before timing
    QTimer.singleShot(3000, loop.quit)
    loop.exec()
    print(f"asked steps/s   measured   error   snapshots/step   ({args.seconds:g} s each)")
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            steps, seconds, snaps = measure(worker, app, rate, args.seconds)
            got = steps / seconds
            print(f"{rate:13g} {got:10.2f} {100 * (got / rate - 1):+7.1f}%   {snaps / max(steps, 1):10.2f}")
    finally:
        thread.stop(60_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
