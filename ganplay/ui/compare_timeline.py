"""Compare's timeline: the main window's bar (``ui/timeline_bar.py``) under the runs' views,
scrubbing every run together. Each run's loop has a recorder (``Comparison.recorders``); at a
step, each run's view shows that run's frame at or before it, and the curves get a cursor.
Dragging while training pauses the views, not training; Live or End returns to now."""
from __future__ import annotations

import dataclasses

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolBar, QVBoxLayout, QWidget

from ganplay.engine.compare import NAMES
from ganplay.ui.timeline_bar import TimelineBar
from ganplay.ui.timeline_scrub import TimelineScrub, without_live_only


class CompareTimeline(TimelineScrub):
    """Installs the bar under ``window``'s run views (the top of its splitter)."""

    def __init__(self, window):
        bar = TimelineBar()
        bar.continue_button.setVisible(False)  # Continue from here and export ranges: main window only
        bar.range_button.setVisible(False)
        splitter = window.centralWidget()
        box = QWidget()
        box.setObjectName("run_views_and_timeline")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        # (insertWidget, not replaceWidget: PySide hands the splitter the box's ownership only
        # with the former; with replaceWidget the box, views and bar were deleted with its wrapper)
        splitter.insertWidget(splitter.indexOf(window.run_row), box)
        layout.addWidget(window.run_row, 1)
        layout.addWidget(bar)
        plots = [p.getPlotItem() for p in (window.loss_plot, window.d_plot, window.quality_plot)]
        super().__init__(window, bar, plots, window.run_row)
        self.window = window
        self.shown: list = []  # the snapshots drawn for the step shown (one per run)
        self.keep_action = QAction("Keep timelines", window, checkable=True, checked=True)
        tip = ("Saved sets carry every run's recorded timeline (compressed), so a reopened set can "
               "be scrubbed; off: smaller files")
        self.keep_action.setToolTip(tip)
        self.keep_action.setStatusTip(tip)
        self.keep_action.toggled.connect(lambda on: setattr(window.worker, "save_recording", on))
        window.findChild(QToolBar, "compare_toolbar").addAction(self.keep_action)

    # -- what the bar reads and draws ---------------------------------------------------------------
    def recordings(self) -> list:
        worker = getattr(self.window, "worker", None)
        comparison = None if worker is None else worker.comparison
        return list(getattr(comparison, "recorders", ()))

    def live_step(self) -> int:
        snaps = self.window.snapshots
        return snaps[0].step if snaps else 0

    def running(self) -> bool:
        return self.window._running

    def data_kind(self) -> str:
        views = self.window.run_views
        return views[0].kind if views else "points"

    def bar_recording(self, recs: list):
        return RunsOnBar(recs)

    def show_live(self, snaps) -> None:
        """The window's redraw: the runs' views follow training unless a past step is shown."""
        if self.viewing is None:
            for view, snap in zip(self.window.run_views, snaps):
                view.show_snapshot(snap)

    def redraw_live(self) -> None:
        self.show_live(self.window.snapshots or ())

    def show_step(self, step: int) -> None:
        """Each run's view as recorded at its frame at or before ``step``."""
        w = self.window
        snaps, recs = w.snapshots or [], self.recordings()
        if not snaps or not (len(snaps) == len(recs) == len(w.run_views)):
            return  # a set changing: its views come with runs_changed
        shown = []
        for view, live, rec in zip(w.run_views, snaps, recs):
            frame = rec.frame_at(step)
            if frame is None:
                continue
            past = without_live_only(live).replace(step=frame.step, generated=frame.points())
            view.show_snapshot(past)
            shown.append(past)
        self.shown = shown


class RunsOnBar:
    """The bar's view of every run: run A's losses behind the slider, and every run's marks,
    each named by its run ("B: modes lost: 9 → 6")."""

    def __init__(self, recs: list):
        self.recs = recs

    def series(self, name: str):
        return self.recs[0].series(name)

    def marks_between(self, first: int, last: int) -> list:
        marks = [dataclasses.replace(m, text=f"{n}: {m.text}")
                 for n, r in zip(NAMES, self.recs) for m in r.marks_between(first, last)]
        return sorted(marks, key=lambda m: m.step)
