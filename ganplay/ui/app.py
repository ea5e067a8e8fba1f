"""Start the GUI, including the scripted mode used for demos, screenshots and tests."""
from __future__ import annotations

import logging
import os
import signal
import sys

from PySide6.QtCore import QObject, QTimer

from ganplay.config import Config


def run_gui(config: Config, args) -> int:
    """Open the window. With ``--autostart`` and ``--quit`` the run is *scripted*: it starts and
    ends by itself, and nobody need be at the window.

    A scripted run is guarded by a :class:`~ganplay.watchdog.Watchdog`: when no new training step
    reaches the window and no frame is drawn for ``$GANPLAY_WATCHDOG_S`` seconds (default 120;
    0 switches it off), every thread's stack goes to stderr and the log file and the process
    exits with status 3. It stays armed until the process ends, so a hang while exiting is caught
    too: call this as a program's last act, not from a process that goes on. Otherwise a person
    is at the window (to press Play, or to close it; they may pause for hours): no watchdog.
    """
    from ganplay.ui.main_window import MainWindow

    app, _collector = start_app()  # the collector must live until exec returns
    explicit = any(getattr(args, k, None) for k in ("model", "dataset", "config", "sets", "seed", "data_dir", "preset"))
    scripted_run = bool(args.quit and args.autostart)
    watchdog = _start_watchdog() if scripted_run else None  # before the window: building it compiles
    if not explicit:
        config = _first_run_config(config)
    window = MainWindow(config, restore=not explicit, warm_up=True, start_worker=False)
    scripted = ScriptedRun(window, steps=args.steps, screenshot=args.screenshot, quit=args.quit,
                           gif=getattr(args, "record_gif", None), gif_every=getattr(args, "gif_every", None),
                           unattended=scripted_run, watchdog=watchdog)
    window.start_worker()  # after the scripted run listens: a run that fails at once is heard
    window.show()
    overlays = [o.strip() for o in (getattr(args, "overlays", None) or "").split(",") if o.strip()]
    for name in overlays:
        if name not in window.overlay_boxes:
            from ganplay.errors import GanplayError

            window.close()
            raise GanplayError(f"--overlays: unknown view {name!r}; choose from {', '.join(window.overlay_boxes)}")
        window.set_overlay(name, True)
    close_on_signals(window)
    if args.autostart or args.steps:
        scripted.start(play=args.autostart)
    code = app.exec()
    scripted.closing()  # the watchdog now times the exit
    return leave_app(scripted.exit_code if scripted.exit_code else code)


def start_app():
    """The QApplication every ganplay window runs in (the main window, ``ganplay compare``):
    its names (QSettings' file), pyqtgraph's options, cycles collected in the GUI thread and the
    log file. Returns ``(app, collector)``: keep the collector referenced until exec returns."""
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg
    from pyqtgraph.util.garbage_collector import GarbageCollector

    from ganplay.logs import setup_file_logging

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ganplay")
    app.setOrganizationName("ganplay")
    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    # Python's cycle collector runs in whichever thread allocates; in the training thread it
    # could free a dead dialog's Qt objects there, and Qt deadlocked destroying them from two
    # threads. Collect on a timer in the GUI thread instead (pyqtgraph's helper for this).
    collector = GarbageCollector(interval=1.0)
    setup_file_logging()
    return app, collector


def leave_app(code: int) -> int:
    """``code``, once the window has closed; the process ends at once if a training thread is still
    running: closing asked it to stop, but it is inside an XLA compile, which cannot be
    interrupted. Settings are saved; leave now instead of waiting for it."""
    from ganplay.ui.command_worker import WorkerThread

    if any(t.is_running() for t in list(WorkerThread.live)):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


# Eight clusters on a ring, learnt fast and kept. toy-mlp at the model's defaults (learning rates
# 1e-3, batch 256) found all eight, with at least half its samples on them, after 5-9 s of training;
# at 2e-3 and batch 128 after 1.6-3.2 s, but then swung between 4 and 8 modes; adding an EMA of G
# (decay 0.995, the generator drawn) found them after 1,500-1,750 steps (about 1 s) and held 8 modes
# at 92-97% from 5,000 to 15,000 steps (seeds 0-3, headless on 2 cores).
FIRST_RUN = {"model": "toy-mlp", "dataset": "ring8", "lr_g": 2e-3, "lr_d": 2e-3, "batch_size": 128,
             "ema_decay": 0.995}


def _first_run_config(config: Config) -> Config:
    """With no settings saved (a first start), open on a run that shows what a GAN does at once.

    Saved settings win (the window restores them); so does anything given on the command line."""
    from PySide6.QtCore import QSettings

    if QSettings("ganplay", "ganplay").contains("config"):
        return config
    return Config.for_model(**FIRST_RUN, seed=config.seed)


def _start_watchdog():
    from ganplay.watchdog import Watchdog, timeout_from_env

    timeout = timeout_from_env()
    if timeout is None:
        return None
    # The backstop (a C timer, for a thread stuck holding the GIL) expires well after the
    # watchdog would have fired, so it only acts when the watchdog's own thread cannot run.
    return Watchdog(timeout, backstop_s=timeout + max(10.0, timeout / 4)).start()


def close_on_signals(window) -> None:
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
    """``--autostart --steps N --screenshot out.png --quit``: train, capture, exit.

    ``unattended`` (``--autostart`` with ``--quit``): nobody is at the window, so an error or a
    divergence that would wait for a click ends the run instead (one line on stderr, status 1).
    ``watchdog`` (if given) is petted whenever a new step reaches the window or a frame is drawn.
    """

    def __init__(self, window, *, steps=None, screenshot=None, quit=False, gif=None, gif_every=None,
                 unattended=False, watchdog=None):
        super().__init__(window)
        self.window = window
        self.steps = steps
        self.screenshot = screenshot
        self.gif = gif
        self.gif_every = gif_every
        self.quit = quit
        self.exit_code = 0
        self._target_step = None
        self.step: int | None = None  # the newest step that reached the window
        self._closing = False
        self.watchdog = watchdog
        if watchdog is not None:
            watchdog.describe = self.stall_message
        # Queued to the GUI thread: a pet also proves that the window's event loop is alive.
        window.worker.snapshot_ready.connect(self._on_snapshot)
        window.worker.target_reached.connect(self._on_target)
        window.snapshot_drawn.connect(self._on_drawn)
        if unattended:
            window.worker.failed.connect(self._on_failed)
            window.worker.diverged.connect(self._on_diverged)

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

    def stall_message(self, timeout_s: float) -> str:
        """What the watchdog says when it fires (called from its thread: reads plain attributes)."""
        if self.step is None:
            where = "no step has reached the window yet: building or compiling"
        else:
            where = f"step {self.step:,}" + (f" of {self.steps:,}" if self.steps else "")
        if self._closing:
            return f"the run ended ({where}) but ganplay did not exit within {timeout_s:g} s"
        return f"no training progress and no frame for {timeout_s:g} s ({where})"

    def closing(self) -> None:
        """The window is closing: from now on the watchdog times the exit."""
        self._closing = True
        self._pet()

    def _pet(self) -> None:
        if self.watchdog is not None:
            self.watchdog.pet()

    def _on_snapshot(self, step: int) -> None:
        if step != self.step:  # a new step (or a restart): training moves
            self.step = step
            self._pet()

    def _on_failed(self, message: str) -> None:
        """Scripted: an error dialog would wait for a click that never comes; end the run instead."""
        self._fail(message.splitlines()[0])

    def _on_diverged(self, message: str) -> None:
        self._fail(f"training diverged: {message.split('. ')[0]}")  # the rest is the dialog's advice

    def _fail(self, line: str) -> None:
        if self._closing:
            return
        print(f"ganplay: error: {line}", file=sys.stderr)
        self.exit_code = 1
        self.closing()
        QTimer.singleShot(0, self.window.close)

    def _on_target(self, step: int) -> None:
        self._target_step = step
        # The worker announced the pause just before this; if the redraw timer ran in between, the
        # final snapshot is already on screen and no later frame will come (training stopped).
        # Draw it again, completely, so that _on_drawn sees it (issue 12: a run waited forever).
        self.window.redraw()

    def _on_drawn(self, step: int) -> None:
        self._pet()
        if self._target_step is None or step < self._target_step:
            return
        self._target_step = None
        if self.screenshot:
            if not self.window.grab().save(self.screenshot):
                print(f"ganplay: error: cannot write screenshot {self.screenshot}", file=sys.stderr)
                self.exit_code = 1
        # (the worker recorded the final state's frame when it reached the target: the GIF ends on it)
        if self.gif and self.window.gif_recording is not None and not self.window.stop_recording():
            print(f"ganplay: error: cannot write GIF {self.gif}", file=sys.stderr)
            self.exit_code = 1
        if self.quit:
            self.closing()
            QTimer.singleShot(0, self.window.close)  # close outside this signal's emission
