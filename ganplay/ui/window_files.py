"""The main window's file commands: run files, config files, exports (PNG, CSV, GIF) and
Copy as command. A mixin of MainWindow: it uses the window's worker, config, status bar and
error presenter (``report_error``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtWidgets import QApplication, QFileDialog

from ganplay.commandline import command_for
from ganplay.config import Config, save_config
from ganplay.errors import GanplayError
from ganplay.models import MODELS

GIF_FPS = 12.5  # a GIF's frames a second (80 ms each, as the window's GIFs always played)


@dataclass(frozen=True)
class GifRecording:
    """A GIF being recorded (File ▸ Record GIF…, ``--record-gif``): where, how often, since when."""

    path: str
    every: int
    first: int

class FileCommands:
    """The main window's file commands: run files, config files, exports (PNG, CSV, GIF) and"""

    def copy_command(self) -> None:
        step = self._latest.step if self._latest is not None else 0
        line = command_for(self.config, steps=max(step, 1000), out="ganplay-run")
        QApplication.clipboard().setText(line)
        self.statusBar().showMessage(f"copied: {line}", 10000)

    def save_config_dialog(self) -> None:
        name = f"{self.config.model}-{self.config.dataset}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save config", name, "Config files (*.json)")
        if path:
            self.save_config(path)

    def save_config(self, path: str) -> bool:
        try:
            save_config(self.config, path)
        except (GanplayError, OSError) as exc:
            self.report_error("Cannot save the config", f"{exc}\n\nChoose another folder or free some space.")
            return False
        self.statusBar().showMessage(f"saved the settings to {path} (ganplay train --config {path} …)", 10000)
        return True

    def export_window_dialog(self) -> None:
        self.export_png_dialog(whole=True)

    def export_png_dialog(self, whole: bool = False) -> None:
        name = f"{self.config.model}-{self.config.dataset}-{self._latest.step if self._latest else 0}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", name, "PNG images (*.png)")
        if path:
            self.export_png(path, whole=whole)

    def export_png(self, path: str, whole: bool = False) -> bool:
        widget = self if whole else self.top_stack.currentWidget()
        if not widget.grab().save(path, "PNG"):
            self.report_error("Export failed", f"cannot write {path}: choose a writable folder")
            return False
        self.statusBar().showMessage(f"saved {path}", 6000)
        return True

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> bool:
        """The plotted history (per-step metrics, decimated for long runs) as CSV."""
        from ganplay.files import atomic_write_bytes

        snap = self._latest
        if snap is None:
            self.report_error("Export failed", "nothing to export yet: train for a few steps")
            return False
        h = snap.history
        names = [k for k in h if k != "step"]
        rows = np.column_stack([h["step"]] + [h[k] for k in names]) if len(h["step"]) else np.zeros((0, 1 + len(names)))
        import io

        buf = io.StringIO()
        buf.write("step," + ",".join(names) + "\n")
        np.savetxt(buf, rows, fmt=["%.1f"] + ["%.6g"] * len(names), delimiter=",")
        try:
            atomic_write_bytes(path, buf.getvalue().encode())
        except GanplayError as exc:
            self.report_error("Export failed", str(exc))
            return False
        self.statusBar().showMessage(f"saved {path}", 6000)
        return True

    def toggle_recording(self) -> None:
        if self.gif_recording is not None:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(self, "Record GIF", f"{self.config.model}-{self.config.dataset}.gif",
                                              "GIF animations (*.gif)")
        if path:
            self.start_recording(path)

    def start_recording(self, path: str, every_steps: int | None = None) -> None:
        """Record a GIF from now on: the worker records a timeline frame at every multiple of
        ``every_steps`` (kept from thinning); stopping exports them (``report/video.py``)."""
        if every_steps is None:
            every_steps = 100 if MODELS.get(self.config.model).kinds & {"points"} else 10
        if every_steps < 1:
            raise GanplayError(f"a GIF frame every {every_steps} steps: must be 1 or more")
        start = self._latest.step if self._latest is not None else 0
        self.gif_recording = GifRecording(str(path), int(every_steps), start)
        self.worker.set_frame_every(every_steps)
        self.record_action.setText("Stop recording and save GIF")
        self.statusBar().showMessage(f"recording a frame every {every_steps} steps into {path}", 6000)

    def stop_recording(self) -> int:
        """Write the GIF recorded since ``start_recording``; its number of frames (0: failed, said)."""
        from ganplay.report.video import export_video

        gif, self.gif_recording = self.gif_recording, None
        self.worker.set_frame_every(None)
        self.record_action.setText("Record GIF…")
        if gif is None:
            return 0
        rec = self.worker.recorder
        try:  # (past MAX_PINNED frames the recorder doubled the spacing: its own is the GIF's)
            n = export_video(rec, gif.path, first=gif.first, every=rec.pinned_every or gif.every, fps=GIF_FPS)
        except GanplayError as exc:
            self.report_error("Cannot save GIF", str(exc))
            return 0
        self.statusBar().showMessage(f"saved {gif.path} ({n} frames)", 8000)
        return n

    def save_run_dialog(self) -> None:
        start = self.settings.value("last_run_dir", "") or ""
        name = f"{self.config.model}-{self.config.dataset}.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save run", f"{start}/{name}" if start else name,
                                              "ganplay runs (*.npz)")
        if path:
            self.save_run(path)

    def open_run_dialog(self) -> None:
        start = self.settings.value("last_run_dir", "") or ""
        path, _ = QFileDialog.getOpenFileName(self, "Open run", start, "ganplay runs (*.npz);;All files (*)")
        if path:
            self.open_run(path)

    def save_run(self, path: str) -> None:
        """Save the current run to ``path`` (done by the worker between chunks; training goes on)."""
        if not str(path).endswith(".npz"):
            path = f"{path}.npz"
        self.worker.save_run(str(path))

    def open_run(self, path: str) -> None:
        self.pause()
        self.worker.open_run(str(path), self.config.data_dir or None)

    def _on_saved(self, path: str) -> None:
        import os

        self.settings.setValue("last_run_dir", os.path.dirname(path))
        self.statusBar().showMessage(f"saved {path}", 8000)

    def _on_opened(self, config_json: str) -> None:
        self.config = Config.from_json(config_json)
        self._load_controls(self.config)
        self.set_state(diverged=False)
