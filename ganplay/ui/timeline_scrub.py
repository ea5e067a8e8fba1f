"""What a timeline bar does in a window, whichever window it is: scrub to a step, step by recorded
frames (Left/Right, Home), go back to now (Live, End) and replay the recorded frames at 1x/4x/16x.

The main window's timeline (``ui/timeline.py``) reads one recording; Compare's
(``ui/compare_timeline.py``) reads one per run and shows every run at the same step. A subclass
says which recordings it reads, what step training is at, how a recorded step is drawn and how
now is drawn again; everything else lives here once."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut

from ganplay.engine.recorder import neighbour_step
from ganplay.ui.timeline_bar import REPLAY_SPEEDS, TimelineBar

REPLAY_BASE = {"points": 250.0, "images": 10.0}  # steps a second of wall time at 1x
BAR_MS = 1000  # the bar redraws its losses and marks once a second (5.8 ms of the GUI thread each)
REPLAY_MS = 33
# Snapshot parts drawn from the live run that a recorded frame does not have: a past frame
# is drawn without them (they would show now's field over then's points).
PAST_ONLY = ("field", "manifold", "arrows", "interpolation", "substep", "d_scores", "sampler")


def without_live_only(live):
    """``live`` (a Snapshot) without the parts a recorded frame cannot show."""
    return live.replace(**{name: None for name in PAST_ONLY})
KEYS = ((Qt.Key_Left, "left"), (Qt.Key_Right, "right"), (Qt.Key_Home, "home"), (Qt.Key_End, "end"))


class TimelineScrub(QObject):
    """The bar's behaviour. ``plots`` get a cursor line at the step shown; ``key_widget`` (the
    views above the bar) takes the arrow keys too, not only the bar."""

    def __init__(self, parent, bar: TimelineBar, plots, key_widget):
        super().__init__(parent)
        self.bar = bar
        self.viewing: int | None = None  # the step shown, None: live
        self._recordings: list = []
        self._replay_at = 0.0
        self._replay_clock = 0.0
        self.cursors = []
        for plot in plots:
            line = pg.InfiniteLine(0, pen=pg.mkPen(220, 30, 30, width=1))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
        bar.scrubbed.connect(lambda step: (self.replay(False), self.scrub(step)))  # a drag ends a replay
        bar.live_requested.connect(self.go_live)
        bar.replay_toggled.connect(self.replay)
        bar.key_step.connect(self.key)
        for key, name in KEYS:  # also while the views have the focus
            QShortcut(QKeySequence(key), key_widget, context=Qt.WidgetWithChildrenShortcut,
                      activated=lambda n=name: self.key(n))
        self.bar_timer = QTimer(self)
        self.bar_timer.setInterval(BAR_MS)
        self.bar_timer.timeout.connect(self.refresh)
        self.bar_timer.start()
        self.replay_timer = QTimer(self)
        self.replay_timer.setInterval(REPLAY_MS)
        self.replay_timer.timeout.connect(self._replay_tick)

    # -- what a subclass says ---------------------------------------------------------------------
    def recordings(self) -> list:
        """The recorders scrubbed together (each thread-safe; the first draws the bar's curves)."""
        raise NotImplementedError

    def live_step(self) -> int:
        raise NotImplementedError

    def show_step(self, step: int) -> None:
        """Draw every view as recorded at ``step`` (each recording's frame at or before it)."""
        raise NotImplementedError

    def redraw_live(self) -> None:
        raise NotImplementedError

    def running(self) -> bool:
        raise NotImplementedError

    def data_kind(self) -> str:
        return "points"

    def bar_recording(self, recs: list):
        """What the bar draws its faint losses and marks from (``series``, ``marks_between``)."""
        return recs[0]

    def continue_step(self, step: int) -> int | None:
        """The kept state Continue from here would start from at ``step`` (None: not offered)."""
        return None

    # -- the recorded steps -----------------------------------------------------------------------
    def steps(self) -> np.ndarray:
        """Every recorded step of every recording, in order."""
        recs = self.recordings()
        if not recs:
            return np.zeros(0, np.int64)
        if len(recs) == 1:
            return recs[0].steps()
        return np.unique(np.concatenate([r.steps() for r in recs]))

    def frame_step(self, step: int) -> int | None:
        """The recorded step at or before ``step`` (the first, for an earlier step)."""
        steps = self.steps()
        if not len(steps):
            return None
        i = int(np.searchsorted(steps, step, side="right")) - 1
        return int(steps[max(i, 0)])

    def neighbour(self, step: int, direction: int) -> int | None:
        """The recorded step just after (+1) or before (-1) ``step``."""
        return neighbour_step(self.steps(), step, direction)

    # -- the bar ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the bar; new recordings (a reset, a new set of runs, an opened file) go live."""
        recs = self.recordings()
        if len(recs) != len(self._recordings) or any(a is not b for a, b in zip(recs, self._recordings)):
            self._recordings = list(recs)
            if self.viewing is not None:
                self.go_live()
        if not recs:
            return
        steps = self.steps()
        last = max(self.live_step(), int(steps[-1]) if len(steps) else 0)
        self.bar.show_recording(self.bar_recording(recs), last)
        if self.viewing is None:
            self.bar.set_cursor(self.live_step(), live=True)
            mb = sum(r.nbytes for r in recs) / 2**20
            kept = (f"{len(steps):,} frames kept" if len(recs) == 1 else
                    f"{len(recs)} runs × {len(recs[0]):,} frames kept")
            self.bar.set_status(f"live · {kept} ({mb:.1f} MB)", None)

    def scrub(self, step: int) -> None:
        """Show the recorded frames at (or just before) ``step`` in every view."""
        shown = self.frame_step(int(step))
        if shown is None:
            return
        self.viewing = shown
        self.show_step(shown)
        for line in self.cursors:
            line.setValue(shown)
            line.setVisible(True)
        self.bar.set_cursor(shown, live=False)
        text = f"step {shown:,}" + (" · training goes on (Live or End: back to now)" if self.running() else "")
        near = self.bar.mark_near(shown)
        self.bar.set_status(text + (f" · {near}" if near else ""), self.continue_step(shown))

    def go_live(self) -> None:
        """Back to now: the views follow training again."""
        self.replay(False)
        self.viewing = None
        for line in self.cursors:
            line.setVisible(False)
        self.redraw_live()
        self.refresh()

    def key(self, name: str) -> None:
        if name == "end":
            self.go_live()
            return
        steps = self.steps()
        if not len(steps):
            return
        if name == "home":
            self.scrub(int(steps[0]))
            return
        at = self.viewing if self.viewing is not None else int(steps[-1]) + 1
        target = self.neighbour(at, +1 if name == "right" else -1)
        if name == "right" and self.viewing is not None and target == self.viewing:
            self.go_live()  # past the newest frame: now
        elif target is not None:
            self.scrub(target)

    # -- replay -----------------------------------------------------------------------------------
    def replay(self, on: bool) -> None:
        if self.bar.replay_button.isChecked() != on:
            self.bar.replay_button.setChecked(on)  # (emits replay_toggled: back here once)
            return
        if not on:
            self.replay_timer.stop()
            return
        steps = self.steps()
        if not len(steps):
            self.bar.replay_button.setChecked(False)
            return
        start = self.viewing if self.viewing is not None and self.viewing < steps[-1] else int(steps[0])
        self._replay_at = float(start)
        self._replay_clock = time.perf_counter()
        self.scrub(start)
        self.replay_timer.start()

    def replay_rate(self) -> float:
        """Steps a second the replay moves at (the chosen speed x the base for this data)."""
        return REPLAY_BASE[self.data_kind()] * REPLAY_SPEEDS[self.bar.speed_box.currentIndex()]

    def _replay_tick(self) -> None:
        now = time.perf_counter()
        self._replay_at += self.replay_rate() * (now - self._replay_clock)
        self._replay_clock = now
        steps = self.steps()
        if not len(steps):
            return
        at = min(self._replay_at, float(steps[-1]))
        shown = self.frame_step(int(at))
        if shown is not None and shown != self.viewing:
            self.scrub(shown)
        if at >= steps[-1]:
            self.replay(False)
