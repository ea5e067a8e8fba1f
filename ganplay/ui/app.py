"""Start the GUI, including the scripted mode used for demos, screenshots and tests."""
from __future__ import annotations

import logging
import os
import signal
import sys

from PySide6.QtCore import QObject, QTimer

from ganplay.config import Config


def run_gui(config: Config, args) -> int:
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    from ganplay.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ganplay")
    app.setOrganizationName("ganplay")
    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    # Python's cycle collector runs in whichever thread allocates; in the training thread it
    # could free a dead dialog's Qt objects there, and Qt deadlocked destroying them from two
    # threads. Collect on a timer in the GUI thread instead (pyqtgraph's helper for this).
    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=1.0)  # noqa: F841  (kept alive until exec returns)
    explicit = any(getattr(args, k, None) for k in ("model", "dataset", "config", "sets", "seed", "data_dir"))
    from ganplay.logs import setup_file_logging
    from ganplay.ui.worker import WorkerThread

    setup_file_logging()
    window = MainWindow(config, restore=not explicit)
    scripted = ScriptedRun(window, steps=args.steps, screenshot=args.screenshot, quit=args.quit,
                           gif=getattr(args, "record_gif", None), gif_every=getattr(args, "gif_every", None))
    window.show()
    overlays = [o.strip() for o in (getattr(args, "overlays", None) or "").split(",") if o.strip()]
    for name in overlays:
        if name not in window.overlay_boxes:
            from ganplay.errors import GanplayError

            window.close()
            raise GanplayError(f"--overlays: unknown view {name!r}; choose from {', '.join(window.overlay_boxes)}")
        window.set_overlay(name, True)
    _close_on_signals(window)
    if args.autostart or args.steps:
        scripted.start(play=args.autostart)
    code = app.exec()
    code = scripted.exit_code if scripted.exit_code else code
    if any(t.is_running() for t in list(WorkerThread.live)):
        # Closing asked the training thread to stop, but it is inside an XLA compile, which
        # cannot be interrupted. Settings are saved; leave now instead of waiting for it.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _close_on_signals(window) -> None:
    """Ctrl+C in the terminal or SIGTERM closes the window the normal way (settings saved)."""

    def handler(signum, _frame):
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            return
    # Python runs signal handlers only between bytecodes; a timer gives it the chance while Qt
    # sits in its event loop.
    timer = QTimer(window)
    timer.setInterval(200)
    timer.timeout.connect(lambda: None)
    timer.start()


class ScriptedRun(QObject):
    """``--autostart --steps N --screenshot out.png --quit``: train, capture, exit."""

    def __init__(self, window, *, steps=None, screenshot=None, quit=False, gif=None, gif_every=None):
        super().__init__(window)
        self.window = window
        self.steps = steps
        self.screenshot = screenshot
        self.gif = gif
        self.gif_every = gif_every
        self.quit = quit
        self.exit_code = 0
        self._target_step = None
        window.worker.target_reached.connect(self._on_target)
        window.snapshot_drawn.connect(self._on_drawn)

    def start(self, play: bool) -> None:
        if self.gif:
            if self.gif_every is not None and self.gif_every < 1:
                from ganplay.errors import GanplayError

                raise GanplayError(f"--gif-every={self.gif_every} must be at least 1")
            self.window.start_recording(self.gif, self.gif_every)
        if self.steps:
            self.window.worker.set_target(self.steps)
        if play:
            self.window.play()

    def _on_target(self, step: int) -> None:
        self._target_step = step

    def _on_drawn(self, step: int) -> None:
        if self._target_step is None or step < self._target_step:
            return
        self._target_step = None
        if self.screenshot:
            if not self.window.grab().save(self.screenshot):
                print(f"ganplay: error: cannot write screenshot {self.screenshot}", file=sys.stderr)
                self.exit_code = 1
        if self.gif and self.window.recorder is not None:
            rec = self.window.recorder
            if not rec.steps or rec.steps[-1] != step:  # the last frame shows the final state
                self.window.recorder.add(step, self.window.top_stack.currentWidget().grab().toImage())
            if not self.window.stop_recording():
                print(f"ganplay: error: cannot write GIF {self.gif}", file=sys.stderr)
                self.exit_code = 1
        if self.quit:
            QTimer.singleShot(0, self.window.close)  # close outside this signal's emission
