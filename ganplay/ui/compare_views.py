"""Compare mode's widgets: a run's view (scatter or sample grid with its title), the overlaid
curves (one colour per run) and the dialog that adds a run."""
from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganplay.config import Config
from ganplay.engine.compare import NAMES, SAME_DATA
from ganplay.ui.image_views import ImageGridView
from ganplay.ui.views import DRAWN_POINTS, ScatterView, _fix_axis_widths, decimation, moving_average

# One colour per run (Okabe–Ito: distinct for colour-blind eyes too): A blue, B vermilion,
# C green, D purple.
RUN_COLORS = ((0, 114, 178), (213, 94, 0), (0, 158, 115), (170, 68, 153))
# Settings a new run may change (the runs share their data).
CHANGEABLE = tuple(f for f in Config.__dataclass_fields__ if f not in (*SAME_DATA, "devices"))


def run_color_hex(i: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*RUN_COLORS[i])


class AddRunDialog(QDialog):
    """The settings a new run changes: rows of (setting, value), each value typed as ``--set``
    would parse it. ``check`` returns the error line for a list of ``key=value`` (or "")."""

    MAX_ROWS = 6

    def __init__(self, base: Config, check, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add run")
        self.base = base
        self.check = check
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"The new run copies run {base_name(parent, base)} (seed {base.seed}); change:"))
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.rows: list[tuple[QComboBox, QLineEdit]] = []
        self.more_button = QPushButton("Another setting")
        self.more_button.setToolTip(f"Change one more setting (up to {self.MAX_ROWS})")
        self.more_button.clicked.connect(lambda: self.add_row())
        layout.addWidget(self.more_button)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.Ok)
        self.ok_button.setToolTip("Add the run; every run restarts from step 0")
        layout.addWidget(buttons)
        self.add_row("label_smoothing")

    def add_row(self, key: str = "lr_d") -> tuple[QComboBox, QLineEdit]:
        box = QComboBox()
        box.addItems(CHANGEABLE)
        box.setToolTip("The setting to change (its name as in --set key=value)")
        edit = QLineEdit()
        edit.setToolTip("The new value, written as for --set (numbers, true/false, names; lists as JSON)")
        box.currentTextChanged.connect(lambda k, e=edit: e.setText(_plain(getattr(self.base, k))))
        box.setCurrentText(key)
        edit.setText(_plain(getattr(self.base, key)))
        row = QHBoxLayout()
        row.addWidget(box)
        row.addWidget(edit, 1)
        self.form.addRow(f"Setting {len(self.rows) + 1}", row)
        self.rows.append((box, edit))
        self.more_button.setEnabled(len(self.rows) < self.MAX_ROWS)
        return box, edit

    def changes(self) -> list[str]:
        return [f"{box.currentText()}={edit.text().strip()}" for box, edit in self.rows]

    def accept(self) -> None:
        problem = self.check(self.changes())
        if problem:
            self.error_label.setText(problem)
            return
        super().accept()


def base_name(window, config: Config) -> str:
    runs = getattr(window, "configs", [])
    return NAMES[runs.index(config)] if config in runs else "A"


def _plain(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return json.dumps(v)
    return str(v)


class RunView(QWidget):
    """One run's picture: a scatter of real vs generated points, or a grid of generated images."""

    def __init__(self, kind: str, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.kind = kind
        if kind == "points":
            self.view = ScatterView()
            self.view.setMinimumSize(220, 220)
        else:
            self.view = ImageGridView("generated", n=5)
            self.view.setMinimumSize(220, 220)
        layout.addWidget(self.view)

    def set_title(self, text: str, color: str) -> None:
        plot = self.view if self.kind == "points" else self.view.plot
        plot.setTitle(f"<b>{text}</b>", color=color, size="11pt")

    def show_snapshot(self, snap) -> None:
        if self.kind == "points":
            self.view.show_snapshot(snap)
            return
        rows = snap.classes.rows if snap.classes is not None else 0
        self.view.show_images(snap.generated, cols=len(snap.generated) // rows if rows else None)


class OverlaidCurves(pg.PlotWidget):
    """Metric curves of every run on one pair of axes, one colour per run; each run's first metric
    drawn solid and its second dashed (the title says which is which)."""

    def __init__(self, title: str, metrics: tuple[tuple[str, str], ...], y_range=None, run_key: bool = True,
                 points: bool = False, parent=None):
        super().__init__(parent)
        self.title = title
        self.points = points  # a dot at each value: measurements are few (a run's first is alone)
        # The runs' colours in the title (one plot of a row says them: a title too long for its
        # plot widened it under its neighbour).
        self.run_key = run_key
        self.metrics = metrics
        self.setLabel("bottom", "step")
        _fix_axis_widths(self)
        if y_range is not None:
            self.setYRange(*y_range, padding=0.02)
        self.curves: list[dict[str, pg.PlotDataItem]] = []
        self._axis_label = ""

    def set_runs(self, names: list[str]) -> None:
        for run in self.curves:
            for item in run.values():
                self.removeItem(item)
        self.curves = []
        styles = (Qt.SolidLine, Qt.DashLine)
        for i, _ in enumerate(names):
            dots = {"symbol": "o", "symbolSize": 5, "symbolPen": None, "symbolBrush": RUN_COLORS[i]} if self.points else {}
            self.curves.append({key: self.plot([], [], pen=pg.mkPen(RUN_COLORS[i], width=1.6, style=styles[j % 2]),
                                               **dots)
                                for j, (key, _) in enumerate(self.metrics)})
        key_text = ", ".join(f"{label} {'solid' if j == 0 else 'dashed'}" for j, (_, label) in enumerate(self.metrics))
        runs = " ".join(f"<span style='color:{run_color_hex(i)}'>■ {n}</span>" for i, n in enumerate(names)
                        if self.run_key)
        self.setTitle(f"{self.title} ({key_text}) &nbsp; {runs}" if len(self.metrics) > 1 else f"{self.title} &nbsp; {runs}")

    def set_axis_label(self, text: str) -> None:
        if text != self._axis_label:
            self._axis_label = text
            self.setLabel("left", text)

    def pen_colors(self) -> list[str]:
        """The colour of each run's curves (tests check that runs are told apart)."""
        return [next(iter(run.values())).opts["pen"].color().name() for run in self.curves]

    def show_series(self, i: int, steps: np.ndarray, series: dict[str, np.ndarray], smooth: bool = True) -> None:
        keep = decimation(len(steps), DRAWN_POINTS)
        for key, curve in self.curves[i].items():
            values = series.get(key)
            if values is None or len(values) != len(steps):
                curve.setData([], [])
                continue
            values = np.asarray(values, np.float64)
            curve.setData(np.asarray(steps, np.float64)[keep], (moving_average(values) if smooth else values)[keep])
