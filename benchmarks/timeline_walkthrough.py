"""The timeline used as a user would, with screenshots: grid25 with defaults until modes are
lost, scrub back to where they were held, Continue from there with R1 on.

    QT_QPA_PLATFORM=offscreen python benchmarks/timeline_walkthrough.py [--steps 12000] [--out resources]

Writes ``timeline.png`` (scrubbed back to the best step, the bar's marks showing the losses),
``timeline-continued.png`` (the branch trained on with R1) into ``--out``, and prints what it did.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def main(argv=None) -> int:
    import numpy as np
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ganplay.config import Config
    from ganplay.ui.errors import StatusErrors
    from ganplay.ui.main_window import MainWindow

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30000, help="train at most this far before looking back")
    p.add_argument("--drop", type=float, default=3, help="stop once this many modes are lost from the best")
    p.add_argument("--more", type=int, default=4000, help="steps trained on from the chosen state")
    p.add_argument("--r1", type=float, default=0.1, help="r1_weight for the new branch (grid25-solved's)")
    p.add_argument("--out", default="resources")
    args = p.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.IniFormat)
    w = MainWindow(Config.for_model("toy-mlp", dataset="grid25"), settings=settings, restore=False,
                   errors=StatusErrors())
    w.resize(1400, 1000)
    w.show()
    loop = QEventLoop()

    def run_until(done, limit_s=900.0):
        deadline = time.perf_counter() + limit_s
        poll = QTimer()
        poll.timeout.connect(lambda: (done() or time.perf_counter() > deadline) and loop.quit())
        poll.start(50)
        loop.exec()
        poll.stop()

    def step():
        return -1 if w.worker.session is None else w.worker.session.step

    def shot(name):
        run_until(lambda: False, limit_s=0.5)  # let the views paint
        path = os.path.join(args.out, name)
        w.grab().save(path, "PNG")
        print(f"saved {path}")

    run_until(lambda: w._latest is not None)
    w.set_overlay("field", True)
    w.play()
    t0 = time.perf_counter()
    def lost() -> bool:  # the modes now are --drop below the best so far (after the first 2,000 steps)
        s, m = w.worker.recorder.series("modes")
        late = m[s >= 2000]
        return len(late) > 1 and late.max() - late[-1] >= args.drop

    run_until(lambda: step() >= args.steps or lost())
    w.pause()
    run_until(lambda: not w._running)
    print(f"trained {step():,} steps in {time.perf_counter() - t0:.0f} s")
    rec = w.worker.recorder
    steps, modes = rec.series("modes")
    n_lost = sum(m.kind == "modes" and "lost" in m.text for m in rec.marks)
    print(f"{len(rec):,} frames kept ({rec.nbytes / 2**20:.1f} MB); modes at the end {modes[-1]:g}, "
          f"best {modes.max():g} at step {int(steps[np.argmax(modes)]):,}; {n_lost} 'modes lost' marks")
    kept = rec.states.steps()
    # Where modes were held: the latest step with the best count (after the first 2,000 steps).
    late = steps >= 2000
    best = modes[late].max()
    held = int(steps[late & (modes == best)][-1])
    w.timeline.refresh()
    w.timeline.scrub(held)
    print(f"scrubbed back to step {held:,} ({best:g} modes); kept states at {kept}")
    shot("timeline.png")
    w.apply_config(w.config.replace(r1_weight=args.r1))
    run_until(lambda: w.worker.session.config.r1_weight == args.r1, limit_s=10)
    w.timeline.continue_here()
    start = rec.states.at_or_before(held)
    run_until(lambda: step() == start)
    print(f"continued from step {start:,} with r1_weight={args.r1}: {w.statusBar().currentMessage()}")
    w.play()
    run_until(lambda: step() >= start + args.more)
    w.pause()
    run_until(lambda: not w._running)
    run_until(lambda: False, limit_s=1.0)
    w.timeline.refresh()
    rec = w.worker.recorder
    s2, m2 = rec.series("modes")
    print(f"branch at step {step():,}: modes {m2[-1]:g} (best {m2[s2 > start].max() if (s2 > start).any() else m2[-1]:g})")
    shot("timeline-continued.png")
    w.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
