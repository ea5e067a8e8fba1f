"""Views for image data: sample grids (one ImageItem each), D accuracy and D's confusion matrix."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ganplay.report.images import tile_grid
from ganplay.ui.views import FAKE_COLOR, REAL_COLOR, CurvesView


class ImageGridView(pg.GraphicsLayoutWidget):
    """An n×n grid of images drawn as one ImageItem over a tiled uint8 array.

    With ``show_scores`` a text item under each tile shows D's probability that it is real.
    """

    def __init__(self, title: str, parent=None, n: int = 5, show_scores: bool = False, strip: bool = False):
        super().__init__(parent)
        self.strip = strip  # one row of all the images given (an interpolation)
        self.setObjectName(title.lower().replace(" ", "_"))
        self.plot = self.addPlot(title=title)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMouseEnabled(False, False)
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.n = n
        self.show_scores = show_scores
        self._labels: list[pg.TextItem] = []
        self._shape = None
        self.last_grid: np.ndarray | None = None

    def set_grid_size(self, n: int) -> None:
        self.n = n
        self._shape = None  # re-fit the view on the next frame

    def show_images(self, images: np.ndarray, scores: np.ndarray | None = None,
                    cols: int | None = None) -> None:
        """The first n x n images (all of them in a strip), or with ``cols`` all of them in rows
        of ``cols`` (a conditional GAN's class grid: one row per class)."""
        if cols is not None:
            count = len(images)
        else:
            count = len(images) if self.strip else self.n * self.n
            cols = count if self.strip else self.n
        grid = tile_grid(images[:count], cols=cols)
        data = grid[..., 0] if grid.shape[-1] == 1 else grid
        self.image.setImage(data, autoLevels=False, levels=(0, 255))
        self.last_grid = grid
        if self._shape != grid.shape:
            self._shape = grid.shape
            self.plot.setRange(xRange=(0, grid.shape[1]), yRange=(0, grid.shape[0]), padding=0.02)
            self._make_labels(images.shape[1], images.shape[2], count, cols)
        if self.show_scores and scores is not None:
            for label, s in zip(self._labels, scores[:count]):
                label.setText(f"{s:.2f}")
                label.setColor((0, 150, 0) if s >= 0.5 else (200, 0, 0))
        for label in self._labels:
            label.setVisible(self.show_scores and scores is not None)

    def _make_labels(self, h: int, w: int, count: int, cols: int) -> None:
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        if not self.show_scores:
            return
        for i in range(count):
            r, c = divmod(i, cols)
            label = pg.TextItem("", anchor=(0.5, 1.0))
            label.setPos(1 + c * (w + 1) + w / 2, 1 + r * (h + 1) + h)
            self.plot.addItem(label)
            self._labels.append(label)


def accuracy_view(parent=None) -> CurvesView:
    return CurvesView(
        "D accuracy",
        {"d_acc_real": ("on real", REAL_COLOR), "d_acc_fake": ("on generated", FAKE_COLOR)},
        parent,
        y_range=(0.0, 1.0),
    )


class ConfusionMatrixView(QWidget):
    """D's confusion matrix (seed 004): real/fake truth against D's call, latest window of steps."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusion_matrix")
        grid = QGridLayout(self)
        self.title = QLabel("D confusion matrix")
        self.title.setAlignment(Qt.AlignCenter)
        grid.addWidget(self.title, 0, 0, 1, 3)
        grid.addWidget(QLabel(""), 1, 0)
        grid.addWidget(_header("D says real"), 1, 1)
        grid.addWidget(_header("D says fake"), 1, 2)
        grid.addWidget(_header("real"), 2, 0)
        grid.addWidget(_header("generated"), 3, 0)
        self.cells = {}
        for name, (r, c) in {"TP": (2, 1), "FN": (2, 2), "FP": (3, 1), "TN": (3, 2)}.items():
            cell = QLabel("–")
            cell.setAlignment(Qt.AlignCenter)
            cell.setMinimumSize(90, 40)
            cell.setToolTip({
                "TP": "True positives: real images D calls real",
                "FN": "False negatives: real images D calls fake",
                "FP": "False positives: generated images D calls real (G fooled D)",
                "TN": "True negatives: generated images D calls fake",
            }[name])
            grid.addWidget(cell, r, c)
            self.cells[name] = cell

    def show_matrix(self, matrix: dict | None, window: int = 0) -> None:
        if not matrix:
            return
        self.title.setText(f"D confusion matrix (last {window:,} steps)")
        for name, cell in self.cells.items():
            frac = matrix[name]
            good = name in ("TP", "TN")
            shade = int(255 - 120 * frac)
            bg = f"rgb({shade},255,{shade})" if good else f"rgb(255,{shade},{shade})"
            cell.setText(f"{name}\n{100 * frac:.1f}%")
            cell.setStyleSheet(f"background:{bg}; border:1px solid #aaa;")


def _header(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setAlignment(Qt.AlignCenter)
    return label
