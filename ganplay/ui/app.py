"""Start the GUI, including the scripted mode used for demos, screenshots and tests."""
from __future__ import annotations

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
    explicit = any(getattr(args, k, None) for k in ("model", "dataset", "config", "sets", "seed", "data_dir"))
    window = MainWindow(config, restore=not explicit)
    scripted = ScriptedRun(window, steps=args.steps, screenshot=args.screenshot, quit=args.quit)
    window.show()
    if args.autostart or args.steps:
        scripted.start(play=args.autostart)
    code = app.exec()
    return scripted.exit_code if scripted.exit_code else code


class ScriptedRun(QObject):
    """``--autostart --steps N --screenshot out.png --quit``: train, capture, exit."""

    def __init__(self, window, *, steps=None, screenshot=None, quit=False):
        super().__init__(window)
        self.window = window
        self.steps = steps
        self.screenshot = screenshot
        self.quit = quit
        self.exit_code = 0
        self._target_step = None
        window.worker.target_reached.connect(self._on_target)
        window.snapshot_drawn.connect(self._on_drawn)

    def start(self, play: bool) -> None:
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
        if self.quit:
            QTimer.singleShot(0, self.window.close)  # close outside this signal's emission
