"""toy-mlp steps/s headless vs inside the real window (offscreen), measured in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_throughput.py [--seconds 20]

Headless: the engine's Session advanced in 200-step dispatches (what `ganplay train` does).
GUI: the MainWindow playing, worker thread sizing its own dispatches, the redraw timer drawing
every snapshot. Reports both rates, their ratio, and the GUI's frame-time percentiles; and the
process's CPU time per step in both, whose ratio moves far less than the rates' on a machine that
other work shares (it says how much the window adds per step, whatever share of the cores it gets).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def headless_rate(config, seconds: float) -> tuple[float, float]:
    """(steps/s, CPU seconds per step) of the engine alone."""
    from ganplay.engine.session import Session

    s = Session(config)
    s.advance(200)  # compile
    t0, c0, steps = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - t0 < seconds:
        s.advance(200)
        steps += 200
    return steps / (time.perf_counter() - t0), (time.process_time() - c0) / steps


def gui_rate(config, seconds: float, chunk: int | None = None):
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
    def run_until(step: int) -> None:
        deadline = time.perf_counter() + 120
        poll = QTimer()
        poll.timeout.connect(lambda: ((w.worker.session is not None and w.worker.session.step >= step)
                                      or time.perf_counter() > deadline) and loop.quit())
        poll.start(20)
        loop.exec()
        poll.stop()

    run_until(2000)
    if chunk:  # a fixed dispatch size: compares overheads at equal chunks, whatever the load
        from ganplay.engine.session import ChunkSizer

        w.worker._sizer = ChunkSizer(k=chunk, max_changes=0)
        run_until(w.worker.session.step + 50 * chunk)  # its scan compiled before the clock starts
    frames.clear()
    s0, t0, c0, g0 = w.worker.session.step, time.perf_counter(), time.process_time(), time.thread_time()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    steps = w.worker.session.step - s0
    elapsed = time.perf_counter() - t0
    cpu = (time.process_time() - c0) / max(steps, 1)
    gui_thread = (time.thread_time() - g0) / max(steps, 1)  # painting, event handling
    print(f"  the window's worker dispatches {w.worker._sizer.k} steps at a time")
    w.close()
    gaps = np.diff(frames) * 1000 if len(frames) > 2 else np.array([np.nan])
    return steps / elapsed, len(frames) / elapsed, np.percentile(gaps, [50, 90, 99]), cpu, gui_thread


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--dataset", default="gmm2")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--chunk", type=int, help="fix the worker's steps per dispatch (default: its sizer's)")
    args = p.parse_args(argv)
    from ganplay.config import Config

    config = Config.for_model("toy-mlp", dataset=args.dataset, batch_size=args.batch_size)
    # Headless before and after the window (the machine's load drifts): the ratio is to their mean.
    (before, cpu_before) = headless_rate(config, args.seconds)
    gui, fps, pct, cpu_gui, cpu_paint = gui_rate(config, args.seconds, args.chunk)
    (after, cpu_after) = headless_rate(config, args.seconds)
    head, cpu_head = (before + after) / 2, (cpu_before + cpu_after) / 2
    print(f"toy-mlp {args.dataset} batch {args.batch_size}")
    print(f"  headless   {head:10,.0f} steps/s   (before {before:,.0f}, after {after:,.0f})")
    print(f"  in the GUI {gui:10,.0f} steps/s   ratio {gui / head:.2f}")
    print(f"  redraw     {fps:10.1f} frames/s  frame gap p50/p90/p99 {pct[0]:.1f}/{pct[1]:.1f}/{pct[2]:.1f} ms")
    print(f"  CPU/step   headless {1e3 * cpu_head:.2f} ms, in the GUI {1e3 * cpu_gui:.2f} ms   "
          f"ratio {cpu_head / cpu_gui:.2f}; of the GUI's, the GUI thread {1e3 * cpu_paint:.2f} ms "
          f"({1e3 * cpu_paint * gui / max(fps, 1e-9):.1f} ms a frame)")
    print(f"  load       {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
