"""toy-mlp steps/s headless vs inside the real window (offscreen), measured in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_throughput.py [--seconds 20]

Headless: the engine's Session advanced in 200-step dispatches (what `ganplay train` does).
GUI: the MainWindow playing, worker thread sizing its own dispatches, the redraw timer drawing
every snapshot. Reports both rates, their ratio, and the GUI's frame-time percentiles.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def headless_rate(config, seconds: float) -> float:
    from ganplay.engine.session import Session

    s = Session(config)
    s.advance(200)  # compile
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        s.advance(200)
        steps += 200
    return steps / (time.perf_counter() - t0)


def gui_rate(config, seconds: float):
    import numpy as np
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.IniFormat)
    w = MainWindow(config, settings=settings, restore=False)
    w.show()
    frames: list[float] = []
    w.snapshot_drawn.connect(lambda _s: frames.append(time.perf_counter()))
    w.play()
    loop = QEventLoop()
    # Warm-up (compiles, chunk sizing) until step 2,000, then the measurement: both inside a real
    # event loop, as the app runs (a processEvents() polling loop would itself eat a core).
    deadline = time.perf_counter() + 120
    poll = QTimer()
    poll.timeout.connect(lambda: ((w.worker.session is not None and w.worker.session.step >= 2000)
                                  or time.perf_counter() > deadline) and loop.quit())
    poll.start(20)
    loop.exec()
    poll.stop()
    frames.clear()
    s0, t0 = w.worker.session.step, time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    steps = w.worker.session.step - s0
    elapsed = time.perf_counter() - t0
    print(f"  the window's worker dispatches {w.worker._sizer.k} steps at a time")
    w.close()
    gaps = np.diff(frames) * 1000 if len(frames) > 2 else np.array([np.nan])
    return steps / elapsed, len(frames) / elapsed, np.percentile(gaps, [50, 90, 99])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--dataset", default="gmm2")
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)
    from ganplay.config import Config

    config = Config.for_model("toy-mlp", dataset=args.dataset, batch_size=args.batch_size)
    # Headless before and after the window (the machine's load drifts): the ratio is to their mean.
    before = headless_rate(config, args.seconds)
    gui, fps, pct = gui_rate(config, args.seconds)
    after = headless_rate(config, args.seconds)
    head = (before + after) / 2
    print(f"toy-mlp {args.dataset} batch {args.batch_size}")
    print(f"  headless   {head:10,.0f} steps/s   (before {before:,.0f}, after {after:,.0f})")
    print(f"  in the GUI {gui:10,.0f} steps/s   ratio {gui / head:.2f}")
    print(f"  redraw     {fps:10.1f} frames/s  frame gap p50/p90/p99 {pct[0]:.1f}/{pct[1]:.1f}/{pct[2]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
