"""The main window: it assembles the panels (controls, the 2-D or image view, the metric docks),
routes the worker's snapshots to them, and turns the user's commands into worker calls."""
from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from ganplay.commandline import command_for
from ganplay.config import Config, save_config
from ganplay.engine.train import describe_devices, run_devices
from ganplay.errors import GanplayError
from ganplay.models import MODELS
from ganplay.presets import PRESETS
from ganplay.ui.download_dialog import dataset_missing, offer_download
from ganplay.ui.explain_strip import ExplainStrip
from ganplay.ui.latent_window import install_latent_dock
from ganplay.ui.mixture_editor import MixtureEditor
from ganplay.ui.panels.actions import install_actions
from ganplay.ui.panels.control_panel import TOOLTIPS, ControlPanel  # noqa: F401  (TOOLTIPS: re-exported)
from ganplay.ui.panels.image_panel import ImagePanel
from ganplay.ui.panels.metric_docks import (
    CONTROLS_DOCK,
    LAYOUT_VERSION,
    METRIC_DOCKS,
    arrange_columns,
    arrange_default,
    default_columns,
    make_dock,
    size_default,
)
from ganplay.ui.panels.toy_panel import ToyPanel
from ganplay.ui.playback import PlaybackCommands
from ganplay.ui.recorder import GifRecorder
from ganplay.ui.remedies_panel import losses_help_html
from ganplay.ui.timeline import Timeline
from ganplay.ui.worker import SPEEDS, TrainingWorker, WorkerThread

REDRAW_MS = 25  # 40 fps ceiling; the timer draws only when a new snapshot has arrived
CURVES_HZ = 5  # loss/accuracy/quality curves redraw rate while training runs (2.6 ms a plot: at 8 Hz
# the three plots took a third of the GUI thread at 35 fps)
LABELS_HZ = 5  # the status bar's step/quality/rate labels while training runs (each set text is a
# relayout and repaint of the status bar: every frame, a tenth of the GUI thread's time)
CLOSE_WAIT_MS = 1500  # how long closing waits for the training thread (a compile may take longer)
# The status bar's line until the first Play: what to try first.
FIRST_HINT = "Press Space (Play) to train; the Presets menu has recipes that show what goes wrong and its cure"
FIRST_HINT_POINTS = ("Press Space (Play) and watch the orange points find the blue ones; then tick "
                     "Decision field to see what D thinks")

PANEL_WIDGETS = {
    "control_panel": ("controls", "model_box", "dataset_box", "data_dir_edit", "sgan_group", "remedies_group",
                      "play_button", "step_button", "reset_button"),
    "toy_panel": ("scatter_view", "overlay_boxes", "noise_button", "draw_box", "use_drawn_button",
                  "clear_drawn_button"),
    "image_panel": ("fake_grid", "real_grid", "grid_size_box", "scores_box", "interp_view", "class_view",
                    "sgan_panel", "class_label", "class_box"),
}


class MainWindow(PlaybackCommands, QMainWindow):
    """The ganplay window. Panels: ``control_panel``, ``toy_panel`` and ``image_panel`` (in the
    central ``top_stack``), and the metric docks in ``docks`` (by objectName). More docks (an
    explanation strip, say) go in with :meth:`add_dock` while the window is built, before the
    saved layout is restored."""

    snapshot_drawn = Signal(int)  # step of the snapshot just drawn (tests and scripted mode)
    offer_downloads = True  # ask to download missing datasets (tests switch this off)

    def __init__(self, config: Config, settings: QSettings | None = None, *, restore: bool = True,
                 warm_up: bool = False):
        super().__init__()
        self.setWindowTitle("ganplay")
        self.settings = settings if settings is not None else QSettings("ganplay", "ganplay")
        if restore:
            config = self._restored_config(config)
        self.config = config
        self._latest = None
        self._drawn = None
        self._frames: list[float] = []
        self._running = False
        self.message_box: QMessageBox | None = None  # the latest error dialog (non-blocking)
        self.divergence_box: QMessageBox | None = None
        self.abort_download = None  # set while a download dialog runs; closing calls it
        self.compare_windows: list = []  # Compare mode windows opened from here (closed with it)
        self.recorder: GifRecorder | None = None
        self._curves_drawn_at = 0.0
        self._strip_drawn_at = 0.0
        self._labels_drawn_at = 0.0
        self._slow_turn = 0
        self.docks: dict[str, QDockWidget] = {}
        self._extra_docks: list[tuple[QDockWidget, Qt.DockWidgetArea, str | None]] = []
        self._layout_restored = False
        self._played = False  # the status bar says what to try first until the first Play

        # The window's size first: the default dock layout depends on its width.
        if restore and self.settings.contains("geometry"):
            self.restoreGeometry(self.settings.value("geometry"))
        else:
            self.resize(1280, 800)
        self.menus = install_actions(self)
        self._build_panels()
        self._build_docks()
        self._build_status_bar()
        self._load_controls(config)
        if restore:
            self._layout_restored = self.restore_layout()

        # warm_up: compile each run's training program as soon as it is built (the app does;
        # tests leave it off, most of their windows never train)
        self.worker = TrainingWorker(config, warm_up=warm_up)
        self.worker.snapshot_ready.connect(self._on_snapshot)
        self.worker.message.connect(self._on_message)
        self.worker.failed.connect(self._on_failed)
        self.worker.diverged.connect(self._on_diverged)
        self.worker.saved.connect(self._on_saved)
        self.worker.opened.connect(self._on_opened)
        self.worker.running_changed.connect(self._on_running_changed)
        self.docks["spectrum_dock"].visibilityChanged.connect(lambda on: self.worker.watch_spectrum(on))
        self.worker_thread = WorkerThread(self.worker)
        self.worker_thread.start()
        self.timeline = Timeline(self)  # the bar under the main view: scrub, replay, export

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()

    # -- construction ---------------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.control_panel = cp = ControlPanel()
        cp.config_edited.connect(self.apply_config)
        cp.edit_refused.connect(lambda message: self.statusBar().showMessage(message, 8000))
        cp.play_button.clicked.connect(self.toggle_play)
        cp.step_button.clicked.connect(self.step_once)
        cp.reset_button.clicked.connect(self.reset)
        cp.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))
        for a, b in ((self.play_action, cp.play_button), (self.full_step_action, cp.step_button),
                     (self.reset_action, cp.reset_button)):
            b.setToolTip(a.toolTip())

        self.toy_panel = tp = ToyPanel()
        tp.overlay_toggled.connect(self.set_overlay)
        tp.noise_requested.connect(self.refresh_noise)
        tp.drawing_toggled.connect(self.set_drawing)
        tp.train_drawn_requested.connect(self.train_on_drawn)
        tp.view_settled.connect(self._send_view)

        self.image_panel = ip = ImagePanel()
        ip.noise_requested.connect(self.refresh_noise)
        ip.interpolation_toggled.connect(lambda on: self.set_overlay("interpolation", on))
        ip.draw_class_chosen.connect(lambda c: self.worker.set_draw_class(c))
        ip.baseline_requested.connect(self.start_baseline)
        ip.redraw_needed.connect(self.redraw_later)

        self.top_stack = QStackedWidget()
        self.top_stack.addWidget(tp)
        self.top_stack.addWidget(ip)
        self.setCentralWidget(self.top_stack)
        # The panels' widgets, also as the window's own: tests, scripts and other windows use them.
        for panel, names in PANEL_WIDGETS.items():
            for name in names:
                setattr(self, name, getattr(getattr(self, panel), name))
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks
                            | QMainWindow.AllowNestedDocks)

    def _build_docks(self) -> None:
        self.add_dock(CONTROLS_DOCK, "Controls", self.control_panel, Qt.LeftDockWidgetArea,
                      tip="Every setting of the run", default=False)
        for spec in METRIC_DOCKS:
            view = spec.make()
            setattr(self, spec.attr, view)
            self.add_dock(spec.name, spec.title, view, Qt.BottomDockWidgetArea, tip=spec.tip, default=False)
        self.curve_views = [self.loss_view, self.d_view, self.acc_view, self.quality_view, self.spectrum_view]
        self.explain_strip = ExplainStrip(self.config)
        self.explain_strip.box_clicked.connect(self.show_box_view)
        self.add_dock("explain_dock", "Explain: the game", self.explain_strip, Qt.TopDockWidgetArea,
                      tip="The game in one line, with live numbers; hover a box for what it is, click it for its view")
        self.mixture_editor = MixtureEditor(self.config)
        self.mixture_editor.config_changed.connect(self.apply_config)
        self.add_dock("mixture_dock", "gmm2 mixture", self.mixture_editor, Qt.LeftDockWidgetArea,
                      tip="Make your own 2-D distribution: weights, means and variances of gmm2's Gaussians",
                      tab_with=CONTROLS_DOCK)
        self.latent_lab = install_latent_dock(self)  # steering G by hand (image models)
        arrange_default(self, self._own_docks(), self._extra_docks)
        self._built_columns = default_columns(self)

    def add_dock(self, name: str, title: str, widget: QWidget, area=Qt.BottomDockWidgetArea, *,
                 tip: str = "", default: bool = True, tab_with: str | None = None) -> QDockWidget:
        """Dock ``widget`` in ``area`` under the stable objectName ``name`` (saved layouts key on it)
        and list it in the View menu. Call while the window is built (before the saved layout is
        restored) for its place to be restored; Reset layout puts it back in ``area`` (tabbed
        behind the dock named ``tab_with``, when given)."""
        dock = make_dock(self, name, title, widget, tip)
        self.docks[name] = dock
        self.addDockWidget(area, dock)
        view_menu = self.menus["View"]
        view_menu.insertAction(view_menu.actions()[-2], dock.toggleViewAction())  # above "—, Reset layout"
        if default:
            self._extra_docks.append((dock, area, tab_with))
        return dock

    def _build_status_bar(self) -> None:
        self.step_label = QLabel("step 0")
        self.quality_label = QLabel("")
        self.quality_label.setToolTip("The latest quality evaluation (see the Quality plot)")
        self.rate_label = QLabel("")
        self.device_label = QLabel(f"device: {describe_devices(run_devices(self.config))}")
        for w in (self.step_label, self.quality_label, self.rate_label, self.device_label):
            self.statusBar().addPermanentWidget(w)
        self.statusBar().messageChanged.connect(self._hint_again)
        self._hint_again("")

    def _hint_again(self, message: str) -> None:
        """Until the first Play, the status bar comes back to what to try first."""
        if not message and not self._played:
            points = "points" in MODELS.get(self.config.model).kinds
            self.statusBar().showMessage(FIRST_HINT_POINTS if points else FIRST_HINT)

    # -- layout ------------------------------------------------------------------------------------------
    def _own_docks(self) -> dict[str, QDockWidget]:
        """The controls and metric docks (those added with ``add_dock`` by others excluded)."""
        return {k: v for k, v in self.docks.items() if all(v is not d for d, *_ in self._extra_docks)}

    def reset_layout(self) -> None:
        """Every dock back where a first start puts it: docked, shown, default sizes."""
        arrange_default(self, self._own_docks(), self._extra_docks)

    def restore_layout(self) -> bool:
        """The dock arrangement saved at the last close; False (default layout kept) if none or outdated."""
        state = self.settings.value("window_state")
        return bool(state) and self.restoreState(state, LAYOUT_VERSION)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored:  # sizes need the window's final size; once
            self._layout_restored = True
            if default_columns(self) != self._built_columns:  # shown wider or narrower than built
                arrange_columns(self, self._own_docks())
            size_default(self, self._own_docks())

    # -- controls <-> config ---------------------------------------------------------------------------
    def _load_controls(self, config: Config) -> None:
        self.control_panel.load(config)
        for view in (getattr(self, "explain_strip", None), getattr(self, "mixture_editor", None)):
            if view is not None:
                view.set_config(config)

    def apply_config(self, config: Config) -> None:
        """Send a config to the worker (live change or clean restart) and mirror it in the controls."""
        if config == self.config:
            return
        missing = dataset_missing(config.dataset, config.data_dir)
        if missing and not (self.offer_downloads and offer_download(self, config.dataset, config.data_dir)):
            self.statusBar().showMessage(missing.splitlines()[0], 15000)
            if not self.offer_downloads and not getattr(self, "quiet_errors", False):
                self.show_error("Dataset not found", missing)
            self._load_controls(self.config)  # keep the run that works
            return
        self.config = config
        self._load_controls(config)
        self.worker.set_config(config)

    def apply_preset(self, name: str) -> None:
        """Start the named recipe (a clean restart; the seed and data folder are kept)."""
        preset = PRESETS.get(name)
        try:
            config = Config.for_model(preset.model, **{**preset.settings(), "seed": self.config.seed,
                                                       "data_dir": self.config.data_dir})
        except GanplayError as exc:
            self.statusBar().showMessage(f"preset {name}: {exc}", 10000)
            return
        self.apply_config(config)
        if self.config == config:
            self.statusBar().showMessage(f"Preset {name}: {preset.shows} (about {preset.steps:,} steps)", 20000)

    def show_losses_help(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Losses and penalties")
        box.setTextFormat(Qt.RichText)
        box.setText(losses_help_html())
        box.setStandardButtons(QMessageBox.Close)
        box.setModal(False)
        box.open()
        self.losses_help_box = box

    def open_compare(self) -> None:
        """Compare mode, seeded with this run's settings as run A. Opened without a parent (so
        closing it stops its own training thread); this window closes it when it closes."""
        from ganplay.ui.compare_window import open_compare

        self.compare_windows = [w for w in self.compare_windows if w.isVisible()]
        self.compare_windows.append(open_compare(self.config))

    def open_dirac(self) -> None:
        """The Dirac-GAN lab, its own window (closed with this one)."""
        from ganplay.ui.dirac_window import open_dirac

        self.compare_windows = [w for w in self.compare_windows if w.isVisible()] + [open_dirac()]

    # -- commands (play, pause and step: PlaybackCommands) ---------------------------------------------
    def substep(self) -> None:
        self.worker.substep()

    def substep_d(self) -> None:
        self.worker.substep("d")

    def substep_g(self) -> None:
        self.worker.substep("g")

    def set_speed(self, steps_per_s: float | None) -> None:
        """Slow motion (None: as fast as it goes); the speed box follows."""
        self.worker.set_speed(steps_per_s)
        box = self.control_panel.speed_box
        if box.currentIndex() != SPEEDS.index(steps_per_s):
            box.setCurrentIndex(SPEEDS.index(steps_per_s))
        self.statusBar().showMessage(
            "full speed" if steps_per_s is None else f"slow motion: {steps_per_s:g} steps/s, each one drawn", 4000)

    def slower(self) -> None:
        i = self.control_panel.speed_box.currentIndex()
        self.set_speed(SPEEDS[min(i + 1, len(SPEEDS) - 1)])

    def faster(self) -> None:
        i = self.control_panel.speed_box.currentIndex()
        self.set_speed(SPEEDS[max(i - 1, 0)])

    def show_box_view(self, key: str) -> None:
        """The Explain strip's box ``key`` was clicked: bring up the view that shows that part."""
        points = self.top_stack.currentIndex() == 0
        if key == "discriminator" and points:
            self.overlay_boxes["field"].setChecked(True)  # D is its decision field
        elif key == "generator" and points:
            self.overlay_boxes["manifold"].setChecked(True)  # G is how it warps the noise
        elif key in ("d_loss", "g_loss"):
            self.docks["losses_dock"].show()
            self.docks["losses_dock"].raise_()
        elif key == "z" and points:
            self.overlay_boxes["interpolation"].setChecked(True)  # a path through noise space
        self.top_stack.currentWidget().setFocus()
        self.statusBar().showMessage(self.explain_strip.boxes[key].tip, 8000)

    def copy_command(self) -> None:
        step = self._latest.step if self._latest is not None else 0
        line = command_for(self.config, steps=max(step, 1000), out="ganplay-run")
        QApplication.clipboard().setText(line)
        self.statusBar().showMessage(f"copied: {line}", 10000)

    def save_config_dialog(self) -> None:
        name = f"{self.config.model}-{self.config.dataset}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save config", name, "Config files (*.json)")
        if path:
            self.save_config(path)

    def save_config(self, path: str) -> bool:
        try:
            save_config(self.config, path)
        except (GanplayError, OSError) as exc:
            self.show_error("Cannot save the config", f"{exc}\n\nChoose another folder or free some space.")
            return False
        self.statusBar().showMessage(f"saved the settings to {path} (ganplay train --config {path} …)", 10000)
        return True

    def reset(self) -> None:
        self.rollback_action.setEnabled(False)
        self.worker.reset()

    # -- worker signals -------------------------------------------------------------------------------
    def _on_snapshot(self, _step: int) -> None:
        self._latest = self.worker.latest_snapshot()
        self._redraw()  # at once: waiting for the timer could let the next snapshot replace it

    def _on_message(self, message: str) -> None:
        self.statusBar().showMessage(message, 5000)

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
        self._played = self._played or running
        self.play_button.setText("Pause" if running else "Play")
        if not running:  # draw the final state completely, curves included
            self._curves_drawn_at = 0.0
            self._drawn = None

    def _on_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        if not getattr(self, "quiet_errors", False):
            self.show_error("ganplay", message)

    def show_error(self, title: str, message: str) -> QMessageBox:
        """A warning dialog that does not block the event loop (training and redraws go on)."""
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModal)
        box.finished.connect(self._forget_message_box)
        self.message_box = box
        box.open()
        return box

    def _forget_message_box(self, _result: int) -> None:
        self.message_box = None

    def _on_diverged(self, message: str) -> None:
        info = self.worker.divergence()
        self.statusBar().showMessage(message.split(". ")[0], 30000)
        if self.divergence_box is not None:
            self.divergence_box.close()
        box = QMessageBox(QMessageBox.Warning, "Training diverged", message, QMessageBox.NoButton, self)
        good = info[1] if info else 0
        self.rollback_button = box.addButton(f"Roll back to step {good:,}", QMessageBox.AcceptRole)
        self.rollback_button.setToolTip("Restore the last good state kept before the blow-up (Ctrl+Z)")
        self.reset_after_divergence = box.addButton("Reset", QMessageBox.ResetRole)
        box.addButton("Inspect", QMessageBox.RejectRole).setToolTip(
            "Close this message and look at the plots; Run ▸ Roll back stays available")
        box.setDefaultButton(self.rollback_button)
        box.setWindowModality(Qt.WindowModal)
        box.buttonClicked.connect(self._on_divergence_choice)
        self.divergence_box = box
        self.rollback_action.setEnabled(True)
        box.open()

    def _on_divergence_choice(self, button) -> None:
        if button is self.rollback_button:
            self.rollback()
        elif button is self.reset_after_divergence:
            self.reset()
        self.divergence_box = None

    # -- views and latent exploration -----------------------------------------------------------------
    def set_overlay(self, key: str, on: bool) -> None:
        self.toy_panel.set_overlay(key, on)
        if key == "interpolation":
            self.image_panel.set_interpolation(on)
        self._send_view()
        self.worker.set_overlays(**{key: on})
        self._drawn = None

    def _send_view(self) -> None:
        if self.top_stack.currentIndex() == 0:
            self.worker.set_view(*self.scatter_view.view_extent())

    def step_d(self) -> None:
        self.worker.step_d()

    def step_g(self) -> None:
        self.worker.step_g()

    def refresh_noise(self) -> None:
        self.worker.refresh_noise()

    def start_baseline(self) -> None:
        self.worker.start_baseline()

    # -- user data ---------------------------------------------------------------------------------------
    def set_drawing(self, on: bool) -> None:
        if on:
            self.pause()
        self.toy_panel.set_drawing(on)
        self.statusBar().showMessage(
            "draw mode: drag on the plot to paint points; then press Train on drawn" if on else "", 8000)

    def train_on_drawn(self) -> None:
        import time as _time

        from ganplay.data.locate import cache_root
        from ganplay.data.points_file import save_points_csv

        pts = np.asarray(self.scatter_view.drawn_points, np.float64)
        path = cache_root() / "drawn" / f"drawn-{_time.strftime('%Y%m%d-%H%M%S')}.csv"
        try:
            save_points_csv(pts, path)
        except GanplayError as exc:
            self.show_error("Cannot save drawn points", str(exc))
            return
        self.set_drawing(False)
        self.scatter_view.clear_drawn()
        self.load_points_file(str(path))

    def import_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import 2-D points", "", "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.load_points_file(path)

    def load_points_file(self, path: str) -> None:
        """Train the current 2-D model on the x,y points in ``path`` (validated before switching)."""
        from ganplay.data.points_file import read_points_csv

        try:
            pts = read_points_csv(path)
        except GanplayError as exc:
            self.show_error("Cannot import points", str(exc))
            return
        model = self.config.model if "points" in MODELS.get(self.config.model).kinds else "toy-mlp"
        base = self.config if model == self.config.model else Config.for_model(model, seed=self.config.seed)
        self.apply_config(base.replace(dataset="points-file", data_dir=str(path)))
        self.statusBar().showMessage(f"training on {len(pts):,} points from {path}", 8000)

    # -- exports -----------------------------------------------------------------------------------------
    def export_window_dialog(self) -> None:
        self.export_png_dialog(whole=True)

    def export_png_dialog(self, whole: bool = False) -> None:
        name = f"{self.config.model}-{self.config.dataset}-{self._latest.step if self._latest else 0}.png"
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", name, "PNG images (*.png)")
        if path:
            self.export_png(path, whole=whole)

    def export_png(self, path: str, whole: bool = False) -> bool:
        widget = self if whole else self.top_stack.currentWidget()
        if not widget.grab().save(path, "PNG"):
            self.show_error("Export failed", f"cannot write {path}: choose a writable folder")
            return False
        self.statusBar().showMessage(f"saved {path}", 6000)
        return True

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> bool:
        """The plotted history (per-step metrics, decimated for long runs) as CSV."""
        from ganplay.files import atomic_write_bytes

        snap = self._latest
        if snap is None:
            self.show_error("Export failed", "nothing to export yet: train for a few steps")
            return False
        h = snap.history
        names = [k for k in h if k != "step"]
        rows = np.column_stack([h["step"]] + [h[k] for k in names]) if len(h["step"]) else np.zeros((0, 1 + len(names)))
        import io

        buf = io.StringIO()
        buf.write("step," + ",".join(names) + "\n")
        np.savetxt(buf, rows, fmt=["%.1f"] + ["%.6g"] * len(names), delimiter=",")
        try:
            atomic_write_bytes(path, buf.getvalue().encode())
        except GanplayError as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.statusBar().showMessage(f"saved {path}", 6000)
        return True

    def toggle_recording(self) -> None:
        if self.recorder is not None:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(self, "Record GIF", f"{self.config.model}-{self.config.dataset}.gif",
                                              "GIF animations (*.gif)")
        if path:
            self.start_recording(path)

    def start_recording(self, path: str, every_steps: int | None = None) -> None:
        if every_steps is None:
            every_steps = 100 if MODELS.get(self.config.model).kinds & {"points"} else 10
        self.recorder = GifRecorder(path, every_steps=every_steps)
        self.worker.set_frame_every(every_steps)
        self.record_action.setText("Stop recording and save GIF")
        self.statusBar().showMessage(f"recording a frame every {every_steps} steps into {path}", 6000)

    def stop_recording(self) -> int:
        rec, self.recorder = self.recorder, None
        self.worker.set_frame_every(None)
        self.record_action.setText("Record GIF…")
        if rec is None:
            return 0
        try:
            n = rec.save()
        except GanplayError as exc:
            self.show_error("Cannot save GIF", str(exc))
            return 0
        self.statusBar().showMessage(f"saved {rec.path} ({n} frames)", 8000)
        return n

    # -- run files -------------------------------------------------------------------------------------
    def save_run_dialog(self) -> None:
        start = self.settings.value("last_run_dir", "") or ""
        name = f"{self.config.model}-{self.config.dataset}.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save run", f"{start}/{name}" if start else name,
                                              "ganplay runs (*.npz)")
        if path:
            self.save_run(path)

    def open_run_dialog(self) -> None:
        start = self.settings.value("last_run_dir", "") or ""
        path, _ = QFileDialog.getOpenFileName(self, "Open run", start, "ganplay runs (*.npz);;All files (*)")
        if path:
            self.open_run(path)

    def save_run(self, path: str) -> None:
        """Save the current run to ``path`` (done by the worker between chunks; training goes on)."""
        if not str(path).endswith(".npz"):
            path = f"{path}.npz"
        self.worker.save_run(str(path))

    def open_run(self, path: str) -> None:
        self.pause()
        self.worker.open_run(str(path), self.config.data_dir or None)

    def _on_saved(self, path: str) -> None:
        import os

        self.settings.setValue("last_run_dir", os.path.dirname(path))
        self.statusBar().showMessage(f"saved {path}", 8000)

    def _on_opened(self, config_json: str) -> None:
        self.config = Config.from_json(config_json)
        self._load_controls(self.config)
        self.rollback_action.setEnabled(False)

    def rollback(self) -> None:
        self.rollback_action.setEnabled(False)
        self.worker.rollback()

    def _slow_parts(self, snap) -> list:
        """The plots that change slowly, each as a call that redraws it from ``snap``."""
        parts = [lambda v=view: v.show_snapshot(snap) for view in self.curve_views]
        confusion = snap.extras.get("confusion")
        if confusion:
            parts.append(lambda: self.confusion_view.show_matrix(confusion, confusion["window"]))
        sgan = snap.extras.get("sgan")
        if sgan is not None:
            parts.append(lambda: self.sgan_panel.show_extras(sgan))
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
        self.sgan_panel.setVisible(snap.extras.get("sgan") is not None)
        # The strip's numbers: every frame when stepping, 4 times a second while playing.
        if self.explain_strip.isVisible() and (not self._running or now - self._strip_drawn_at >= 0.25):
            self.explain_strip.show_snapshot(snap)
            self._strip_drawn_at = now
        self._drawn = snap
        self._frames = [t for t in self._frames if now - t < 1.0] + [now]
        if self.recorder is not None and self.recorder.wants(snap.step):
            every = self.recorder.every
            self.recorder.add(snap.step, self.top_stack.currentWidget().grab().toImage())
            if self.recorder.every != every:  # frames thinned out: half as many from now on
                self.worker.set_frame_every(self.recorder.every)
        if not self._running or now - self._labels_drawn_at >= 1.0 / LABELS_HZ:
            self._show_labels(snap)
            self._labels_drawn_at = now
        self.snapshot_drawn.emit(snap.step)

    def _show_labels(self, snap) -> None:
        self.step_label.setText(f"step {snap.step:,}")
        summaries = [self.quality_view.summary]
        if snap.extras.get("sgan") is not None:
            summaries.insert(0, self.sgan_panel.accuracy_view.summary)
        self.quality_label.setText(" · ".join(x for x in summaries if x))
        self.rate_label.setText(f"{snap.steps_per_s:,.0f} steps/s · {len(self._frames)} fps")

    # -- persistence and shutdown --------------------------------------------------------------------
    def _restored_config(self, fallback: Config) -> Config:
        text = self.settings.value("config")
        if not text:
            return fallback
        try:
            return Config.from_dict(json.loads(text))
        except (GanplayError, ValueError, TypeError):
            return fallback

    def closeEvent(self, event) -> None:
        self.redraw_timer.stop()
        if self.recorder is not None:
            self.stop_recording()
        if self.abort_download is not None:
            self.abort_download()
        for box in (self.message_box, self.divergence_box):
            if box is not None:
                box.close()
        for compare in self.compare_windows:
            compare.close()
        self.settings.setValue("config", json.dumps(self.config.to_dict()))
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        for dock in self.docks.values():  # a floating dock is a window of its own: it goes too
            if dock.isFloating():
                dock.hide()
        # A step or chunk ends within ~0.1 s; a compile cannot be interrupted. Don't make the user
        # wait for it: the thread is told to stop and finishes in the background (run_gui exits
        # the process without waiting for it).
        if not self.worker_thread.stop(CLOSE_WAIT_MS):
            WorkerThread.orphans.add(self.worker_thread)
        # Drop queued worker signals now, while both ends still exist.
        QCoreApplication.sendPostedEvents()
        super().closeEvent(event)
