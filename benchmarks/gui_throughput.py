"""toy-mlp steps/s headless vs inside the real window (offscreen), measured in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_throughput.py [--seconds 20] [--rounds 4]
    QT_QPA_PLATFORM=offscreen python benchmarks/gui_throughput.py --recorder-ab --rounds 8

``--recorder-ab``: window rounds alternate between the timeline recorder on and off (a recorder
that keeps nothing), in the same window, each against the headless rounds either side of it.

Headless: the engine's Session advanced in 200-step dispatches (what `ganplay train` does).
GUI: the MainWindow playing, worker thread sizing its own dispatches, the redraw timer drawing
every snapshot.

The two alternate in short rounds (headless, window, headless, window, ..., headless; the window
paused while headless runs), and each window round is compared with the mean of the headless
rounds either side of it. On a shared machine whose load drifts by the minute, one long headless
run before and one after the window gave ratios 0.05-0.1 apart from run to run; the median of
the interleaved rounds moves far less. Also reported: frame rate and frame-gap percentiles, and
the process's CPU time per step in both, with the GUI thread's share (how much the window adds
per step, whatever share of the cores it gets).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def _null_recorder():
    from ganplay.engine.recorder import Recorder

    class Null(Recorder):
        """Records nothing: the window without the timeline's recording."""

        def record(self, snap) -> None:
            pass

        def on_chunk(self, event) -> None:
            pass

    return Null()


NullRecorder = _null_recorder


class Headless:
    """The engine alone, in ``ganplay train``'s 200-step dispatches."""

    def __init__(self, config):
        from ganplay.engine.session import Session

        self.session = Session(config)
        self.session.advance(200)  # compile

    def measure(self, seconds: float) -> tuple[float, float]:
        """(steps/s, CPU seconds per step)."""
        t0, c0, steps = time.perf_counter(), time.process_time(), 0
        while time.perf_counter() - t0 < seconds:
            self.session.advance(200)
            steps += 200
        return steps / (time.perf_counter() - t0), (time.process_time() - c0) / steps


class Window:
    """The MainWindow, played for a round at a time inside a real event loop (as the app runs:
    a processEvents() polling loop would itself eat a core)."""

    def __init__(self, config, chunk: int | None = None):
        from PySide6.QtCore import QEventLoop, QSettings
        from PySide6.QtWidgets import QApplication

        from ganplay.ui.errors import StatusErrors
        from ganplay.ui.main_window import MainWindow

        self.app = QApplication.instance() or QApplication([])
        settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.IniFormat)
        self.w = MainWindow(config, settings=settings, restore=False, errors=StatusErrors())
        self.w.resize(1280, 800)
        self.w.show()
        self.frames: list[float] = []
        self.w.snapshot_drawn.connect(lambda _s: self.frames.append(time.perf_counter()))
        self.loop = QEventLoop()
        self.w.play()
        self._run_until(lambda: self.step >= 6000)  # compiles, the worker's dispatch sizing
        if chunk:  # a fixed dispatch size: compares overheads at equal chunks, whatever the load
            from ganplay.engine.session import ChunkSizer

            self.w.worker._sizer = ChunkSizer(k=chunk, max_changes=0)
            target = self.step + 50 * chunk
            self._run_until(lambda: self.step >= target)  # its scan compiled before any round
        self.pause()

    @property
    def step(self) -> int:
        s = self.w.worker.session
        return -1 if s is None else s.step

    def _run_until(self, done, limit_s: float = 120.0) -> None:
        from PySide6.QtCore import QTimer

        deadline = time.perf_counter() + limit_s
        poll = QTimer()
        poll.timeout.connect(lambda: (done() or time.perf_counter() > deadline) and self.loop.quit())
        poll.start(20)
        self.loop.exec()
        poll.stop()

    def pause(self) -> None:
        """Pause and let the worker settle, so the next headless round has the CPUs."""
        self.w.pause()
        self._run_until(lambda: not self.w._running, limit_s=10)
        self._run_until(lambda: False, limit_s=0.3)

    def measure(self, seconds: float):
        """(steps/s, frames/s, frame gaps in ms, CPU s/step, GUI-thread CPU s/step, steps per
        dispatch at the end)."""
        import numpy as np
        from PySide6.QtCore import QTimer

        self.w.play()
        self._run_until(lambda: False, limit_s=1.0)  # back at speed (the pipeline refilled)
        self.frames.clear()
        s0, t0, c0, g0 = self.step, time.perf_counter(), time.process_time(), time.thread_time()
        QTimer.singleShot(int(seconds * 1000), self.loop.quit)
        self.loop.exec()
        steps, elapsed = self.step - s0, time.perf_counter() - t0
        cpu = (time.process_time() - c0) / max(steps, 1)
        gui_thread = (time.thread_time() - g0) / max(steps, 1)  # painting, event handling
        frames = list(self.frames)
        k = self.w.worker._sizer.k
        self.pause()
        gaps = np.diff(frames) * 1000 if len(frames) > 2 else np.array([np.nan])
        return steps / elapsed, len(frames) / elapsed, gaps, cpu, gui_thread, k

    def close(self) -> int:
        k = self.w.worker._sizer.k
        self.w.close()
        return k


def main(argv=None) -> int:
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="window time in all (headless: a bit more)")
    p.add_argument("--rounds", type=int, default=4, help="window rounds, each between two headless ones")
    p.add_argument("--dataset", default="gmm2")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--chunk", type=int, help="fix the worker's steps per dispatch (default: its sizer's)")
    p.add_argument("--recorder-ab", action="store_true",
                   help="alternate window rounds with the timeline recorder on and off")
    p.add_argument("--field", action="store_true", help="switch the decision-field overlay on")
    args = p.parse_args(argv)
    from ganplay.config import Config

    config = Config.for_model("toy-mlp", dataset=args.dataset, batch_size=args.batch_size)
    per_round = args.seconds / args.rounds
    headless, window = Headless(config), Window(config, args.chunk)
    if args.field:
        window.w.set_overlay("field", True)
    recorders = (window.w.worker.recorder, NullRecorder())
    heads = [headless.measure(per_round)]
    rounds = []
    for i in range(args.rounds):
        if args.recorder_ab:  # (swapped while paused: the worker reads it between chunks)
            worker, loop = window.w.worker, window.w.worker.session.loop
            loop.remove(worker.recorder)  # the loop feeds it every chunk; the worker every snapshot
            worker.recorder = recorders[i % 2]
            loop.add(worker.recorder)
        rounds.append(window.measure(per_round))
        heads.append(headless.measure(per_round))
    kept = recorders[0]
    window.close()

    head_rates = [h[0] for h in heads]
    ratios = [r[0] / ((a + b) / 2) for r, a, b in zip(rounds, head_rates, head_rates[1:])]
    fps = [r[1] for r in rounds]
    gaps = np.concatenate([r[2] for r in rounds])
    cpu_head = statistics.mean(h[1] for h in heads)
    cpu_gui = statistics.mean(r[3] for r in rounds)
    cpu_paint = statistics.mean(r[4] for r in rounds)
    gui_rate = statistics.mean(r[0] for r in rounds)
    print(f"toy-mlp {args.dataset} batch {args.batch_size}: {args.rounds} window rounds of {per_round:.1f} s, "
          "each between two headless rounds")
    print(f"  headless   {statistics.mean(head_rates):10,.0f} steps/s   rounds: "
          + " ".join(f"{x:,.0f}" for x in head_rates))
    print(f"  in the GUI {gui_rate:10,.0f} steps/s   rounds: " + " ".join(f"{r[0]:,.0f}" for r in rounds))
    print(f"  ratio      {statistics.median(ratios):10.2f} median  rounds: " + " ".join(f"{x:.2f}" for x in ratios))
    print(f"  redraw     {statistics.median(fps):10.1f} frames/s median  rounds: " + " ".join(f"{x:.1f}" for x in fps)
          + f"; frame gap p50/p90/p99 {' / '.join(f'{x:.1f}' for x in np.percentile(gaps, [50, 90, 99]))} ms")
    print("  dispatch   " + " ".join(f"{r[5]}" for r in rounds) + " steps at the end of each window round")
    print(f"  CPU/step   headless {1e3 * cpu_head:.2f} ms, in the GUI {1e3 * cpu_gui:.2f} ms   "
          f"ratio {cpu_head / cpu_gui:.2f}; of the GUI's, the GUI thread {1e3 * cpu_paint:.2f} ms "
          f"({1e3 * cpu_paint * gui_rate / max(statistics.median(fps), 1e-9):.1f} ms a frame)")
    if args.recorder_ab:
        on, off = ratios[0::2], ratios[1::2]
        print(f"  recorder   on {statistics.median(on):.3f} / off {statistics.median(off):.3f} of headless "
              f"(median ratios) -> with/without {statistics.median(on) / statistics.median(off):.3f}; "
              f"steps/s on " + " ".join(f"{r[0]:,.0f}" for r in rounds[0::2])
              + " off " + " ".join(f"{r[0]:,.0f}" for r in rounds[1::2]))
        cpu_on = statistics.median(r[3] for r in rounds[0::2])
        cpu_off = statistics.median(r[3] for r in rounds[1::2])
        print(f"  recorder   CPU/step on {1e3 * cpu_on:.3f} ms, off {1e3 * cpu_off:.3f} ms (medians; less "
              f"sensitive to the machine's load than steps/s): on/off {cpu_on / cpu_off:.3f}")
        print(f"  recording  {len(kept):,} frames kept, {kept.nbytes / 2**20:.1f} MB, to step {kept.steps()[-1]:,}")
    print(f"  load       {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
