"""Compare mode: 2 to 4 runs of one dataset side by side, trained in lockstep.

Each run (A, B, C, D) gets its own scatter or sample grid, all on the same axes, titled with what
it changes from run A ("B: label_smoothing 0.2"). The curves (losses, D's outputs, quality) are
overlaid, one colour per run, and a table holds each run's latest numbers. Play, pause, step and
reset act on every run, so they stay at the same step. Training happens in
:class:`~ganplay.ui.compare_worker.CompareWorker` on its own thread; the window only draws the
snapshots it hands over.
"""
from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QWidget,
)

from ganplay.config import Config
from ganplay.engine.compare import (
    MAX_RUNS,
    NAMES,
    SUFFIX,
    check_runs,
    labels,
    latest_metrics,
)
from ganplay.errors import ConfigError, GanplayError
from ganplay.quality_metrics import QUALITY_METRICS
from ganplay.ui.compare_worker import CompareWorker
from ganplay.ui.playback import PlaybackCommands
from ganplay.ui.command_worker import WorkerThread
from ganplay.ui.compare_files import CompareFiles
from ganplay.ui.compare_timeline import CompareTimeline
from ganplay.ui.compare_views import (  # noqa: F401 (re-exported)
    CHANGEABLE,
    RUN_COLORS,
    AddRunDialog,
    OverlaidCurves,
    RunView,
    base_name,
    run_color_hex,
)

REDRAW_MS = 16  # the timer draws only when new snapshots have arrived (the worker sends ~36/s)
CURVES_HZ = 4  # curves and table redraw rate while training (2-4 runs: 4x the curves of the main window)
CLOSE_WAIT_MS = 1500
# The table: (column title, metric key, format); quality columns are added for the data.
TABLE = (("Step", "step", "{:,.0f}"), ("Steps/s", "steps/s", "{:,.0f}"), ("D loss", "d_loss", "{:.3f}"),
         ("G loss", "g_loss", "{:.3f}"), ("D(x)", "d_real", "{:.3f}"), ("D(G(z))", "d_fake", "{:.3f}"))
QUALITY = {k: (QUALITY_METRICS.get(k).short, QUALITY_METRICS.get(k).fmt)
           for k in ("modes", "high_quality", "kl", "fid", "inception_score")}
# The quality curve: the first of these each run has.
QUALITY_CURVE = tuple((k, QUALITY_METRICS.get(k).label) for k in ("modes", "fid", "kl"))
QUALITY_LABELS = dict(QUALITY_CURVE)
# (name, text, shortcut, handler, tooltip): the toolbar's actions.
ACTIONS = (
    ("play", "Play", "Space", "toggle_play", "Train every run, or pause them all (Space)"),
    ("step", "Step", "S", "step_once", "One training step of every run (S)"),
    ("reset", "Reset", "Ctrl+R", "reset", "Every run back to step 0 (Ctrl+R)"),
    ("add", "Add run…", "Ctrl+N", "add_run_dialog",
     "Add a run: a copy of the selected run (same seed) with the settings you change; every run restarts "
     "from step 0 so all stay at one step (Ctrl+N)"),
    ("remove", "Remove run", "Del", "remove_selected", "Remove the run selected in the table; the others go on (Del)"),
    ("save", "Save set…", QKeySequence.Save, "save_set_dialog",
     f"Save every run as one {SUFFIX} file (Ctrl+S)"),
    ("save_folder", "Save as folder…", None, "save_folder_dialog",
     "Save every run as a folder of run files (A.npz, B.npz…) with an index; each opens in the main window too"),
    ("open", "Open set…", QKeySequence.Open, "open_set_dialog", f"Continue a saved set: a {SUFFIX} file (Ctrl+O)"),
    ("open_folder", "Open folder…", None, "open_folder_dialog", "Continue a set saved as a folder"),
    ("export_png", "Export PNG…", "Ctrl+E", "export_png_dialog", "Save a picture of the comparison (Ctrl+E)"),
    ("export_csv", "Export CSV…", "Ctrl+Shift+C", "export_csv_dialog",
     "Save every run's metrics per logged step as one CSV table (Ctrl+Shift+C)"),
)


class CompareWindow(CompareFiles, PlaybackCommands, QMainWindow):
    """Compare mode. ``configs`` are the runs (A first); one run is allowed while the set is
    built: Add run (Ctrl+N) adds the next."""

    snapshots_drawn = Signal(int)  # step of the snapshots just drawn (tests and benchmarks)

    def __init__(self, configs: list[Config], parent=None):
        super().__init__(parent)
        configs = list(configs)
        check_runs(configs)
        self.configs = configs
        self.setWindowTitle(f"ganplay — compare runs on {configs[0].dataset}")
        self.snapshots: list | None = None  # the newest drawn, one per run
        self._running = False
        self._frames: list[float] = []
        self._fresh = False
        self._curves_drawn_at = 0.0
        self._following = False  # a scatter's range is being copied to the others
        self._build_actions()
        self._build_views()
        self.resize(1280, 800)
        self._show_runs(configs)

        self.worker = CompareWorker(configs)
        self.worker.snapshots_ready.connect(self._on_snapshots)
        self.worker.runs_changed.connect(self._on_runs_changed)
        # Bound methods, not lambdas: a lambda would run in the worker's thread (no receiver to queue to).
        self.worker.message.connect(self._on_message)
        self.worker.failed.connect(self.show_error)
        self.worker.diverged.connect(self.show_error)
        self.worker.saved.connect(self._on_saved)
        self.worker.running_changed.connect(self._on_running_changed)
        self.worker_thread = WorkerThread(self.worker)
        self.worker_thread.thread.setObjectName("ganplay-compare")
        self.worker_thread.start()
        self.timeline = CompareTimeline(self)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()

    # -- construction ---------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        bar = QToolBar("Compare")
        bar.setObjectName("compare_toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        for name, text, shortcut, handler, tip in ACTIONS:
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(getattr(self, handler))
            self.addAction(action)
            bar.addAction(action)
            setattr(self, f"{name}_action", action)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.setToolTip("The last error or divergence, in one line")
        self.rate_label = QLabel("")
        self.rate_label.setToolTip("Steps per second of each run, and frames drawn per second")
        self.statusBar().addPermanentWidget(self.error_label, 1)
        self.statusBar().addPermanentWidget(self.rate_label)

    def _build_views(self) -> None:
        self.run_row = QWidget()
        self.run_row.setObjectName("run_views")
        self.run_layout = QHBoxLayout(self.run_row)
        self.run_layout.setContentsMargins(0, 0, 0, 0)
        self.run_views: list[RunView] = []
        self.loss_plot = OverlaidCurves("Losses", (("d_loss", "D"), ("g_loss", "G")))
        self.d_plot = OverlaidCurves("D output", (("d_real", "D(x)"), ("d_fake", "D(G(z))")), y_range=(0.0, 1.0),
                                     run_key=False)
        self.quality_plot = OverlaidCurves("Quality", (("quality", "quality"),), points=True)
        for plot, tip in ((self.loss_plot, "D's and G's losses of every run (a trailing mean), one colour per run"),
                          (self.d_plot, "D's mean output on real and generated samples, one colour per run"),
                          (self.quality_plot, "Each run's sample quality when it is measured, one colour per run")):
            plot.setToolTip(tip)
        curves = QWidget()
        row = QHBoxLayout(curves)
        row.setContentsMargins(0, 0, 0, 0)
        for plot in (self.loss_plot, self.d_plot, self.quality_plot):
            row.addWidget(plot)
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("metrics_table")
        self.table.setToolTip("Each run's latest numbers (losses and D's outputs: a trailing mean); "
                              "select a run to copy it with Add run or to remove it")
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.run_row)
        splitter.addWidget(curves)
        splitter.addWidget(self.table)
        splitter.setSizes([440, 220, 110])
        self.setCentralWidget(splitter)

    def _show_runs(self, configs: list[Config]) -> None:
        """Rebuild the per-run views, curve items and table rows for a new set of runs."""
        self.configs = configs
        kind = "points" if _is_points(configs[0]) else "images"
        for view in self.run_views:
            self.run_layout.removeWidget(view)
            view.deleteLater()
        self.run_views = []
        for i, text in enumerate(labels(configs)):
            view = RunView(kind)
            view.set_title(text, run_color_hex(i))
            view.setToolTip(text)
            if kind == "points":  # the same axes for every run
                view.view.getViewBox().sigRangeChanged.connect(self._follow_range)
            self.run_layout.addWidget(view, 1)
            self.run_views.append(view)
        names = list(NAMES[: len(configs)])
        for plot in (self.loss_plot, self.d_plot, self.quality_plot):
            plot.set_runs(names)
        self.table.setRowCount(len(configs))
        # Every run's row in view: the header and the rows (the splitter keeps the rest).
        rows = self.table.verticalHeader().defaultSectionSize() * len(configs)
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + rows + 4)
        self._columns: list[tuple[str, str, str]] = []
        self.table.setColumnCount(0)
        for i, text in enumerate(labels(configs)):
            self._set_cell(i, 0, text.partition(": ")[0], bold=True, color=run_color_hex(i))
        self.snapshots = None
        self.remove_action.setEnabled(len(configs) > 1)
        self.add_action.setEnabled(len(configs) < MAX_RUNS)

    def _follow_range(self, source, ranges) -> None:
        """Give every run's scatter the range one was given (fitted, panned or zoomed).

        Not ``setXLink``: pyqtgraph lines linked views up by their place on screen, which
        shifted the range of views side by side (run D's axes started at -6 instead of -4)."""
        if self._following:
            return
        self._following = True
        try:
            for view in self.run_views:
                box = view.view.getViewBox()
                if box is not source:
                    box.setRange(xRange=ranges[0], yRange=ranges[1], padding=0)
        finally:
            self._following = False

    def _set_cell(self, row: int, col: int, text: str, bold: bool = False, color: str | None = None) -> None:
        if col >= self.table.columnCount():
            self.table.setColumnCount(col + 1)
        item = self.table.item(row, col)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, col, item)
        if item.text() != text:  # an unchanged text costs no re-layout of the sized columns
            item.setText(text)
        if bold:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        if color:
            item.setForeground(QColor(color))

    # -- commands (play, pause and step: PlaybackCommands) -----------------------------------------------
    def reset(self) -> None:
        self.error_label.setText("")
        self.worker.reset()

    def selected_run(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else len(self.configs) - 1

    def new_run(self, changes: list[str], source: int | None = None) -> Config:
        """The run ``changes`` (``key=value``, as ``--set``) make of run ``source`` (the selected
        run): same seed unless changed. ConfigError says what is wrong."""
        if len(self.configs) >= MAX_RUNS:
            raise ConfigError(f"a comparison holds at most {MAX_RUNS} runs; remove one first")
        base = self.configs[self.selected_run() if source is None else source]
        config = base.with_overrides([c for c in changes if c.strip()])
        check_runs([*self.configs, config])
        return config

    def add_run(self, changes: list[str], source: int | None = None) -> bool:
        """Add a run (every run restarts from step 0); an invalid change is one line, no run added."""
        try:
            config = self.new_run(changes, source)
        except GanplayError as exc:
            self.show_error(str(exc))
            return False
        self.error_label.setText("")
        self.worker.set_runs([*self.configs, config])
        return True

    def add_run_dialog(self) -> AddRunDialog:
        """Open the Add run dialog (not modal: returns it; OK adds the run)."""
        base = self.configs[self.selected_run()]
        dialog = AddRunDialog(base, self._check_changes, self)
        dialog.accepted.connect(lambda: self.add_run(
            dialog.changes(), self.configs.index(base) if base in self.configs else None))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        self.add_dialog = dialog
        return dialog

    def _check_changes(self, changes: list[str]) -> str:
        try:
            self.new_run(changes)
        except GanplayError as exc:
            return str(exc)
        return ""

    def remove_selected(self) -> None:
        if len(self.configs) > 1:
            self.worker.remove(self.selected_run())

    # -- from the worker -----------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """Errors are one line in the window (its error label and status bar), never a dialog."""
        self.error_label.setText(text)
        self.statusBar().showMessage(text, 15000)

    def _on_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_saved(self, path: str) -> None:
        self.statusBar().showMessage(f"saved {path}", 8000)

    def _on_runs_changed(self, text: str) -> None:
        configs = [Config.from_dict(d) for d in json.loads(text)]
        self._show_runs(configs)

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
        self.play_action.setText("Pause" if running else "Play")
        snaps = self.worker.latest_snapshots()
        if not running and snaps and len(snaps) == len(self.run_views):
            # While training the curves and the table are drawn at CURVES_HZ: the last frame before
            # the pause may have skipped them, and no frame comes after it.
            self._curves_drawn_at = time.perf_counter()
            self._draw_curves(snaps)

    def _on_snapshots(self, _step: int) -> None:
        self._fresh = True

    def _redraw(self) -> None:
        if not self._fresh:
            return
        self._fresh = False
        snaps = self.worker.latest_snapshots()
        if not snaps or len(snaps) != len(self.run_views):
            return  # a set changing: its views come with runs_changed
        self.timeline.show_live(snaps)  # (not while a past step is shown)
        now = time.perf_counter()
        # Curves and the table at CURVES_HZ while training (every frame when paused): profiled
        # with 4 runs, setting and painting the curves was most of a frame's cost.
        if not self._running or now - self._curves_drawn_at >= 1.0 / CURVES_HZ:
            self._curves_drawn_at = now
            self._draw_curves(snaps)
        self.snapshots = snaps
        self._frames = [t for t in self._frames if now - t < 1.0] + [now]
        rates = " · ".join(f"{n} {s.steps_per_s:,.0f}" for n, s in zip(NAMES, snaps))
        self.rate_label.setText(f"step {snaps[0].step:,} · steps/s {rates} · {len(self._frames)} fps")
        self.snapshots_drawn.emit(snaps[0].step)

    def _draw_curves(self, snaps) -> None:
        for i, snap in enumerate(snaps):
            h = snap.history
            self.loss_plot.show_series(i, h["step"], h)
            self.d_plot.show_series(i, h["step"], h)
            q = snap.quality.series
            key = next((k for k, _ in QUALITY_CURVE if k in q), None)
            if key is not None:
                self.quality_plot.set_axis_label(QUALITY_LABELS[key])
            self.quality_plot.show_series(i, q.get("step", np.zeros(0)), {"quality": q.get(key)} if key else {},
                                          smooth=False)
        self._fill_table(snaps)

    def _fill_table(self, snaps) -> None:
        rows = [latest_metrics(s) for s in snaps]
        columns = [*TABLE, *((QUALITY[k][0], k, QUALITY[k][1]) for k in QUALITY if any(k in r for r in rows))]
        if columns != self._columns:  # a new set, or its first quality measurement
            self._columns = columns
            self.table.setColumnCount(len(columns) + 2)
            self.table.setHorizontalHeaderLabels(["Run", "Settings", *(t for t, _, _ in columns)])
            header = self.table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeToContents)
            header.setSectionResizeMode(1, QHeaderView.Stretch)
            for i, text in enumerate(labels(self.configs)):
                self._set_cell(i, 1, text.partition(": ")[2])
        for i, row in enumerate(rows):
            for j, (_, key, fmt) in enumerate(columns):
                value = row.get(key)
                self._set_cell(i, j + 2, fmt.format(value) if value is not None and np.isfinite(value) else "")

    def steps(self) -> list[int]:
        """Each run's step in the newest drawn snapshots (empty before the first)."""
        return [s.step for s in self.snapshots or ()]

    # -- shutdown ------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.redraw_timer.stop()
        if not self.worker_thread.stop(CLOSE_WAIT_MS):
            WorkerThread.orphans.add(self.worker_thread)
        QCoreApplication.sendPostedEvents()
        super().closeEvent(event)


def _is_points(config: Config) -> bool:
    from ganplay.data import DATASETS

    return DATASETS.get(config.dataset).kind == "points"


def open_compare(config: Config, parent=None) -> CompareWindow:
    """Open Compare mode with ``config`` as run A (the main window's "Compare runs…" action)."""
    window = CompareWindow([config], parent)
    if parent is not None:
        window.setWindowFlag(Qt.Window, True)  # its own window, not drawn inside the parent
    window.show()
    return window
