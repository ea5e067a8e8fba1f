"""What the main window's and Compare mode's training workers share: a QObject run on its own
QThread whose loop takes commands from the GUI thread.

Following superqt's recipe, the loop blocks its thread's event loop, so the GUI talks to it
through a thread-safe command queue and ``threading.Event`` flags, never through queued slots.
A subclass names its commands in ``_handlers``; ``_post`` refuses any other name in the caller's
thread, so a misspelled command fails where it is sent instead of vanishing in the worker's.
"""
from __future__ import annotations

import logging
import queue
import threading
import traceback
import weakref

from PySide6.QtCore import QObject, QThread, Signal

from ganplay.logs import log_failure

log = logging.getLogger(__name__)


class CommandWorker(QObject):
    """The command queue, the play/pause/step state and the thread's last-resort error report.

    A subclass provides ``_loop`` (the training loop, on the worker thread), ``_handlers``
    (command name -> handler), ``_settle`` (record the work in flight), ``_publish`` (hand the
    GUI a snapshot), ``_diverged()`` (a diverged run stops Play and Step) and
    ``_failure_config()`` (the config logged beside a failure).
    """

    message = Signal(str)  # status-bar text
    failed = Signal(str)  # an error the user must see
    running_changed = Signal(bool)
    finished = Signal()

    COMMANDS_OF = "worker"  # an unknown command's message says "unknown <this> command"
    DIVERGED = "the run has diverged: roll back or reset"  # what to do before training on
    CRASH_HINT = ""  # appended to the report of an unexpected error

    def __init__(self):
        super().__init__()
        self._commands: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._wake = threading.Event()  # set with every command: an idle loop wakes at once
        self._stop = threading.Event()
        self._playing = False  # worker thread only, as everything below
        self._pending_steps = 0  # steps asked for with Step and not yet recorded
        self._publish_soon = False  # a paused view changed (paused, overlay toggled, panned): redraw

    # -- called from the GUI thread (thread-safe) ---------------------------------------------------
    def play(self):
        self._post("play")

    def pause(self):
        self._post("pause")

    def step(self, n: int = 1):
        self._post("step", int(n))

    def reset(self):
        self._post("reset")

    def stop(self):
        self._stop.set()
        self._wake.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _post(self, *cmd):
        if cmd[0] not in self._handlers:  # a typo must fail here, not be dropped in the thread
            raise ValueError(f"unknown {self.COMMANDS_OF} command {cmd[0]!r}; "
                             f"known: {', '.join(sorted(self._handlers))}")
        self._commands.put(cmd)
        self._wake.set()

    # -- worker thread ------------------------------------------------------------------------------
    def run(self):
        try:
            self._loop()
        except Exception as exc:  # last resort: report, never die silently
            self._report_crash("the training thread stopped", exc)
            traceback.print_exc()
        finally:
            self.finished.emit()
            # Ends the thread's event loop even though exec() has not started yet (Qt records
            # the exit); a queued quit from this thread to the GUI thread could not be relied on.
            QThread.currentThread().quit()

    def _drain_commands(self):
        while True:
            try:
                cmd, *args = self._commands.get_nowait()
            except queue.Empty:
                return
            self._settle()  # every command sees the training with nothing in flight
            self._handlers[cmd](*args)

    def _idle(self):
        """Nothing to train: record what is in flight, redraw a changed view, wait for a command."""
        self._settle()
        if self._publish_soon:
            self._publish_soon = False
            self._publish()
        self._wait()

    def _wait(self):
        self._wake.wait(0.1)
        self._wake.clear()

    def _set_playing(self, playing: bool):
        if playing != self._playing:
            self._playing = playing
            self.running_changed.emit(playing)

    def _refused(self, doing: str) -> bool:
        """True, and the status bar says what to do first, while a diverged run stops ``doing``."""
        if not self._diverged():
            return False
        self.message.emit(f"{self.DIVERGED} {doing}")
        return True

    def _on_pause(self):
        self._set_playing(False)
        self._publish_soon = True  # show where it stopped (a snapshot may have been held back)

    def _on_step(self, n: int):
        self._set_playing(False)
        if self._refused("before stepping"):
            return
        self._pending_steps += n

    def _report_crash(self, what: str, exc: Exception):
        log.debug("%s error", type(self).__name__, exc_info=True)
        path = log_failure(f"{what}: {type(exc).__name__}: {exc}", self._failure_config(), exc)
        where = f" Details are in {path}." if path else ""
        self.failed.emit(f"{what}: {type(exc).__name__}: {exc}.{where}{self.CRASH_HINT}")


class Mailbox:
    """One slot between a worker and the window: the worker puts the newest item (a snapshot, or
    a list of them), the window takes it. A slow window never builds a backlog, it simply draws
    the newest; and Python objects never travel inside queued Qt events (PySide6 can mis-count
    the references of objects left in the queue at shutdown)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._item = None
        self._taken = threading.Event()  # the window has taken the newest item (back-pressure)
        self._taken.set()

    def put(self, item) -> None:
        with self._lock:
            self._item = item
            self._taken.clear()

    def take(self):
        """The newest item (None before the first); marks it taken."""
        with self._lock:
            self._taken.set()
            return self._item

    @property
    def taken(self) -> bool:
        return self._taken.is_set()

    def wait_taken(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the window to take the newest item."""
        return self._taken.wait(timeout)

    def release(self) -> None:
        """Wake a worker waiting for the window (it is stopping: nobody will take the item)."""
        self._taken.set()


class WorkerThread:
    """Owns a QThread running a CommandWorker; start/stop with a bounded wait."""

    live: "weakref.WeakSet[WorkerThread]" = weakref.WeakSet()  # for leak checks in tests
    # Threads still finishing (a compile) after their window closed: kept alive here, since
    # destroying a running QThread aborts the process.
    orphans: "set[WorkerThread]" = set()

    def __init__(self, worker: CommandWorker):
        WorkerThread.live.add(self)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("ganplay-training")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)

    def start(self):
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop_requested(self) -> bool:
        return self.worker.stop_requested()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the loop to finish and wait for the thread; True when it has ended."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
