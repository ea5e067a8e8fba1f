"""The main window's own-data commands: drawing points on the scatter, training on them, and
importing a points CSV. A mixin of MainWindow."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog

from ganplay.config import Config
from ganplay.errors import GanplayError
from ganplay.models import MODELS


class UserPoints:
    """The main window's own-data commands: drawing points on the scatter, training on them, and"""

    def set_drawing(self, on: bool) -> None:
        if on:
            self.pause()
        self.toy_panel.set_drawing(on)
        self.statusBar().showMessage(
            "draw mode: drag on the plot to paint points; then press Train on drawn" if on else "", 8000)

    def train_on_drawn(self) -> None:
        import time as _time

        from ganplay.data.locate import cache_root
        from ganplay.data.points_file import save_points_csv

        pts = np.asarray(self.scatter_view.drawn_points, np.float64)
        path = cache_root() / "drawn" / f"drawn-{_time.strftime('%Y%m%d-%H%M%S')}.csv"
        try:
            save_points_csv(pts, path)
        except GanplayError as exc:
            self.report_error("Cannot save drawn points", str(exc))
            return
        self.set_drawing(False)
        self.scatter_view.clear_drawn()
        self.load_points_file(str(path))

    def import_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import 2-D points", "", "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.load_points_file(path)

    def load_points_file(self, path: str) -> None:
        """Train the current 2-D model on the x,y points in ``path`` (validated before switching)."""
        from ganplay.data.points_file import read_points_csv

        try:
            pts = read_points_csv(path)
        except GanplayError as exc:
            self.report_error("Cannot import points", str(exc))
            return
        model = self.config.model if "points" in MODELS.get(self.config.model).kinds else "toy-mlp"
        base = self.config if model == self.config.model else Config.for_model(model, seed=self.config.seed)
        self.apply_config(base.replace(dataset="points-file", data_dir=str(path)))
        self.statusBar().showMessage(f"training on {len(pts):,} points from {path}", 8000)
