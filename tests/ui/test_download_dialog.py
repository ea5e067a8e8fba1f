"""The window's download offer: progress reaches the dialog, cancel stops the transfer."""
import re
import threading
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

import ganplay.data.locate as locate
from ganplay.data.download import DownloadCancelled
from ganplay.ui.download_dialog import dataset_missing, offer_download


def test_dataset_missing_names_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPLAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANPLAY_DATA", raising=False)
    message = dataset_missing("svhn", str(tmp_path))
    assert message and "svhn" in message and "--download" in message
    assert dataset_missing("ring8", "") is None


def test_progress_reaches_the_dialog(qtbot, monkeypatch):
    seen = []

    def fake_find(name, data_dir, allow_download, progress=None, cancel=None):
        assert allow_download
        for done in (0, 500_000, 1_000_000):
            progress(done, 1_000_000, "t10k-images-idx3-ubyte.gz")
            time.sleep(0.1)
        return "/somewhere"

    monkeypatch.setattr(locate, "find_dataset_dir", fake_find)

    def watch():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QProgressDialog):
                seen.append((w.value(), w.labelText()))

    timer = QTimer()
    timer.timeout.connect(watch)
    timer.start(1)
    assert offer_download(None, "mnist", "", ask=False) is True
    timer.stop()
    assert seen, "the progress dialog was never shown"
    # Whenever the dialog was looked at, its bar and its label agreed (under load a late update
    # once left the bar reset to -1 beside "0.5 of 1.0 MB"), and progress got at least halfway.
    shown = [(value, float(m.group(1))) for value, label in seen
             for m in [re.search(r"([\d.]+) of 1\.0 MB", label)] if m]
    assert all(value == round(1000 * mb) for value, mb in shown), shown
    assert any(value >= 500 for value, _ in shown), seen[-3:]


def test_cancel_stops_the_download(qtbot, monkeypatch):
    started = threading.Event()

    def slow_find(name, data_dir, allow_download, progress=None, cancel=None):
        started.set()
        while not cancel.wait(0.01):
            progress(1, 1000, "file")
        raise DownloadCancelled("download cancelled; the partial file is kept for resuming")

    monkeypatch.setattr(locate, "find_dataset_dir", slow_find)

    def press_cancel():
        if not started.is_set():
            QTimer.singleShot(20, press_cancel)
            return
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QProgressDialog) and w.isVisible():
                w.findChild(QPushButton).click()  # the user's click on Cancel
                return
        QTimer.singleShot(20, press_cancel)

    QTimer.singleShot(20, press_cancel)
    assert offer_download(None, "mnist", "", ask=False) is False
