"""Compare mode's file commands: save and open a set (one file or a folder of run files), export
a PNG of the window and every run's metrics as one CSV. A mixin of CompareWindow."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from ganplay.engine.compare import NAMES, SUFFIX, comparison_csv, labels
from ganplay.errors import GanplayError
from ganplay.files import atomic_write_bytes


class CompareFiles:
    """Compare mode's file commands: save and open a set (one file or a folder of run files), export"""

    def save_set(self, path: str, folder: bool = False) -> None:
        self.worker.save(path, folder)

    def open_set(self, path: str) -> None:
        self.error_label.setText("")
        self.worker.open(path)

    def save_set_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save set", f"compare-{self.configs[0].dataset}{SUFFIX}",
                                              f"ganplay comparisons (*{SUFFIX})")
        if path:
            self.save_set(path)

    def save_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save set as a folder of run files")
        if path:
            self.save_set(path, folder=True)

    def open_set_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open set", "", f"ganplay comparisons (*{SUFFIX});;All files (*)")
        if path:
            self.open_set(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a set saved as a folder")
        if path:
            self.open_set(path)

    def export_png(self, path: str) -> None:
        if not self.centralWidget().grab().save(str(path), "PNG"):
            self.show_error(f"cannot write {path}; choose a writable folder")
            return
        self.statusBar().showMessage(f"saved {path}", 8000)

    def export_csv(self, path: str) -> None:
        if not self.snapshots:
            self.show_error("nothing to export yet: no run has been drawn")
            return
        text = comparison_csv(list(NAMES[: len(self.configs)]), labels(self.configs), self.snapshots)
        try:
            atomic_write_bytes(path, text.encode())
        except GanplayError as exc:
            self.show_error(str(exc))
            return
        self.statusBar().showMessage(f"saved {path}", 8000)

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", f"compare-{self.configs[0].dataset}.png",
                                              "PNG images (*.png)")
        if path:
            self.export_png(path)

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", f"compare-{self.configs[0].dataset}.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)
