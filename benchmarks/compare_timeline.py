"""Compare's timeline: its recorders' memory and their cost in steps/s, measured in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/compare_timeline.py [--runs 4] [--seconds 10] [--rounds 3]

A CompareWindow plays ``--runs`` runs of toy-mlp on grid25 (defaults; runs differ in
label_smoothing, so they train as one vmapped group) offscreen. After a warm-up, it alternates
stretches of ``--seconds`` with the recorders on and off (off: ``Recorder.record`` and
``on_chunk`` made no-ops in this process), ``--rounds`` of each, on/off interleaved so a change
of the machine's load hits both; the ratio is of their medians. Then it reports the recorders'
frames and bytes at the step reached. Reports ``uptime`` first and last: the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per measured stretch")
    p.add_argument("--rounds", type=int, default=3, help="stretches with the recorders on (and as many off)")
    p.add_argument("--warm-steps", type=int, default=2000)
    args = p.parse_args(argv)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.config import Config
    from ganplay.engine.recorder import Recorder
    from ganplay.ui.compare_window import CompareWindow

    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    app = QApplication.instance() or QApplication([])  # noqa: F841  (kept alive)
    base = Config.for_model("toy-mlp", dataset="grid25")
    w = CompareWindow([base.replace(label_smoothing=round(0.1 * i, 2)) for i in range(args.runs)])
    w.show()
    loop = QEventLoop()

    def wait_until(cond, limit=600.0):
        deadline = time.perf_counter() + limit
        poll = QTimer()
        poll.timeout.connect(lambda: (cond() or time.perf_counter() > deadline) and loop.quit())
        poll.start(20)
        loop.exec()
        poll.stop()

    wait_until(lambda: len(w.steps()) == args.runs)
    w.play()
    wait_until(lambda: bool(w.steps()) and min(w.steps()) >= args.warm_steps)
    record, on_chunk = Recorder.record, Recorder.on_chunk
    rates = {"on": [], "off": []}
    for _ in range(args.rounds):
        for mode in ("on", "off"):
            Recorder.record = record if mode == "on" else (lambda self, snap: None)
            Recorder.on_chunk = on_chunk if mode == "on" else (lambda self, event: None)
            s0, t0 = w.worker.comparison.step, time.perf_counter()
            QTimer.singleShot(int(args.seconds * 1000), loop.quit)
            loop.exec()
            rates[mode].append((w.worker.comparison.step - s0) / (time.perf_counter() - t0))
    Recorder.record, Recorder.on_chunk = record, on_chunk
    w.pause()
    wait_until(lambda: not w._running, 60)
    c = w.worker.comparison
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"{args.runs} runs, toy-mlp grid25 (defaults), vmapped: steps/s per run with the recorders "
          f"{on:,.0f} (stretches {', '.join(f'{r:,.0f}' for r in rates['on'])}), without {off:,.0f} "
          f"({', '.join(f'{r:,.0f}' for r in rates['off'])}); ratio on/off {on / off:.3f}")
    frames = [len(r) for r in c.recorders]
    print(f"recorders at step {c.step:,} (frames recorded only in the 'on' stretches and the warm-up): "
          f"{sum(frames):,} frames kept ({', '.join(map(str, frames))}), "
          f"{c.recorder_bytes() / 2**20:.2f} MB in all")
    w.close()
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
