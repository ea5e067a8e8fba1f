"""Play, pause and step: the transport commands the main window and Compare mode send alike."""
from __future__ import annotations

from ganplay.ui.command_worker import CommandWorker


class PlaybackCommands:
    """Mixed into a window (ahead of ``QMainWindow``) that has a ``worker`` and keeps ``_running``
    as its worker's ``running_changed`` last said; the window's actions and buttons call these."""

    worker: CommandWorker
    _running = False

    def toggle_play(self) -> None:
        if self._running:
            self.worker.pause()
        else:
            self.worker.play()

    def play(self) -> None:
        self.worker.play()

    def pause(self) -> None:
        self.worker.pause()

    def step_once(self) -> None:
        self.worker.step(1)
