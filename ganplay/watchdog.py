"""A stall watchdog for unattended runs: no heartbeat for a while, then stacks and exit.

A scripted ``ganplay … --quit`` run that hangs would otherwise hang its caller (a demo script, a
test, CI) with nothing to show why. :class:`Watchdog` runs in its own daemon thread, so it fires
even when the GUI thread is stuck; whoever makes progress calls :meth:`Watchdog.pet`. After
``timeout_s`` seconds without one, the default action writes every thread's Python stack to
stderr and to the log file, prints one line, and ends the process with :data:`EXIT_STALLED`.

The GIL: a Python thread can only run while no other thread holds it. A thread stuck inside C
code that keeps the GIL (rare: Qt and XLA release it around blocking work) would freeze this
watchdog too. For that case ``backstop_s`` arms :func:`faulthandler.dump_traceback_later`, whose
timer is a C thread that needs no GIL: it is pushed back while this watchdog's thread runs, and
if it ever expires it writes the stacks to stderr (after a ``Timeout (h:mm:ss)!`` line) and
exits with status 1. It is process-wide (one timer per process, also used by pytest's
``faulthandler_timeout``), so only a program's own entry point should ask for it.

No Qt here: the module is usable, and tested, without a window.
"""
from __future__ import annotations

import faulthandler
import os
import threading
import time
from collections.abc import Callable, Mapping

from ganplay.errors import GanplayError

ENV = "GANPLAY_WATCHDOG_S"
DEFAULT_TIMEOUT_S = 120.0  # an XLA compile on a loaded 2-core machine takes tens of seconds
EXIT_STALLED = 3


def timeout_from_env(environ: Mapping[str, str] = os.environ) -> float | None:
    """The timeout in ``$GANPLAY_WATCHDOG_S`` (default 120 s); None when it is 0 (switched off)."""
    raw = environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise GanplayError(f"{ENV}={raw!r}: expected seconds without progress before a scripted run "
                           "is stopped (a number, e.g. 120), or 0 to switch the watchdog off")
    return value or None


def dump_stacks_and_exit(message: str, code: int = EXIT_STALLED) -> None:
    """Every thread's stack to stderr and the log file, then one line, then ``os._exit(code)``.

    Only raw file descriptors are written: a stuck thread may hold the lock of ``sys.stderr``'s
    buffer or of a logging handler, and waiting for it here would stall the watchdog as well.
    """
    faulthandler.dump_traceback(file=2, all_threads=True)
    where = "stderr"
    try:
        from ganplay.logs import log_file

        path = log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        where += f" (not to the log file: {exc.strerror or exc})"
    else:
        try:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            os.write(fd, f"{stamp} ERROR ganplay.watchdog: {message}\n".encode())
            faulthandler.dump_traceback(file=fd, all_threads=True)
        finally:
            os.close(fd)
        where += f" and {path}"
    os.write(2, f"ganplay: error: {message}; thread stacks were written to {where}\n".encode())
    os._exit(code)


class Watchdog:
    """Calls ``on_stall(describe(timeout_s))`` once if :meth:`pet` is not called for ``timeout_s``.

    ``pet`` only stores a time (one attribute write, safe and cheap from any thread); the
    watchdog's thread wakes every ``timeout_s / 10`` (at most each second) to compare it with the
    clock, and sleeps on a ``threading.Event`` that :meth:`stop` sets.
    """

    def __init__(self, timeout_s: float, *, describe: Callable[[float], str] | None = None,
                 on_stall: Callable[[str], None] = dump_stacks_and_exit, backstop_s: float | None = None):
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be above 0, got {timeout_s}")
        self.timeout_s = float(timeout_s)
        self.describe = describe or (lambda t: f"no progress for {t:g} s")
        self.on_stall = on_stall
        self.backstop_s = backstop_s
        self._poll_s = min(1.0, self.timeout_s / 10)
        self._last = time.monotonic()
        self._armed_at: float | None = None  # when the backstop was last pushed back
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ganplay-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._last = time.monotonic()
        self._arm_backstop()  # here, not in the thread: it might not get the GIL from the start
        self._thread.start()
        return self

    def pet(self) -> None:
        """Progress was made: the stall clock starts again."""
        self._last = time.monotonic()

    def stop(self) -> None:
        """Never fire (and drop the backstop); returns once the thread has ended."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _arm_backstop(self) -> None:
        if self.backstop_s:
            faulthandler.dump_traceback_later(self.backstop_s, exit=True, file=2)
            self._armed_at = time.monotonic()

    def _disarm_backstop(self) -> None:
        if self._armed_at is not None:
            faulthandler.cancel_dump_traceback_later()
            self._armed_at = None

    def _watch(self) -> None:
        try:
            while not self._stopped.wait(self._poll_s):
                now = time.monotonic()
                if now - self._last >= self.timeout_s:
                    self._disarm_backstop()  # the stall is handled here
                    self.on_stall(self.describe(self.timeout_s))
                    return
                if self._armed_at is not None and now - self._armed_at >= self.backstop_s / 4:
                    # Runs only while this thread gets the GIL; if it stops getting it, the C timer
                    # expires (backstop_s after the last push, which is at most a quarter old).
                    self._arm_backstop()
        finally:
            self._disarm_backstop()
