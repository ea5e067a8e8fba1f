"""Offer to download a missing dataset, with a cancellable progress dialog.

The download runs on a Python thread (``ganplay.data.download``: resumable, checksummed, atomic);
its progress reaches the dialog through a queued signal carrying plain numbers.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog

from ganplay.data import DATASETS
from ganplay.errors import GanplayError


def dataset_missing(name: str, data_dir: str) -> str | None:
    """The not-found message when dataset ``name`` has no files here (None when it has them)."""
    if not DATASETS.get(name).needs_files or name == "image-folder":
        return None
    from ganplay.data.locate import find_dataset_dir

    try:
        find_dataset_dir(name, data_dir, allow_download=False)
    except GanplayError as exc:
        return str(exc)
    return None


class _Relay(QObject):
    progressed = Signal(float, float)  # bytes done, bytes total (0 when unknown)
    done = Signal(str)  # "" on success, else the error message


def offer_download(parent, name: str, data_dir: str, *, ask: bool = True) -> bool:
    """Ask, then download ``name`` into the user cache. True when the files are now there."""
    from ganplay.data.locate import dataset_cache_dir, find_dataset_dir

    if ask:
        answer = QMessageBox.question(
            parent, "Dataset not found",
            f"The files of {name} were not found.\n\nDownload them into {dataset_cache_dir(name)}? "
            "(The download can be cancelled and resumed later.)",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes,
        )
        if answer != QMessageBox.Yes:
            return False
    dialog = QProgressDialog(f"Downloading {name}…", "Cancel", 0, 1000, parent)
    dialog.setWindowTitle("ganplay")
    dialog.setWindowModality(Qt.WindowModal)
    dialog.setMinimumDuration(0)
    # We close it ourselves. With the defaults, reaching the maximum reset the bar to -1 while
    # the label still showed an earlier figure (setValue on a modal dialog processes events, so a
    # later progress signal could run inside an earlier one's setValue).
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    cancel = threading.Event()
    dialog.canceled.connect(cancel.set)
    relay = _Relay()
    loop = QEventLoop()
    result: list[str] = []

    def on_progress(done: float, total: float) -> None:
        if total > 0:  # the label first: setValue may run the next update before it returns
            dialog.setLabelText(f"Downloading {name}… {done / 1e6:.1f} of {total / 1e6:.1f} MB")
            dialog.setValue(int(1000 * done / total))
        else:
            dialog.setLabelText(f"Downloading {name}… {done / 1e6:.1f} MB")

    def on_done(message: str) -> None:
        result.append(message)
        loop.quit()

    relay.progressed.connect(on_progress)
    relay.done.connect(on_done)

    def abort() -> None:
        """Cancel at once (the window is closing): the thread notices between chunks."""
        cancel.set()
        result.append("download cancelled")
        loop.quit()

    # A stalled server must not hold the dialog: Cancel ends the wait now, not at the next chunk.
    dialog.canceled.connect(abort)
    if hasattr(parent, "abort_download"):
        parent.abort_download = abort

    def work() -> None:
        try:
            find_dataset_dir(name, data_dir, allow_download=True,
                             progress=lambda d, t, _f: relay.progressed.emit(float(d), float(t or 0)),
                             cancel=cancel)
        except GanplayError as exc:
            relay.done.emit(str(exc) or "download failed")
            return
        relay.done.emit("")

    threading.Thread(target=work, name="ganplay-download", daemon=True).start()
    try:
        loop.exec()
    finally:
        if hasattr(parent, "abort_download"):
            parent.abort_download = None
        relay.progressed.disconnect(on_progress)
        relay.done.disconnect(on_done)
    dialog.close()
    message = result[0] if result else "download did not finish"
    if message:
        if not cancel.is_set():
            QMessageBox.warning(parent, "Download failed", message)
        return False
    return True
