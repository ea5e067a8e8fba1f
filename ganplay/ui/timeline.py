"""The timeline in the window: the bar under the main view, scrubbing, replay, Continue from here
and video export. It reads the worker's recorder (``engine/recorder.py``, thread-safe) and draws
a past frame into the window's own views; while it shows one, the window's redraws of the live
run pause (training does not)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QFileDialog, QVBoxLayout, QWidget

from ganplay.engine.snapshot import DecisionField
from ganplay.errors import GanplayError
from ganplay.ui.timeline_bar import REPLAY_SPEEDS, TimelineBar

REPLAY_BASE = {"points": 250.0, "images": 10.0}  # steps a second of wall time at 1x
BAR_MS = 1000  # the bar redraws its losses and marks once a second (5.8 ms of the GUI thread each)
REPLAY_MS = 33


class Timeline(QObject):
    """Installs the bar under ``window``'s central widget and a File ▸ Export video… action."""

    exported = Signal(str, bool)  # (what to say, whether it worked) from the export thread

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.bar = TimelineBar()
        self.viewing: int | None = None  # the step shown, None: live
        self._recorder = None
        self._replay_at = 0.0
        self._replay_clock = 0.0
        top = window.takeCentralWidget()
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(top, 1)
        layout.addWidget(self.bar)
        window.setCentralWidget(box)
        self.cursors = []
        for plot in self._metric_plots():
            line = pg.InfiniteLine(0, pen=pg.mkPen(220, 30, 30, width=1))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
        b = self.bar
        b.scrubbed.connect(lambda step: (self.replay(False), self.scrub(step)))  # a drag ends a replay
        b.live_requested.connect(self.go_live)
        b.continue_requested.connect(self.continue_here)
        b.replay_toggled.connect(self.replay)
        b.key_step.connect(self.key)
        for key, name in ((Qt.Key_Left, "left"), (Qt.Key_Right, "right"), (Qt.Key_Home, "home"),
                          (Qt.Key_End, "end")):  # also while the main view has the focus
            QShortcut(QKeySequence(key), top, context=Qt.WidgetWithChildrenShortcut,
                      activated=lambda n=name: self.key(n))
        self.bar_timer = QTimer(self)
        self.bar_timer.setInterval(BAR_MS)
        self.bar_timer.timeout.connect(self.refresh)
        self.bar_timer.start()
        self.replay_timer = QTimer(self)
        self.replay_timer.setInterval(REPLAY_MS)
        self.replay_timer.timeout.connect(self._replay_tick)
        self._install_actions()
        self.exported.connect(self._on_exported)
        self.export_thread: threading.Thread | None = None

    def _install_actions(self) -> None:
        w = self.window
        menu = w.menus["File"]
        anchor = getattr(w, "record_action", None)
        after = menu.actions()[menu.actions().index(anchor) + 1] if anchor in menu.actions() else None
        self.export_action = QAction("Export video…", w, shortcut=QKeySequence("Ctrl+Shift+V"),
                                     toolTip="Write the timeline (or its Range) as an MP4 or GIF")
        self.export_action.triggered.connect(self.export_video_dialog)
        self.keep_action = QAction("Save timeline with runs", w, checkable=True, checked=True,
                                   toolTip="Run files carry the recorded timeline (compressed), "
                                           "so a reopened run can be scrubbed")
        self.keep_action.toggled.connect(lambda on: setattr(w.worker, "save_recording", on))
        for action in (self.export_action, self.keep_action):
            menu.insertAction(after, action)
            w.addAction(action)

    def _metric_plots(self) -> list:
        w = self.window
        plots = [v.getPlotItem() for v in (w.loss_view, w.d_view, w.acc_view)]
        return plots + list(getattr(w.quality_view, "plots", ()))

    @property
    def recorder(self):
        return self.window.worker.recorder

    def _live_step(self) -> int:
        snap = self.window._latest
        return snap.step if snap is not None else 0

    # -- the bar --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the bar from the recorder; a new run (reset, new settings, opened file) goes live."""
        rec = self.recorder
        if rec is not self._recorder:
            self._recorder = rec
            if self.viewing is not None:
                self.go_live()
        steps = rec.steps()
        last = max(self._live_step(), int(steps[-1]) if len(steps) else 0)
        self.bar.show_recording(rec, last)
        if self.viewing is None:
            self.bar.set_cursor(self._live_step(), live=True)
            self.bar.set_status(f"live · {len(steps):,} frames kept ({rec.nbytes / 2**20:.1f} MB)", None)

    def scrub(self, step: int) -> None:
        """Show the recorded frame at (or just before) ``step`` in every view."""
        frame = self.recorder.frame_at(int(step))
        if frame is None:
            return
        self.viewing = frame.step
        self._show(frame)
        kept = self.recorder.states.at_or_before(frame.step)
        running = self.window._running
        text = f"step {frame.step:,}" + (" · training goes on (Live or End: back to now)" if running else "")
        near = self.bar.mark_near(frame.step)
        self.bar.set_status(text + (f" · {near}" if near else ""), kept)

    def _show(self, frame) -> None:
        w = self.window
        live = w._latest
        if live is None:
            return
        # What the frame kept replaces the live run's; what it did not keep is not shown.
        snap = live.replace(
            step=frame.step, generated=frame.points(), arrows=None, interpolation=None, substep=None,
            d_scores=None,
            field=None if frame.field is None else DecisionField(frame.field_values(), frame.extent),
            manifold=None if frame.manifold is None else np.asarray(frame.manifold, np.float32))
        if snap.kind == "points":
            w.scatter_view.show_snapshot(snap)
        else:
            w.image_panel.show_snapshot(snap)
        for line in self.cursors:
            line.setValue(frame.step)
            line.setVisible(True)
        self.bar.set_cursor(frame.step, live=False)
        w.step_label.setText(f"step {frame.step:,} (recorded)")
        modes, total = frame.metrics.get("modes"), frame.metrics.get("modes_total")
        if modes is not None:  # the status bar's quality label is the live run's: say this step's
            w.quality_label.setText(f"modes {modes:g}" + (f"/{total:g}" if total else "") + " then")
        self.shown = snap

    def go_live(self) -> None:
        """Back to now: the views follow training again."""
        self.replay(False)
        self.viewing = None
        for line in self.cursors:
            line.setVisible(False)
        self.window.redraw()
        self.refresh()

    def key(self, name: str) -> None:
        rec = self.recorder
        if name == "end":
            self.go_live()
            return
        steps = rec.steps()
        if not len(steps):
            return
        if name == "home":
            self.scrub(int(steps[0]))
            return
        at = self.viewing if self.viewing is not None else int(steps[-1]) + 1
        target = rec.neighbour(at, +1 if name == "right" else -1)
        if name == "right" and self.viewing is not None and target == self.viewing:
            self.go_live()  # past the newest frame: now
        elif target is not None:
            self.scrub(target)

    def continue_here(self) -> None:
        """Train on from the kept state at or before the step shown (the later steps are dropped)."""
        if self.viewing is None:
            return
        step = self.recorder.states.at_or_before(self.viewing)
        if step is None:
            return
        self.window.worker.continue_from(step)
        self.go_live()

    # -- replay ---------------------------------------------------------------------------------
    def replay(self, on: bool) -> None:
        if self.bar.replay_button.isChecked() != on:
            self.bar.replay_button.setChecked(on)  # (emits replay_toggled: back here once)
            return
        if not on:
            self.replay_timer.stop()
            return
        steps = self.recorder.steps()
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
        kind = self.window._latest.kind if self.window._latest is not None else "points"
        return REPLAY_BASE[kind] * REPLAY_SPEEDS[self.bar.speed_box.currentIndex()]

    def _replay_tick(self) -> None:
        now = time.perf_counter()
        self._replay_at += self.replay_rate() * (now - self._replay_clock)
        self._replay_clock = now
        steps = self.recorder.steps()
        if not len(steps):
            return
        at = min(self._replay_at, float(steps[-1]))
        frame = self.recorder.frame_at(int(at))
        if frame is not None and frame.step != self.viewing:
            self.scrub(frame.step)
        if at >= steps[-1]:
            self.replay(False)

    # -- export ---------------------------------------------------------------------------------
    def export_video_dialog(self) -> None:
        w = self.window
        name = f"{w.config.model}-{w.config.dataset}.mp4"
        path, _ = QFileDialog.getSaveFileName(w, "Export video", name, "MP4 video (*.mp4);;GIF animation (*.gif)")
        if path:
            self.export_in_background(path)

    def export_in_background(self, path: str) -> threading.Thread | None:
        """Export on a thread of its own (drawing 500 frames takes seconds): the window and
        training go on, the status bar says when the file is written."""
        from ganplay.report.video import timed_export

        if self.export_thread is not None and self.export_thread.is_alive():
            self.window.statusBar().showMessage("an export is still running", 5000)
            return None
        first, last = self.bar.selected_range() or (None, None)
        recorder = self.recorder

        def run():
            try:
                n, seconds = timed_export(recorder, path, first=first, last=last)
            except GanplayError as exc:
                self.exported.emit(str(exc), False)
                return
            self.exported.emit(f"saved {path} ({n} frames, {seconds:.1f} s)", True)

        self.export_thread = threading.Thread(target=run, name="ganplay-video-export", daemon=True)
        self.export_thread.start()
        self.window.statusBar().showMessage(f"exporting {path}…", 60_000)
        return self.export_thread

    def _on_exported(self, message: str, ok: bool) -> None:
        if ok:
            self.window.statusBar().showMessage(message, 8000)
        else:
            self.window.report_error("Cannot export the video", message)

    def export_video(self, path: str) -> int:
        """Write the selected Range (else the whole recording) to ``path`` and wait; 0 on
        failure (said). The menu's export runs in the background instead."""
        from ganplay.report.video import timed_export

        first, last = self.bar.selected_range() or (None, None)
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            n, seconds = timed_export(self.recorder, path, first=first, last=last)
        except GanplayError as exc:
            self.window.report_error("Cannot export the video", str(exc))
            return 0
        finally:
            QApplication.restoreOverrideCursor()
        self.window.statusBar().showMessage(f"saved {path} ({n} frames, {seconds:.1f} s)", 8000)
        return n
