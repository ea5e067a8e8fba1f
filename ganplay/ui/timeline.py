"""The timeline in the window: the bar under the main view, scrubbing, replay, Continue from here
and video export. It reads the worker's recorder (``engine/recorder.py``, thread-safe) and draws
a past frame into the window's own views; while it shows one, the window's redraws of the live
run pause (training does not)."""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QVBoxLayout, QWidget

from ganplay.engine.snapshot import DecisionField
from ganplay.errors import GanplayError
from ganplay.ui.old_future import OldFuture
from ganplay.ui.timeline_bar import TimelineBar
from ganplay.ui.timeline_scrub import TimelineScrub, without_live_only


class Timeline(TimelineScrub):
    """Installs the bar under ``window``'s central widget and a File ▸ Export video… action."""

    exported = Signal(str, bool)  # (what to say, whether it worked) from the export thread

    def __init__(self, window):
        bar = TimelineBar()
        top = window.takeCentralWidget()
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(top, 1)
        layout.addWidget(bar)
        window.setCentralWidget(box)
        super().__init__(window, bar, self._metric_plots(window), top)
        self.window = window
        bar.continue_requested.connect(self.continue_here)
        self._install_actions()
        self.exported.connect(self._on_exported)
        self.export_thread: threading.Thread | None = None
        self.old_future = OldFuture(window)  # Run ▸ Compare with the old future

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

    @staticmethod
    def _metric_plots(w) -> list:
        plots = [v.getPlotItem() for v in (w.loss_view, w.d_view, w.acc_view)]
        return plots + list(getattr(w.quality_view, "plots", ()))

    @property
    def recorder(self):
        return self.window.worker.recorder

    def recordings(self) -> list:
        return [self.recorder]

    def live_step(self) -> int:
        snap = self.window._latest
        return snap.step if snap is not None else 0

    def running(self) -> bool:
        return self.window._running

    def data_kind(self) -> str:
        return self.window._latest.kind if self.window._latest is not None else "points"

    def redraw_live(self) -> None:
        self.window.redraw()

    def continue_step(self, step: int) -> int | None:
        return self.recorder.states.at_or_before(step)

    def show_step(self, step: int) -> None:
        frame = self.recorder.frame_at(step)
        if frame is not None:
            self._show(frame)

    def _show(self, frame) -> None:
        w = self.window
        live = w._latest
        if live is None:
            return
        # What the frame kept replaces the live run's; what it did not keep is not shown.
        snap = without_live_only(live).replace(
            step=frame.step, generated=frame.points(),
            field=None if frame.field is None else DecisionField(frame.field_values(), frame.extent),
            manifold=None if frame.manifold is None else np.asarray(frame.manifold, np.float32))
        if snap.kind == "points":
            w.scatter_view.show_snapshot(snap)
        else:
            w.image_panel.show_snapshot(snap)
        w.step_label.setText(f"step {frame.step:,} (recorded)")
        modes, total = frame.metrics.get("modes"), frame.metrics.get("modes_total")
        if modes is not None:  # the status bar's quality label is the live run's: say this step's
            w.quality_label.setText(f"modes {modes:g}" + (f"/{total:g}" if total else "") + " then")
        self.shown = snap

    def continue_here(self) -> None:
        """Train on from the kept state at or before the step shown (the later steps are dropped)."""
        if self.viewing is None:
            return
        step = self.recorder.states.at_or_before(self.viewing)
        if step is None:
            return
        self.window.worker.continue_from(step)
        self.go_live()

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
