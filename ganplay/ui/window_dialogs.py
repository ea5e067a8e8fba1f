"""The main window's dialogs: errors (non-blocking), the divergence choice (roll back, reset or
inspect) and the losses' formulas. A mixin of MainWindow."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from ganplay.ui.remedies_panel import losses_help_html


class WindowDialogs:
    """The main window's dialogs: errors (non-blocking), the divergence choice (roll back, reset or"""

    def show_losses_help(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Losses and penalties")
        box.setTextFormat(Qt.RichText)
        box.setText(losses_help_html())
        box.setStandardButtons(QMessageBox.Close)
        box.setModal(False)
        box.open()
        self.losses_help_box = box

    def _on_failed(self, message: str) -> None:
        self.report_error("ganplay", message)

    def report_error(self, title: str, message: str) -> None:
        """Tell the user that ``title`` failed: as the window's error presenter says (a dialog
        and a status-bar line in the app, the line alone in tests)."""
        self.errors.present(self, title, message)

    def show_error(self, title: str, message: str) -> QMessageBox:
        """A warning dialog that does not block the event loop (training and redraws go on);
        ``DialogErrors`` opens it."""
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModal)
        box.finished.connect(self._forget_message_box)
        self.message_box = box
        box.open()
        return box

    def _forget_message_box(self, _result: int) -> None:
        self.message_box = None

    def _on_diverged(self, message: str) -> None:
        info = self.worker.divergence()
        self.statusBar().showMessage(message.split(". ")[0], 30000)
        if self.divergence_box is not None:
            self.divergence_box.close()
        box = QMessageBox(QMessageBox.Warning, "Training diverged", message, QMessageBox.NoButton, self)
        good = info[1] if info else 0
        self.rollback_button = box.addButton(f"Roll back to step {good:,}", QMessageBox.AcceptRole)
        self.rollback_button.setToolTip("Restore the last good state kept before the blow-up (Ctrl+Z)")
        self.reset_after_divergence = box.addButton("Reset", QMessageBox.ResetRole)
        box.addButton("Inspect", QMessageBox.RejectRole).setToolTip(
            "Close this message and look at the plots; Run ▸ Roll back stays available")
        box.setDefaultButton(self.rollback_button)
        box.setWindowModality(Qt.WindowModal)
        box.buttonClicked.connect(self._on_divergence_choice)
        self.divergence_box = box
        self.set_state(diverged=True)  # Roll back becomes available, stepping does not
        box.open()

    def _on_divergence_choice(self, button) -> None:
        if button is self.rollback_button:
            self.rollback()
        elif button is self.reset_after_divergence:
            self.reset()
        self.divergence_box = None
