"""The main window: it assembles the panels (controls, the 2-D or image view, the metric docks),
routes the worker's snapshots to them, and turns the user's commands into worker calls."""
from __future__ import annotations

import dataclasses
import json

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from ganplay.config import Config
from ganplay.engine.train import describe_devices, run_devices
from ganplay.errors import GanplayError
from ganplay.models import MODELS
from ganplay.presets import PRESETS
from ganplay.ui.download_dialog import dataset_missing, offer_download
from ganplay.ui.errors import DialogErrors, ErrorPresenter
from ganplay.ui.explain_strip import ExplainStrip
from ganplay.ui.latent_window import install_latent_dock
from ganplay.ui.mixture_editor import MixtureEditor
from ganplay.ui.panels.actions import WindowState, apply_enablement, install_actions
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
from ganplay.ui.timeline import Timeline
from ganplay.ui.window_commands import ViewCommands
from ganplay.ui.window_dialogs import WindowDialogs
from ganplay.ui.window_drawing import SnapshotDrawing
from ganplay.ui.window_files import FileCommands
from ganplay.ui.window_points import UserPoints
from ganplay.ui.worker import SPEEDS, TrainingWorker, WorkerThread  # noqa: F401 (SPEEDS: re-exported)

REDRAW_MS = 25  # 40 fps ceiling; the timer draws only when a new snapshot has arrived
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


class MainWindow(FileCommands, UserPoints, WindowDialogs, ViewCommands, SnapshotDrawing, PlaybackCommands,
                 QMainWindow):
    """The ganplay window. Panels: ``control_panel``, ``toy_panel`` and ``image_panel`` (in the
    central ``top_stack``), and the metric docks in ``docks`` (by objectName). More docks (an
    explanation strip, say) go in with :meth:`add_dock` while the window is built, before the
    saved layout is restored."""

    snapshot_drawn = Signal(int)  # step of the snapshot just drawn (tests and scripted mode)
    offer_downloads = True  # ask to download missing datasets (tests switch this off)

    def __init__(self, config: Config, settings: QSettings | None = None, *, restore: bool = True,
                 warm_up: bool = False, start_worker: bool = True, errors: ErrorPresenter | None = None):
        super().__init__()
        self.setWindowTitle("ganplay")
        self.settings = settings if settings is not None else QSettings("ganplay", "ganplay")
        self.errors = errors if errors is not None else DialogErrors()  # how failures are told
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
        self.gif_recording = None  # a GIF being recorded (window_files.GifRecording)
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
        self.state = WindowState()  # what the actions' rules read; changed with ``set_state``
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
        self.timeline = Timeline(self)  # the bar under the main view: scrub, replay, export

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()
        if start_worker:
            self.start_worker()

    def start_worker(self) -> None:
        """Start the training thread (once). A caller that listens to the worker's signals (the
        scripted run) connects first: a run that fails at once fails before a later connection."""
        if not self.worker_thread.is_running():
            self.worker_thread.start()

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
        self.sampler_label = QLabel("")
        self.sampler_label.setToolTip("The share of the shown generated samples the sampler (Remedies ▸ "
                                      "Sampler) accepted: DRS kept, MH moved to")
        self.sampler_label.setVisible(False)
        self.device_label = QLabel(f"device: {describe_devices(run_devices(self.config))}")
        for w in (self.step_label, self.quality_label, self.sampler_label, self.rate_label, self.device_label):
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
            if self.offer_downloads:  # the user declined the download offer: a line is enough
                self.statusBar().showMessage(missing.splitlines()[0], 15000)
            else:
                self.report_error("Dataset not found", missing)
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

    # -- commands (play, pause and step: PlaybackCommands) ---------------------------------------------
    def set_state(self, **changes) -> None:
        """Change the window's state (``WindowState``'s fields) and apply the actions' rules."""
        state = dataclasses.replace(self.state, **changes)
        if state != self.state:
            self.state = state
            apply_enablement(self, state)

    # -- worker signals -------------------------------------------------------------------------------
    def _on_message(self, message: str) -> None:
        self.statusBar().showMessage(message, 5000)

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
        self._played = self._played or running
        self.set_state(running=running)
        self.play_button.setText("Pause" if running else "Play")
        if not running:  # draw the final state completely, curves included
            self._curves_drawn_at = 0.0
            self._drawn = None

    # -- views and latent exploration -----------------------------------------------------------------
    # -- user data ---------------------------------------------------------------------------------------
    # -- exports -----------------------------------------------------------------------------------------
    # -- run files -------------------------------------------------------------------------------------
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
        if self.gif_recording is not None:
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
