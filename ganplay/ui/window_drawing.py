"""How the main window draws the worker's snapshots: the samples every frame, the slow plots
in turn a few times a second, the status bar's labels, GIF frames. A mixin of MainWindow."""
from __future__ import annotations

import time

CURVES_HZ = 5  # loss/accuracy/quality curves redraw rate while training runs (2.6 ms a plot: at 8 Hz
# the three plots took a third of the GUI thread at 35 fps)
LABELS_HZ = 5  # the status bar's step/quality/rate labels while training runs (each set text is a
# relayout and repaint of the status bar: every frame, a tenth of the GUI thread's time)


class SnapshotDrawing:
    """How the main window draws the worker's snapshots: the samples every frame, the slow plots"""

    def _on_snapshot(self, _step: int) -> None:
        self._latest = snap = self.worker.latest_snapshot()
        if snap is not None:  # (a cheap comparison when nothing changed)
            self.set_state(has_run=True, semi_supervised=snap.accuracy is not None)
        self._redraw()  # at once: waiting for the timer could let the next snapshot replace it

    def _slow_parts(self, snap) -> list:
        """The plots that change slowly, each as a call that redraws it from ``snap``."""
        parts = [lambda v=view: v.show_snapshot(snap) for view in self.curve_views]
        confusion = snap.confusion
        if confusion:
            parts.append(lambda: self.confusion_view.show_matrix(confusion, confusion["window"]))
        accuracy = snap.accuracy
        if accuracy is not None:
            parts.append(lambda: self.sgan_panel.show_accuracy(accuracy))
        return parts

    def redraw_later(self) -> None:
        """Draw the newest snapshot completely at the next frame (a view changed its shape)."""
        self._drawn = None

    def redraw(self) -> None:
        """Draw the newest snapshot again, completely, even if it is already on screen."""
        self._drawn = None
        self._redraw()

    def _redraw(self) -> None:
        snap = self._latest
        if snap is None or snap is self._drawn or self.timeline.viewing is not None:
            return  # (the timeline shows a recorded step: the live run is not drawn)
        if snap.kind == "points":
            self.top_stack.setCurrentIndex(0)
            self.scatter_view.show_snapshot(snap)
        else:
            self.top_stack.setCurrentIndex(1)
            self.image_panel.show_snapshot(snap)
        now = time.perf_counter()
        # The samples move at full frame rate; curves and the matrix change slowly, so while
        # training runs they are redrawn one plot per frame in turn, each about CURVES_HZ times
        # a second (all at once when paused or a step was asked for): the GUI thread's share
        # of the CPU, and so training's, stays small, and no frame is slow.
        parts = self._slow_parts(snap)
        if not self._running or snap.step < getattr(self._drawn, "step", -1):
            for part in parts:
                part()
            self._curves_drawn_at = now
        elif now - self._curves_drawn_at >= 1.0 / (CURVES_HZ * len(parts)):
            parts[self._slow_turn % len(parts)]()
            self._slow_turn += 1
            self._curves_drawn_at = now
        self.sgan_panel.setVisible(snap.accuracy is not None)
        # The strip's numbers: every frame when stepping, 4 times a second while playing.
        if self.explain_strip.isVisible() and (not self._running or now - self._strip_drawn_at >= 0.25):
            self.explain_strip.show_snapshot(snap)
            self._strip_drawn_at = now
        self._drawn = snap
        self._frames = [t for t in self._frames if now - t < 1.0] + [now]
        if not self._running or now - self._labels_drawn_at >= 1.0 / LABELS_HZ:
            self._show_labels(snap)
            self._labels_drawn_at = now
        self.snapshot_drawn.emit(snap.step)

    def _show_labels(self, snap) -> None:
        self.step_label.setText(f"step {snap.step:,}")
        summaries = [self.quality_view.summary]
        if snap.accuracy is not None:
            summaries.insert(0, self.sgan_panel.accuracy_view.summary)
        self.quality_label.setText(" · ".join(x for x in summaries if x))
        self.rate_label.setText(f"{snap.steps_per_s:,.0f} steps/s · {len(self._frames)} fps")
        sampled = snap.sampler
        self.sampler_label.setVisible(sampled is not None)
        if sampled is not None:
            self.sampler_label.setText(f"{sampled.name.upper()} accepts {100 * sampled.rate:.1f}%")
