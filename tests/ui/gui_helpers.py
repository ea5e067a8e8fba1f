"""Helpers for the GUI tests that drive the real training worker.

``caught``: qtbot.waitSignal for signals emitted in another thread (the training worker's).
Why not ``qtbot.waitSignal``: PySide6 runs a plain Python callable connected to a signal in the
thread that emits it when the sender lives there (the worker is moved to its QThread). pytest-qt's
blocker then runs in the worker thread: it stops its QTimer from the wrong thread (Qt refuses, and
the timer forgets its id, so its timeout is never emitted) and quits the nested QEventLoop. When
that lands as ``wait()`` enters ``QEventLoop.exec()`` (the GIL is handed over right there), exec
starts after the quit and nothing ever ends it: the test hangs with both threads idle. That is
the hang once seen in test_full_disk_in_the_gui_save_is_a_dialog; ``tests/ui/test_gui_helpers.py``
reproduces it deterministically.

Here the signal only appends to a list (safe from any thread) and the GUI thread polls it with
``qtbot.waitUntil``, whose short waits use a timer of its own thread.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication

from ganplay.engine.session import ChunkSizer
from ganplay.ui import worker as worker_module


class Caught:
    """The emissions seen; ``args`` are the first accepted one's (as a blocker's ``args``)."""

    def __init__(self):
        self.all_args: list[tuple] = []

    @property
    def args(self) -> list | None:
        return list(self.all_args[0]) if self.all_args else None


@contextmanager
def caught(qtbot, signal, timeout: int, check: Callable[..., bool] | None = None) -> Iterator[Caught]:
    """Run the ``with`` body, then wait until ``signal`` has been emitted (with arguments that
    pass ``check``, if given) since the body started; TimeoutError after ``timeout`` ms.

    Then the events already posted are delivered: the window's own slots for the signal (queued
    to this thread before ``record`` ran) have run when this returns, as after waitSignal."""
    seen = Caught()

    def record(*args):  # may run in the emitting thread: a list append only
        if check is None or check(*args):
            seen.all_args.append(args)

    signal.connect(record)
    try:
        yield seen
        qtbot.waitUntil(lambda: bool(seen.all_args), timeout=timeout)
        QCoreApplication.processEvents()
    finally:
        signal.disconnect(record)


def fix_dispatch_size(monkeypatch, k: int) -> None:
    """Every dispatch of the windows made from now on is ``k`` steps (or what a target, a GIF
    frame or the guard's next kept step leaves): a few scan lengths compiled, the same on any
    machine, instead of the sizer's growing sizes and their remainders (one compile each)."""
    monkeypatch.setattr(worker_module, "ChunkSizer", functools.partial(ChunkSizer, k=k, max_changes=0))
