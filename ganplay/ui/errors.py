"""How a window tells the user that something failed: a small protocol, injected into the window.

The app's main window uses :class:`DialogErrors` (a warning dialog that does not block, and a
status-bar line); tests and unattended runs pass :class:`StatusErrors` (the line only), so no
modal dialog waits for a click that never comes. Compare's window always reports in its status
bar and error label.
"""
from __future__ import annotations

from typing import Protocol

STATUS_MS = 15_000  # how long the status bar keeps an error's line


class ErrorPresenter(Protocol):
    def present(self, window, title: str, message: str) -> None:
        """Tell the user of ``window`` that ``title`` failed because of ``message``."""


class StatusErrors:
    """An error is a line in the window's status bar (its message's first line)."""

    def present(self, window, title: str, message: str) -> None:
        line = message.splitlines()[0] if message.strip() else title
        window.statusBar().showMessage(line, STATUS_MS)


class DialogErrors(StatusErrors):
    """The status-bar line, and a warning dialog that does not block (``window.show_error``)."""

    def present(self, window, title: str, message: str) -> None:
        super().present(window, title, message)
        window.show_error(title, message)
