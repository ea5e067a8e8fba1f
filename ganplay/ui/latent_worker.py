"""The latent lab's own thread: it owns the lab (G's copy and its compiled programs) and runs the
dock's requests off the GUI thread.

Requests are named jobs; a newer job of a name replaces one still waiting (a dragged slider asks
for many images and only the last matters). Results wait in a one-slot-per-name mailbox and
``ready`` carries only the name (Python objects never travel inside queued Qt events, as in
:mod:`ganplay.ui.worker`). Jobs run in ``PRIORITY`` order, so a slider's image never waits
behind a sheet; a running discovery (a second or two) is not interrupted.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from ganplay.logs import log_failure

PRIORITY = ("generator", "render", "index", "classes", "sheet", "sheet_file", "walk", "discover")


class LatentWorker(QObject):
    ready = Signal(str)  # a job's name: its result waits in ``take(name)``
    failed = Signal(str)  # one line: what failed

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._jobs: dict[str, Callable] = {}
        self._results: dict[str, object] = {}
        self._running = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.state: dict = {}  # the thread's own (the lab, the nearest-image index); jobs read it
        self._thread = threading.Thread(target=self._run, name="latent-lab", daemon=True)
        self._thread.start()

    def post(self, name: str, job: Callable[[dict], object]) -> None:
        """Run ``job(state)`` on the lab's thread (replacing a waiting job of that name)."""
        if name not in PRIORITY:
            raise ValueError(f"unknown latent job {name!r}")
        with self._lock:
            self._jobs[name] = job
        self._wake.set()

    def take(self, name: str):
        """The newest result of ``name`` (None once taken)."""
        with self._lock:
            return self._results.pop(name, None)

    def busy(self) -> bool:
        """Whether a job is waiting or running."""
        with self._lock:
            return bool(self._jobs) or self._running

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _next(self):
        with self._lock:
            for name in PRIORITY:
                if name in self._jobs:
                    self._running = True
                    return name, self._jobs.pop(name)
            self._running = False
            self._wake.clear()
            return None, None

    def _run(self) -> None:
        while not self._stop.is_set():
            name, job = self._next()
            if job is None:
                self._wake.wait(0.5)
                continue
            try:
                result = job(self.state)
            except Exception as exc:  # a bad file, an XLA error: one line to the dock, the log has the rest
                log_failure(f"latent lab: {name} failed", None, exc)
                self.failed.emit(f"{name} failed: {exc}".splitlines()[0])
                continue
            if result is None:
                continue
            with self._lock:
                self._results[name] = result
            if not self._stop.is_set():
                self.ready.emit(name)
