"""Compare mode's training thread: a QObject worker that owns a :class:`Comparison`.

The same recipe as :mod:`ganplay.ui.worker` (both are a
:class:`~ganplay.ui.command_worker.CommandWorker`): the loop blocks its thread's event loop, so
the window talks to it through a command queue and ``threading.Event`` flags; the window receives
lists of finished NumPy snapshots (one per run) through a one-slot mailbox, never the training
state. Every command acts on all runs at once, so they stay at one step.
"""
from __future__ import annotations

import json
import time

from PySide6.QtCore import Signal

from ganplay.config import Config
from ganplay.engine.compare import Comparison, TickSizer
from ganplay.errors import GanplayError
from ganplay.logs import log_failure
from ganplay.ui.command_worker import CommandWorker, Mailbox

STALE_S = 1 / 30  # publish at least this often while playing (the frame-rate goal)
FRAME_WAIT_S = 0.1  # the longest a tick waits for the window to take the last snapshot


class CompareWorker(CommandWorker):
    snapshots_ready = Signal(int)  # step of the snapshots waiting in ``latest_snapshots()``
    runs_changed = Signal(str)  # the runs' configs as a JSON list (a new set, a removal, an open)
    diverged = Signal(str)  # a run blew up: training paused
    saved = Signal(str)

    COMMANDS_OF = "compare"
    save_recording = True  # saved sets carry every run's timeline (the window's Keep timelines)
    DIVERGED = "a run has diverged: reset the runs or remove that run"

    def __init__(self, configs: list[Config]):
        super().__init__()
        self._configs = list(configs)
        self.comparison: Comparison | None = None  # worker thread only
        self._sizer = self._new_sizer()
        self._mailbox = Mailbox()
        self._last_emit = 0.0
        self._last_tick: float | None = None  # when the last tick was recorded while playing

    # -- called from the GUI thread (thread-safe) ---------------------------------------------------
    def set_runs(self, configs: list[Config]):
        """A new set of runs, all from step 0 (adding a run restarts them together)."""
        self._post("runs", list(configs))

    def remove(self, index: int):
        """Drop one run; the others go on from where they are."""
        self._post("remove", int(index))

    def save(self, path: str, folder: bool = False):
        self._post("save", str(path), bool(folder))

    def open(self, path: str):
        self._post("open", str(path))

    def open_runs(self, paths: list[str]):
        """Compare run files, each at its own step (a branch and the old future it left)."""
        self._post("open_runs", [str(p) for p in paths])

    def latest_snapshots(self):
        """The newest list of snapshots (one per run), or None."""
        return self._mailbox.take()

    def stop(self):
        super().stop()
        self._mailbox.release()

    # -- worker thread ------------------------------------------------------------------------------
    def _loop(self):
        self._rebuild(self._configs)
        while not self._stop.is_set():
            self._drain_commands()
            if self._stop.is_set():
                break
            c = self.comparison
            if c is None:
                self._wait()
                continue
            if not (self._playing or self._pending_steps):
                self._idle()
                continue
            if not c.in_flight and not self._launch():
                continue
            # While playing, the next tick is queued before the last one is recorded and drawn
            # (as the main window's worker does): the device trains on while this thread
            # records, evaluates and copies out snapshots. It is queued once the window has
            # taken the last snapshot: ticks the window cannot show cost recording time and
            # take the GIL from its painting (without this, 4 runs drew 7 frames/s).
            if self._playing and c.in_flight < 2:
                if not self._mailbox.taken:
                    self._mailbox.wait_taken(FRAME_WAIT_S)
                self._launch()
            self._complete()

    def _launch(self) -> bool:
        """Dispatch the next tick of every run; False if there is none to run or it failed."""
        c = self.comparison
        wanted = self._sizer.k if self._playing else self._pending_steps - (c.head_step - c.step)
        k = c.next_k(wanted)
        if k <= 0:
            return False
        try:
            c.launch(k)
        except Exception as exc:  # a compile failure, out of memory: pause, report
            self._fail(exc)
            return False
        return True

    def _fail(self, exc: Exception):
        self.comparison.discard()
        self._set_playing(False)
        self._pending_steps = 0
        self._report_crash(f"training stopped at step {self.comparison.step:,}", exc)

    def _settle(self):
        """Record the ticks in flight, if any (before a command changes the runs)."""
        while self.comparison is not None and self.comparison.in_flight:
            self._complete()

    def _complete(self):
        """Record the oldest tick in flight; pause on a divergence; publish when due."""
        c = self.comparison
        try:
            k, _ = c.finish()
        except Exception as exc:  # an XLA runtime error, a bug: pause, report
            self._fail(exc)
            return
        # The sizer gets the wall time between ticks while playing: a frame's worth of time, as
        # the window sees it (recording and handing over every run included).
        done = time.perf_counter()
        if self._playing and self._last_tick is not None:
            self._sizer.update(k, done - self._last_tick)
        self._last_tick = done if self._playing else None
        if not self._playing:
            self._pending_steps = max(0, self._pending_steps - k)
        problems = c.divergences()
        if problems:
            c.discard()  # a tick queued after the diverged one
            self._set_playing(False)
            self._pending_steps = 0
            self.diverged.emit("; ".join(problems) + ". Training is paused: reset the runs (Ctrl+R) or "
                               "remove the diverged run to go on with the others.")
        # While playing, a new snapshot once the window has taken the last (the ticks are
        # paced by it), or after STALE_S when it is slow to.
        if not self._playing or self._mailbox.taken or done - self._last_emit >= STALE_S:
            self._publish()

    def _publish(self):
        snaps = self.comparison.snapshots()
        self._mailbox.put(snaps)
        self._last_emit = time.perf_counter()
        self.snapshots_ready.emit(snaps[0].step)

    @property
    def _handlers(self) -> dict:
        return {"play": self._on_play, "pause": self._on_pause, "step": self._on_step,
                "reset": self._on_reset, "runs": self._rebuild, "remove": self._on_remove,
                "save": self._on_save, "open": self._on_open, "open_runs": self._on_open_runs}

    def _set_playing(self, playing: bool):
        if playing != self._playing:
            self._last_tick = None
        super()._set_playing(playing)

    def _diverged(self) -> bool:
        return self.comparison is not None and bool(self.comparison.divergences())

    def _on_play(self):
        if self.comparison is None or self._refused("before playing"):
            return
        self._set_playing(True)

    def _on_reset(self):
        if self.comparison is None:
            self._rebuild(self._configs)
            return
        self._set_playing(False)
        self._pending_steps = 0
        self._guard("reset", self.comparison.reset)
        self._sizer = self._new_sizer()
        self.message.emit("every run restarted from step 0")
        self._publish()

    def _on_remove(self, index: int):
        if self.comparison is None:
            return
        if not self._guard("remove the run", lambda: self.comparison.remove(index)):
            return
        self._configs = list(self.comparison.configs)
        self._announce()

    def _on_save(self, path: str, folder: bool):
        if self.comparison is None:
            self.failed.emit("nothing to save: no runs are loaded")
            return
        saved = []
        self.comparison.save_recording = self.save_recording
        if self._guard(f"cannot save {path}", lambda: saved.append(
                self.comparison.save_folder(path) if folder else self.comparison.save(path))):
            self.saved.emit(str(saved[0]))

    def _on_open(self, path: str):
        self._set_playing(False)
        self._pending_steps = 0
        self.message.emit(f"opening {path}…")
        opened = []
        if not self._guard(f"cannot open {path}", lambda: opened.append(Comparison.open(path))):
            return  # the runs stay as they were
        self._replace(opened[0])
        notes = "".join(f"; {n}" for n in opened[0].notes)  # (an unreadable timeline: the runs opened)
        self.message.emit(f"opened {path} at step {opened[0].step:,}{notes}")

    def _on_open_runs(self, paths: list[str]):
        self._set_playing(False)
        self._pending_steps = 0
        opened = []
        if not self._guard("cannot open the runs", lambda: opened.append(Comparison.open_runs(paths))):
            return
        self._replace(opened[0])
        at = ", ".join(f"{n} at step {s.step:,}" for n, s in zip(opened[0].names, opened[0].sessions))
        self.message.emit(f"opened {at}" + "".join(f"; {n}" for n in opened[0].notes))

    def _rebuild(self, configs: list[Config]):
        """A new set of runs from step 0 (the first set, or runs added)."""
        self._set_playing(False)
        self._pending_steps = 0
        self.message.emit(f"building {len(configs)} run{'s' * (len(configs) > 1)}…")
        built = []
        if self._guard("cannot build the runs", lambda: built.append(Comparison(configs))):
            self._replace(built[0])
            groups = [g for g in built[0].groups if len(g) > 1]
            together = "; " + ", ".join("+".join(g) for g in groups) + " train together (vmap)" if groups else ""
            self.message.emit(f"ready: {len(configs)} run{'s' * (len(configs) > 1)} at step 0{together}")

    def _replace(self, comparison: Comparison):
        if self.comparison is not None:
            self.comparison.close()
        self.comparison = comparison
        self._configs = list(comparison.configs)
        self._sizer = self._new_sizer()
        self._announce()

    def _new_sizer(self) -> TickSizer:
        c = self.comparison
        return TickSizer.for_kind(c.sessions[0].kind) if c is not None else TickSizer()

    def _announce(self):
        self.runs_changed.emit(json.dumps([c.to_dict() for c in self._configs]))
        self._publish()

    def _guard(self, what: str, action) -> bool:
        """Run ``action``; a GanplayError becomes its one line, anything else a logged report."""
        try:
            action()
        except GanplayError as exc:
            log_failure(str(exc), self._failure_config())
            self.failed.emit(str(exc))
            return False
        except Exception as exc:
            self._report_crash(what, exc)
            return False
        return True

    def _failure_config(self) -> Config | None:
        return self._configs[0] if self._configs else None
