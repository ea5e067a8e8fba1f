"""The timeline bar under the main view: a slider over the run's steps, drawn over a faint loss
curve, with marks where modes were gained or lost, the run diverged or went back, and settings
changed. It only shows and reports; ``ui/timeline.py`` decides what a scrub does."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ganplay.ui.views import D_COLOR, G_COLOR, TidyAxis

REPLAY_SPEEDS = (1, 4, 16)  # x the base rate (``ui/timeline.py``: REPLAY_BASE)
MARK_COLORS = {  # mark kind -> (colour, what the tooltip calls it)
    "modes+": ((20, 160, 90), "modes gained"),
    "modes-": ((235, 120, 0), "modes lost"),
    "divergence": ((220, 20, 20), "diverged"),
    "rollback": ((150, 60, 200), "rolled back"),
    "settings": ((40, 120, 220), "settings changed"),
    "continue": ((255, 255, 255), "continued from here"),  # (the plot's background is black)
}
CURSOR_PEN = pg.mkPen(220, 30, 30, width=2)
LIVE_PEN = pg.mkPen(120, 120, 120, width=1, style=Qt.DashLine)


def mark_kind(mark) -> str:
    if mark.kind == "modes":
        return "modes+" if "gained" in mark.text else "modes-"
    return mark.kind if mark.kind in MARK_COLORS else "settings"


class TimelineBar(QWidget):
    """A step slider (``cursor``, a draggable line; a click moves it too) with Live, Replay,
    a replay speed, Continue from here and a range for exports."""

    scrubbed = Signal(int)  # the user moved the cursor to this step
    live_requested = Signal()
    continue_requested = Signal()
    replay_toggled = Signal(bool)
    key_step = Signal(str)  # "left", "right", "home", "end"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("timeline_bar")
        self.setFocusPolicy(Qt.StrongFocus)
        self.plot = pg.PlotWidget(axisItems={"bottom": TidyAxis("bottom", steps=True)})
        self.plot.setObjectName("timeline_plot")
        self.plot.setFixedHeight(46)  # thin: the main view above keeps its height
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.hideAxis("left")
        self.plot.setYRange(0.0, 1.0, padding=0.02)
        self.plot.getAxis("bottom").setHeight(18)
        self.curves = {name: self.plot.plot([], [], pen=pg.mkPen(*color, 150, width=1))
                       for name, color in (("d_loss", D_COLOR), ("g_loss", G_COLOR))}
        self.marks = {kind: pg.PlotCurveItem(pen=pg.mkPen(*color, 220, width=2), connect="pairs")
                      for kind, (color, _) in MARK_COLORS.items()}
        for item in self.marks.values():
            self.plot.addItem(item)
        self.range = pg.LinearRegionItem(values=(0, 1), brush=pg.mkBrush(40, 120, 220, 35))
        self.range.setZValue(-5)
        self.range.setVisible(False)
        self.plot.addItem(self.range)
        self.cursor = pg.InfiniteLine(0, movable=True, pen=LIVE_PEN, hoverPen=CURSOR_PEN)
        self.cursor.sigDragged.connect(lambda line: self.scrubbed.emit(round(line.value())))
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self._mark_tips: list[tuple[int, str]] = []
        self._last = 0

        self.live_button = QPushButton("Live")
        self.live_button.setToolTip("Back to now: the views follow training again (End)")
        self.replay_button = QPushButton("Replay")
        self.replay_button.setCheckable(True)
        self.replay_button.setToolTip("Play the recorded frames from the cursor at the chosen speed")
        self.speed_box = QComboBox()
        self.speed_box.addItems([f"{s}x" for s in REPLAY_SPEEDS])
        self.speed_box.setToolTip("Replay speed (1x: see ui/timeline.py's REPLAY_BASE steps a second)")
        self.continue_button = QPushButton("Continue from here")
        self.continue_button.setEnabled(False)
        self.continue_button.setToolTip("Train on from the kept state at this step (change settings first "
                                        "to try another course); the steps after it are dropped")
        self.range_button = QPushButton("Range")
        self.range_button.setCheckable(True)
        self.range_button.setToolTip("Choose the stretch File ▸ Export video… writes (drag its edges)")
        self.label = QLabel("live")
        self.label.setFixedHeight(22)
        # The label takes what the row leaves (its full text is its tooltip): a fixed minimum
        # pushed the window's own minimum width from 834 to 985 px.
        self.label.setMinimumWidth(80)
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.live_button.clicked.connect(self.live_requested)
        self.continue_button.clicked.connect(self.continue_requested)
        self.replay_button.toggled.connect(self.replay_toggled)
        self.range_button.toggled.connect(self._show_range)
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 2)
        for w in (self.live_button, self.replay_button, self.speed_box, self.continue_button, self.range_button):
            w.setFocusPolicy(Qt.NoFocus)  # the arrow keys stay with the bar
            w.setFixedHeight(22)
            row.addWidget(w)
        row.addWidget(self.label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot)
        layout.addLayout(row)

    # -- showing --------------------------------------------------------------------------------
    def show_recording(self, recorder, last_step: int) -> None:
        """Redraw the faint losses and the marks; the steps run from 0 to ``last_step``."""
        self._last = max(int(last_step), 1)
        self.plot.setXRange(0, self._last, padding=0.01)
        for name, curve in self.curves.items():
            steps, values = recorder.series(name)
            ok = np.isfinite(values)
            steps, values = steps[ok], values[ok]
            if len(values) > 1:
                lo, hi = np.percentile(values, [2, 98])
                values = 0.05 + 0.7 * (np.clip(values, lo, hi) - lo) / max(hi - lo, 1e-9)
            curve.setData(steps, values)
        by_kind: dict[str, list[int]] = {k: [] for k in MARK_COLORS}
        marks = recorder.marks_between(0, self._last)
        for m in marks:
            by_kind[mark_kind(m)].append(m.step)
        for kind, item in self.marks.items():
            s = np.repeat(np.asarray(by_kind[kind], np.float64), 2)
            y = np.tile([0.78, 1.0], len(by_kind[kind]))
            item.setData(s, y)
        self._mark_tips = [(m.step, m.text) for m in marks]
        if not self.range.isVisible():
            self.range.setRegion((0, self._last))

    def set_cursor(self, step: int, live: bool) -> None:
        self.cursor.setPen(LIVE_PEN if live else CURSOR_PEN)
        self.cursor.setValue(step)

    def set_status(self, text: str, continue_step: int | None) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)  # whole, where the row cuts it
        self.continue_button.setEnabled(continue_step is not None)
        self.continue_button.setText("Continue from here" if continue_step is None
                                     else f"Continue from {continue_step:,}")

    def mark_near(self, step: int) -> str:
        """The text of the marks within a pixel or two of ``step`` (for the status line)."""
        width = max(self.plot.width(), 1)
        slack = 3 * self._last / width
        return "; ".join(t for s, t in self._mark_tips if abs(s - step) <= slack)

    def selected_range(self) -> tuple[int, int] | None:
        if not self.range.isVisible():
            return None
        a, b = self.range.getRegion()
        return round(a), round(b)

    # -- input ----------------------------------------------------------------------------------
    def _show_range(self, on: bool) -> None:
        if on:
            a = float(self.cursor.value())
            self.range.setRegion((min(a, self._last * 0.9), self._last))
        self.range.setVisible(on)

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.plot.getViewBox()
        p = vb.mapSceneToView(event.scenePos())
        step = round(min(max(p.x(), 0), self._last))
        self.cursor.setValue(step)
        self.scrubbed.emit(step)

    def keyPressEvent(self, event) -> None:
        keys = {Qt.Key_Left: "left", Qt.Key_Right: "right", Qt.Key_Home: "home", Qt.Key_End: "end"}
        if event.key() in keys:
            self.key_step.emit(keys[event.key()])
            event.accept()
            return
        super().keyPressEvent(event)
