"""Views for models that classify or draw a class: the semi-supervised GAN's test accuracy (with
the supervised-only baseline beside it) and its K x K confusion matrix."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ganplay.engine.snapshot import Accuracy
from ganplay.ui.views import compact_title, metric_axes, series_key

SGAN_COLOR = (200, 60, 40)
BASELINE_COLOR = (60, 90, 200)


class TestAccuracyView(pg.PlotWidget):
    """Test accuracy (%) over steps: the SGAN's classifier and, once started, the baseline."""

    def __init__(self, parent=None):
        super().__init__(parent, axisItems=metric_axes())
        self.setObjectName("test_accuracy")
        compact_title(self.getPlotItem(), "Test accuracy % (held-out split)")
        self.setYRange(0, 100)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.key = series_key(self.getPlotItem(), [("semi-supervised GAN", SGAN_COLOR, False),
                                                   ("supervised only (baseline)", BASELINE_COLOR, True)])
        self.sgan = self.plot([], [], pen=pg.mkPen(SGAN_COLOR, width=2))
        self.baseline = self.plot([], [], pen=pg.mkPen(BASELINE_COLOR, width=2, style=Qt.DashLine))
        self.summary = ""

    def show_series(self, series: dict) -> None:
        steps, acc = series["step"], series["test_acc"]
        self.sgan.setData(steps, 100 * acc)
        b_steps, b_acc = series["baseline_step"], series["baseline_acc"]
        self.baseline.setData(b_steps, 100 * b_acc)
        parts = []
        if len(acc):
            parts.append(f"test accuracy {100 * acc[-1]:.1f}% at step {int(steps[-1]):,}")
        if len(b_acc):
            parts.append(f"baseline {100 * b_acc[-1]:.1f}% at step {int(b_steps[-1]):,}")
        self.summary = "; ".join(parts)


class ClassConfusionView(pg.GraphicsLayoutWidget):
    """A K x K confusion matrix heatmap: row = true class, column = predicted class, each row
    shaded by the share of that class's test images (the diagonal is what is right)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("class_confusion")
        self.plot = self.addPlot(title="Confusion matrix (test split)")
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        self._texts: list[pg.TextItem] = []
        self._font = QFont()
        self._font.setPointSize(7)  # ten counts a row must fit in a small panel
        self._k = 0
        self.last_fractions: np.ndarray | None = None

    def show_matrix(self, counts: np.ndarray | None, title: str | None = None) -> None:
        if counts is None:
            return
        counts = np.asarray(counts, np.float64)
        k = counts.shape[0]
        fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        self.last_fractions = fractions
        self.image.setImage(fractions, autoLevels=False, levels=(0.0, 1.0))
        if k != self._k:
            self._layout(k)
        for i in range(k):
            for j in range(k):
                t = self._texts[i * k + j]
                n = int(counts[i, j])
                t.setText(str(n) if n else "")
                t.setColor((0, 0, 0) if fractions[i, j] > 0.6 else (255, 255, 255))
        if title:
            self.plot.setTitle(title)

    def _layout(self, k: int) -> None:
        for t in self._texts:
            self.plot.removeItem(t)
        self._texts = []
        for i in range(k):
            for j in range(k):
                t = pg.TextItem("", anchor=(0.5, 0.5))
                t.setFont(self._font)
                t.setPos(j + 0.5, i + 0.5)
                self.plot.addItem(t)
                self._texts.append(t)
        ticks = [[(i + 0.5, str(i)) for i in range(k)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        self._k = k


class SemiSupervisedPanel(QWidget):
    """Test accuracy, the confusion matrix, the label budget and the baseline button."""

    baseline_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("semi_supervised")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setToolTip("The labels the classifier may learn from, and the images it is tested on")
        self.baseline_button = QPushButton("Run baseline")
        self.baseline_button.setToolTip(
            "Train the same discriminator on the same labels with the supervised loss alone, and "
            "plot its test accuracy beside the GAN's: the gap is what unlabelled data and G add (B)")
        self.baseline_button.clicked.connect(self.baseline_requested)
        bar.addWidget(self.note, 1)
        bar.addWidget(self.baseline_button)
        layout.addLayout(bar)
        views = QSplitter(Qt.Horizontal)
        self.accuracy_view = TestAccuracyView()
        self.confusion_view = ClassConfusionView()
        views.addWidget(self.accuracy_view)
        views.addWidget(self.confusion_view)
        views.setSizes([500, 300])
        layout.addWidget(views, 1)

    def show_accuracy(self, accuracy: Accuracy) -> None:
        self.note.setText(accuracy.note)
        self.accuracy_view.show_series(accuracy.series)
        self.confusion_view.show_matrix(accuracy.confusion)
        running = accuracy.has_baseline
        self.baseline_button.setEnabled(not running)
        self.baseline_button.setText("Baseline running" if running else "Run baseline")
