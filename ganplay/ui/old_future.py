"""The old future beside its branch: after Continue from here kept the run it cut (in the cache's
``branches`` folder), Run ▸ Compare with the old future (or the status bar's button) saves the
branch there too and opens Compare with the branch as run A and the old future as run B, each at
its own step, so one timeline bar scrubs both at the same step."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton

TIP = ("Open Compare with this branch as run A and the old future Continue from here kept as run B, "
       "each at its own step; one timeline bar scrubs both")


class OldFuture(QObject):
    """Installs the action (Run menu) and the status-bar button; both wait for a kept old future."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.path: str | None = None  # the kept old future's run file
        self.step = 0  # the step the branch continued from
        self._branch: str | None = None  # the branch's run file, while it is being written
        self.compare_window = None
        self.action = QAction("Compare with the old future", window, enabled=False, toolTip=TIP, statusTip=TIP)
        self.action.triggered.connect(self.open_compare)
        window.menus["Run"].addAction(self.action)
        window.addAction(self.action)
        self.button = QPushButton("Compare with the old future")
        self.button.setObjectName("old_future_button")
        self.button.setToolTip(TIP)
        self.button.setFlat(True)
        self.button.setCursor(Qt.PointingHandCursor)
        self.button.setStyleSheet("color: #1a5fb4; text-decoration: underline")
        self.button.setVisible(False)
        self.button.clicked.connect(self.open_compare)
        window.statusBar().addPermanentWidget(self.button)
        window.worker.old_future_saved.connect(self._kept)
        window.worker.saved.connect(self._saved)
        window.worker.opened.connect(self._forget)  # another run: its old future is not this one's

    def _kept(self, path: str, step: int) -> None:
        self.path, self.step = path, int(step)
        self.action.setEnabled(True)
        self.button.setVisible(True)

    def _forget(self, *_) -> None:
        self.path = None
        self.action.setEnabled(False)
        self.button.setVisible(False)

    def open_compare(self) -> None:
        """Save the branch beside the old future, then open Compare once it is written."""
        if self.path is None or not Path(self.path).exists():
            self.window.statusBar().showMessage("no old future is kept: use Continue from here first", 8000)
            self._forget()
            return
        c = self.window.config
        name = f"{c.model}-{c.dataset}-branch-from-{self.step}-{time.strftime('%Y%m%d-%H%M%S')}.npz"
        self._branch = str(Path(self.path).with_name(name))
        self.window.worker.save_run(self._branch)

    def _saved(self, path: str) -> None:
        if path != self._branch:
            return  # a save of the user's own
        self._branch = None
        from ganplay.ui.compare_window import CompareWindow

        w = self.window
        window = CompareWindow([w.config, w.config])  # (replaced by the two files' runs at once)
        window.setWindowTitle(f"ganplay — this branch (A) and the old future (B) from step {self.step:,}")
        window.show()
        window.worker.open_runs([path, self.path])
        w.compare_windows = [x for x in w.compare_windows if x.isVisible()] + [window]
        self.compare_window = window
