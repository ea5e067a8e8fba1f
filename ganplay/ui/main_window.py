"""The main window: controls on the left, live views on the right, status bar below."""
from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ganplay.config import NOISES, SGAN_HEADS, Config
from ganplay.losses import LOSSES
from ganplay.presets import PRESETS
from ganplay.data import DATASETS
from ganplay.engine.train import describe_devices, run_devices
from ganplay.errors import GanplayError
from ganplay.models import MODELS
from ganplay.ui.download_dialog import dataset_missing, offer_download
from ganplay.ui.class_views import SemiSupervisedPanel
from ganplay.ui.image_views import ConfusionMatrixView, ImageGridView, accuracy_view
from ganplay.ui.recorder import GifRecorder
from ganplay.ui.remedies_panel import PLAIN_ONLY, TOY_ONLY, build_remedies_group, losses_help_html
from ganplay.ui.remedies_panel import TOOLTIPS as REMEDY_TOOLTIPS
from ganplay.ui.views import ClassHistogramView, QualityView, ScatterView, d_output_view, loss_view
from ganplay.ui.worker import TrainingWorker, WorkerThread

REDRAW_MS = 25  # 40 fps ceiling; the timer draws only when a new snapshot has arrived
CURVES_HZ = 8  # loss/accuracy/quality curves redraw rate while training runs
CLOSE_WAIT_MS = 1500  # how long closing waits for the training thread (a compile may take longer)

TOOLTIPS = {
    "model": "Which generator/discriminator pair to train.",
    "dataset": "The data the generator learns to imitate. Only datasets this model can train on are listed.",
    "lr_g": "Generator learning rate (Adam). Applies live, without restarting.",
    "lr_d": "Discriminator learning rate (Adam). Applies live, without restarting.",
    "label_smoothing": "One-sided label smoothing: D's targets for real samples become 1 − s. "
    "Softens an over-confident discriminator. Applies live.",
    "z_dim": "Noise size: dimensions of the generator's input z. Changing it restarts the run.",
    "noise": "Distribution of z: normal N(0, 1) or uniform U(−1, 1). Restarts the run.",
    "batch_size": "Samples per batch for both networks. Restarts the run.",
    "d_steps": "Discriminator updates per generator update. Restarts the run.",
    "hidden": "Width of the toy MLPs' two hidden layers. Restarts the run.",
    "loss": "The game's losses: ns (non-saturating), minimax, lsgan (least squares), hinge, wgan (a critic), "
    "rsgan and ragan (relativistic). Help ▸ Losses and penalties shows each formula. Restarts the run.",
    "seed": "Random seed: the same seed gives the same run. Restarts the run.",
    "width": "Channel-width multiplier for the DCGANs: 1.0 is the seed's exact network. The CPU "
    "default is the largest width whose step still feels interactive. Restarts the run.",
    "labels_per_class": "Semi-supervised GANs: labelled images per class (10 → 100 labels for digits), "
    "drawn once from the seed; 0 uses the labelled fraction instead. Restarts the run.",
    "label_fraction": "Semi-supervised GANs: the share of training images whose labels may be used "
    "(seed 003: 0.2), when labels per class is 0. Restarts the run.",
    "sgan_head": "Semi-supervised D's head: k+1 = K class logits plus a real/fake logit (seed 003); "
    "k = K logits only, D(x) = Z/(Z+1) with Z = Σ exp(logits) (Salimans et al. 2016). Restarts the run.",
    "adv_weight": "Semi-supervised G's loss: weight of the fake-is-real term. Restarts the run.",
    "fm_weight": "Semi-supervised G's loss: weight of feature matching (match the mean of D's "
    "penultimate features on real and generated images). Restarts the run.",
}
TOOLTIPS.update(REMEDY_TOOLTIPS)
SGAN_KEYS = ("labels_per_class", "label_fraction", "sgan_head", "adv_weight", "fm_weight")


class MainWindow(QMainWindow):
    snapshot_drawn = Signal(int)  # step of the snapshot just drawn (tests and scripted mode)
    offer_downloads = True  # ask to download missing datasets (tests switch this off)

    def __init__(self, config: Config, settings: QSettings | None = None, *, restore: bool = True):
        super().__init__()
        self.setWindowTitle("ganplay")
        self.settings = settings if settings is not None else QSettings("ganplay", "ganplay")
        if restore:
            config = self._restored_config(config)
        self.config = config
        self._latest = None
        self._drawn = None
        self._real_shown = None
        self._frames: list[float] = []
        self._running = False
        self.message_box: QMessageBox | None = None  # the latest error dialog (non-blocking)
        self.divergence_box: QMessageBox | None = None
        self.abort_download = None  # set while a download dialog runs; closing calls it
        self.recorder: GifRecorder | None = None
        self._curves_drawn_at = 0.0
        self._slow_turn = 0
        self._filling_classes = False  # the class picker is being refilled: ignore its signals

        self._build_controls()
        self._build_views()
        self._build_actions()
        self._build_status_bar()
        self._load_controls(config)
        if restore and self.settings.contains("geometry"):
            self.restoreGeometry(self.settings.value("geometry"))
        else:
            self.resize(1280, 800)

        self.worker = TrainingWorker(config)
        self.worker.snapshot_ready.connect(self._on_snapshot)
        self.worker.message.connect(self._on_message)
        self.worker.failed.connect(self._on_failed)
        self.worker.diverged.connect(self._on_diverged)
        self.worker.saved.connect(self._on_saved)
        self.worker.opened.connect(self._on_opened)
        self.worker.running_changed.connect(self._on_running_changed)
        self.worker_thread = WorkerThread(self.worker)
        self.worker_thread.start()

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()

    # -- construction ---------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.controls = {}
        panel = QWidget()
        panel.setObjectName("controls")
        layout = QVBoxLayout(panel)

        what = QGroupBox("Model and data")
        form = QFormLayout(what)
        self.model_box = QComboBox()
        self.model_box.addItems(MODELS.names())
        self.dataset_box = QComboBox()
        self.controls.update(model=self.model_box, dataset=self.dataset_box)
        form.addRow("Model", self.model_box)
        form.addRow("Dataset", self.dataset_box)
        self.data_dir_edit = QLineEdit()
        self.data_dir_edit.setPlaceholderText("automatic (cache, $GANPLAY_DATA, system)")
        self.data_dir_edit.setToolTip(
            "Folder holding the dataset's files (IDX, .mat, or your images for image-folder). "
            "Empty: look in $GANPLAY_DATA, the user cache and system folders, or offer a download.")
        browse = QPushButton("…")
        browse.setToolTip("Choose the data folder")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse_data_dir)
        self.data_dir_edit.editingFinished.connect(self._on_data_dir_edited)
        row = QHBoxLayout()
        row.addWidget(self.data_dir_edit, 1)
        row.addWidget(browse)
        form.addRow("Data folder", row)
        layout.addWidget(what)

        opt = QGroupBox("Training")
        form = QFormLayout(opt)
        self.controls["lr_g"] = self._float_box(1e-6, 1.0, 6)
        self.controls["lr_d"] = self._float_box(1e-6, 1.0, 6)
        self.controls["label_smoothing"] = self._float_box(0.0, 0.5, 3, step=0.05)
        self.controls["batch_size"] = self._int_box(2, 8192)
        self.controls["d_steps"] = self._int_box(1, 20)
        self.controls["loss"] = QComboBox()
        self.controls["loss"].addItems(LOSSES.names())
        for key, label in (("lr_g", "G learning rate"), ("lr_d", "D learning rate"),
                           ("label_smoothing", "Label smoothing"), ("batch_size", "Batch size"),
                           ("d_steps", "D steps per G step"), ("loss", "Loss")):
            form.addRow(label, self.controls[key])
        layout.addWidget(opt)

        net = QGroupBox("Noise and network")
        form = QFormLayout(net)
        self.controls["z_dim"] = self._int_box(1, 4096)
        self.controls["noise"] = QComboBox()
        self.controls["noise"].addItems(NOISES)
        self.controls["hidden"] = self._int_box(1, 4096)
        self.controls["width"] = self._float_box(0.0625, 2.0, 4, step=0.125)
        self.controls["seed"] = self._int_box(0, 2**31 - 1)
        for key, label in (("z_dim", "Noise size"), ("noise", "Noise"), ("hidden", "Hidden width"),
                           ("width", "Channel width ×"), ("seed", "Seed")):
            form.addRow(label, self.controls[key])
        layout.addWidget(net)

        self.sgan_group = QGroupBox("Semi-supervised")
        form = QFormLayout(self.sgan_group)
        self.controls["labels_per_class"] = self._int_box(0, 100_000)
        self.controls["label_fraction"] = self._float_box(0.001, 1.0, 3, step=0.05)
        self.controls["sgan_head"] = QComboBox()
        self.controls["sgan_head"].addItems(SGAN_HEADS)
        self.controls["adv_weight"] = self._float_box(0.0, 100.0, 3, step=0.1)
        self.controls["fm_weight"] = self._float_box(0.0, 100.0, 3, step=0.1)
        for key, label in (("labels_per_class", "Labels per class"), ("label_fraction", "Labelled fraction"),
                           ("sgan_head", "D head"), ("adv_weight", "G fake-is-real weight"),
                           ("fm_weight", "G feature-matching weight")):
            form.addRow(label, self.controls[key])
        layout.addWidget(self.sgan_group)

        self.remedies_group, remedies = build_remedies_group()
        self.controls.update(remedies)
        layout.addWidget(self.remedies_group)

        buttons = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.step_button = QPushButton("Step")
        self.reset_button = QPushButton("Reset")
        for b in (self.play_button, self.step_button, self.reset_button):
            b.setFocusPolicy(Qt.NoFocus)
            buttons.addWidget(b)
        layout.addLayout(buttons)
        layout.addStretch(1)

        for key, widget in self.controls.items():
            widget.setToolTip(TOOLTIPS[key])
            widget.setObjectName(key)
            if isinstance(widget, QComboBox):
                widget.currentTextChanged.connect(lambda _t, k=key: self._on_control_changed(k))
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(lambda _on, k=key: self._on_control_changed(k))
            else:
                widget.valueChanged.connect(lambda _v, k=key: self._on_control_changed(k))
        self.play_button.clicked.connect(self.toggle_play)
        self.step_button.clicked.connect(self.step_once)
        self.reset_button.clicked.connect(self.reset)
        self._control_panel = panel

    @staticmethod
    def _float_box(lo, hi, decimals, step=None) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(decimals)
        box.setKeyboardTracking(False)  # apply on Enter / focus-out / arrows, not per keystroke
        if step is None:
            box.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        else:
            box.setSingleStep(step)
        return box

    @staticmethod
    def _int_box(lo, hi) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setKeyboardTracking(False)
        box.setGroupSeparatorShown(False)
        return box

    def _build_views(self) -> None:
        self.scatter_view = ScatterView()
        self.overlay_boxes = {}
        scatter_panel = QWidget()
        scatter_layout = QVBoxLayout(scatter_panel)
        scatter_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        for key, label, tip in (
            ("field", "Decision field", "D's probability that a point is real, as a heat map under the points"),
            ("arrows", "Gradients", "The direction G's loss pushes each generated point (arrow length is relative)"),
            ("manifold", "Manifold", "The image under G of a regular grid of noise values: how G warps noise space"),
            ("interpolation", "Interpolation", "G along a path between two fixed noise vectors"),
        ):
            box = QCheckBox(label)
            box.setToolTip(tip)
            box.toggled.connect(lambda on, k=key: self.set_overlay(k, on))
            self.overlay_boxes[key] = box
            bar.addWidget(box)
        self.noise_button = QPushButton("New noise")
        self.noise_button.setToolTip("Draw a new fixed noise for the displayed samples (N)")
        self.noise_button.clicked.connect(self.refresh_noise)
        bar.addWidget(self.noise_button)
        bar.addStretch(1)
        self.draw_box = QCheckBox("Draw data")
        self.draw_box.setToolTip("Paint your own 2-D data with the mouse (drag), then press Train on it")
        self.draw_box.toggled.connect(self.set_drawing)
        self.use_drawn_button = QPushButton("Train on drawn")
        self.use_drawn_button.setToolTip("Save the drawn points as a CSV and train on them")
        self.use_drawn_button.clicked.connect(self.train_on_drawn)
        self.use_drawn_button.setEnabled(False)
        self.clear_drawn_button = QPushButton("Clear")
        self.clear_drawn_button.setToolTip("Remove the drawn points")
        self.clear_drawn_button.clicked.connect(self.scatter_view.clear_drawn)
        self.scatter_view.points_drawn.connect(self._on_points_drawn)
        for wdg in (self.draw_box, self.use_drawn_button, self.clear_drawn_button):
            bar.addWidget(wdg)
        scatter_layout.addLayout(bar)
        scatter_layout.addWidget(self.scatter_view, 1)
        self._view_timer = QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(120)
        self._view_timer.timeout.connect(self._send_view)
        self.scatter_view.sigRangeChanged.connect(lambda *_: self._view_timer.start())
        self.fake_grid = ImageGridView("Generated (fixed noise)", show_scores=True)
        self.real_grid = ImageGridView("Real")
        self.grid_size_box = QComboBox()
        self.grid_size_box.addItems(["4×4", "5×5", "8×8"])
        self.grid_size_box.setCurrentText("5×5")
        self.grid_size_box.setToolTip("How many generated and real images to show")
        self.grid_size_box.currentTextChanged.connect(self._on_grid_size)
        self.scores_box = QCheckBox("D's score under each image")
        self.scores_box.setChecked(True)
        self.scores_box.setToolTip("Show D's probability that each generated image is real")
        self.scores_box.toggled.connect(self._on_scores_toggled)
        image_panel = QWidget()
        image_layout = QVBoxLayout(image_panel)
        image_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Grid"))
        bar.addWidget(self.grid_size_box)
        bar.addWidget(self.scores_box)
        bar.addStretch(1)
        image_layout.addLayout(bar)
        grids = QSplitter(Qt.Horizontal)
        grids.addWidget(self.fake_grid)
        grids.addWidget(self.real_grid)
        lower = QSplitter(Qt.Horizontal)
        self.interp_view = ImageGridView("Interpolation between two noise vectors", strip=True)
        self.interp_view.setMaximumHeight(140)
        self.interp_view.setToolTip("G along a spherical path between two fixed noise vectors (tick Interpolation)")
        self.class_view = ClassHistogramView()
        lower.addWidget(self.interp_view)
        lower.addWidget(self.class_view)
        self.sgan_panel = SemiSupervisedPanel()
        self.sgan_panel.baseline_requested.connect(self.start_baseline)
        self.sgan_panel.setVisible(False)
        # One vertical splitter: the grids keep most of the height, the rest can be dragged.
        stack = QSplitter(Qt.Vertical)
        for widget, stretch in ((grids, 3), (lower, 1), (self.sgan_panel, 2)):
            stack.addWidget(widget)
            stack.setStretchFactor(stack.count() - 1, stretch)
        stack.setSizes([450, 150, 300])
        image_layout.addWidget(stack, 1)
        self.interp_view.setVisible(False)
        image_bar_interp = QCheckBox("Interpolation")
        image_bar_interp.setToolTip(self.overlay_boxes["interpolation"].toolTip())
        image_bar_interp.toggled.connect(self.overlay_boxes["interpolation"].setChecked)
        self.overlay_boxes["interpolation"].toggled.connect(image_bar_interp.setChecked)
        bar.addWidget(image_bar_interp)
        self.class_label = QLabel("Class")
        self.class_box = QComboBox()
        self.class_box.setObjectName("draw_class")
        self.class_box.setToolTip("Conditional GANs: the class G is asked to draw; all classes shows one row per class")
        self.class_box.currentIndexChanged.connect(self._on_draw_class)
        bar.addWidget(self.class_label)
        bar.addWidget(self.class_box)
        self.class_label.setVisible(False)
        self.class_box.setVisible(False)
        noise2 = QPushButton("New noise")
        noise2.setToolTip(self.noise_button.toolTip())
        noise2.clicked.connect(self.refresh_noise)
        bar.addWidget(noise2)
        self.top_stack = QStackedWidget()
        self.top_stack.addWidget(scatter_panel)
        self.top_stack.addWidget(image_panel)

        self.loss_view = loss_view()
        self.d_view = d_output_view()
        self.acc_view = accuracy_view()
        self.confusion_view = ConfusionMatrixView()
        self.quality_view = QualityView()
        bottom = QSplitter(Qt.Horizontal)
        for v in (self.loss_view, self.d_view, self.acc_view, self.quality_view, self.confusion_view):
            bottom.addWidget(v)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.top_stack)
        right.addWidget(bottom)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        main = QSplitter(Qt.Horizontal)
        scroll = QScrollArea()  # the remedies make the panel taller than a laptop screen
        scroll.setWidget(self._control_panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self._control_panel.sizeHint().width() + 18)
        main.addWidget(scroll)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setSizes([300, 980])
        self.setCentralWidget(main)
        self.curve_views = [self.loss_view, self.d_view, self.acc_view, self.quality_view]

    def _build_actions(self) -> None:
        def action(text, shortcut, slot, tip):
            a = QAction(text, self)
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.WindowShortcut)
            a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.play_action = action("Play/Pause", Qt.Key_Space, self.toggle_play, "Start or pause training")
        self.step_action = action("Step", "S", self.step_once, "Run one training step (D then G)")
        self.step_d_action = action("Step D only", "D", self.step_d, "One discriminator update; the step count stays")
        self.step_g_action = action("Step G only", "G", self.step_g, "One generator update")
        self.noise_action = action("New noise", "N", self.refresh_noise, "New fixed noise for the displayed samples")
        self.reset_action = action("Reset", "Ctrl+R", self.reset, "Restart the run from step 0")
        self.quit_action = action("Quit", "Ctrl+Q", self.close, "Close ganplay")
        self.rollback_action = action("Roll back", "Ctrl+Z", self.rollback,
                                      "Return to the last good state kept before training diverged")
        self.rollback_action.setEnabled(False)
        self.baseline_action = action("Run baseline", "B", self.start_baseline,
                                      "Semi-supervised GANs: train the same D on the same labels, supervised "
                                      "only, and plot its test accuracy beside the GAN's")
        run_menu = self.menuBar().addMenu("&Run")
        for a in (self.play_action, self.step_action, self.step_d_action, self.step_g_action,
                  self.reset_action, self.rollback_action, self.noise_action, self.baseline_action):
            run_menu.addAction(a)
        self.save_action = action("Save run…", QKeySequence.Save, self.save_run_dialog,
                                  "Save the whole run (networks, optimizers, step, history) to a file")
        self.open_action = action("Open run…", QKeySequence.Open, self.open_run_dialog,
                                  "Continue a run saved earlier")
        self.import_action = action("Import 2-D points (CSV)…", "Ctrl+I", self.import_points_dialog,
                                    "Train on your own x,y points from a CSV file")
        self.export_png_action = action("Export view as PNG…", "Ctrl+E", self.export_png_dialog,
                                        "Save the top view (scatter or image grids) as a PNG")
        self.export_window_action = action("Export window as PNG…", "Ctrl+Shift+E",
                                           lambda: self.export_png_dialog(whole=True), "Save the whole window as a PNG")
        self.export_csv_action = action("Export metrics CSV…", "Ctrl+Shift+C", self.export_csv_dialog,
                                        "Save the loss/accuracy/quality history shown in the plots")
        self.record_action = action("Record GIF…", "Ctrl+Shift+G", self.toggle_recording,
                                    "Record the top view every N steps into an animated GIF; again to stop and save")
        file_menu = self.menuBar().addMenu("&File")
        for a in (self.open_action, self.save_action, self.import_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        for a in (self.export_png_action, self.export_window_action, self.export_csv_action, self.record_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        presets_menu = self.menuBar().addMenu("&Presets")
        self.preset_actions = {}
        for name in PRESETS:
            preset = PRESETS.get(name)
            a = QAction(name, self)
            a.setToolTip(preset.shows)
            a.setStatusTip(preset.shows)
            a.triggered.connect(lambda _checked=False, n=name: self.apply_preset(n))
            presets_menu.addAction(a)
            self.preset_actions[name] = a
        presets_menu.setToolTipsVisible(True)
        help_menu = self.menuBar().addMenu("&Help")
        self.losses_help_action = QAction("Losses and penalties", self)
        self.losses_help_action.setShortcut(QKeySequence.HelpContents)
        self.losses_help_action.triggered.connect(self.show_losses_help)
        help_menu.addAction(self.losses_help_action)
        self.play_button.setToolTip(self.play_action.toolTip())
        self.step_button.setToolTip(self.step_action.toolTip())
        self.reset_button.setToolTip(self.reset_action.toolTip())

    def _build_status_bar(self) -> None:
        self.step_label = QLabel("step 0")
        self.quality_label = QLabel("")
        self.quality_label.setToolTip("The latest quality evaluation (see the Quality plot)")
        self.rate_label = QLabel("")
        self.device_label = QLabel(f"device: {describe_devices(run_devices(self.config))}")
        for w in (self.step_label, self.quality_label, self.rate_label, self.device_label):
            self.statusBar().addPermanentWidget(w)

    # -- controls <-> config ---------------------------------------------------------------------------
    def _load_controls(self, config: Config) -> None:
        self._loading = True
        try:
            self.model_box.setCurrentText(config.model)
            self._fill_datasets(config.model)
            self.dataset_box.setCurrentText(config.dataset)
            for key, w in self.controls.items():
                if key in ("model", "dataset"):
                    continue
                value = getattr(config, key)
                if isinstance(w, QComboBox):
                    w.setCurrentText(value)
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                else:
                    w.setValue(value)
            spec = MODELS.get(config.model)
            self.controls["hidden"].setEnabled("points" in spec.kinds)
            self.controls["width"].setEnabled(spec.uses_width)
            self.sgan_group.setVisible(spec.objective == "sgan")
            for key in PLAIN_ONLY:  # the semi-supervised and conditional steps do not compose them
                self.controls[key].setEnabled(spec.objective == "gan")
            for key in TOY_ONLY:
                self.controls[key].setEnabled("points" in spec.kinds)
            self.controls["ema_view"].setEnabled(spec.objective == "gan" and config.ema_decay > 0)
            self.data_dir_edit.setText(config.data_dir)
        finally:
            self._loading = False

    def _fill_datasets(self, model: str) -> None:
        kinds = MODELS.get(model).kinds
        names = [d for d in DATASETS.names() if DATASETS.get(d).kind in kinds]
        self.dataset_box.blockSignals(True)
        self.dataset_box.clear()
        self.dataset_box.addItems(names)
        for i, name in enumerate(names):
            self.dataset_box.setItemData(i, DATASETS.get(name).description, Qt.ToolTipRole)
        self.dataset_box.blockSignals(False)

    def _browse_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.config.data_dir or "")
        if folder:
            self.data_dir_edit.setText(folder)
            self._on_data_dir_edited()

    def _on_data_dir_edited(self) -> None:
        text = self.data_dir_edit.text().strip()
        if text != self.config.data_dir:
            self.apply_config(self.config.replace(data_dir=text))

    def _on_control_changed(self, key: str) -> None:
        if self._loading:
            return
        try:
            if key == "model":
                model = self.model_box.currentText()
                dataset = self.config.dataset
                kinds = MODELS.get(model).kinds
                if DATASETS.get(dataset).kind not in kinds:
                    dataset = next(d for d in DATASETS.names() if DATASETS.get(d).kind in kinds)
                new = Config.for_model(model, dataset=dataset, seed=self.config.seed,
                                       data_dir=self.config.data_dir)
                self._load_controls(new)
            else:
                w = self.controls[key]
                if isinstance(w, QComboBox):
                    value = w.currentText()
                elif isinstance(w, QCheckBox):
                    value = w.isChecked()
                else:
                    value = w.value()
                new = self.config.replace(**{key: value})
        except GanplayError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            self._load_controls(self.config)
            return
        self.apply_config(new)

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

    # -- commands --------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self._running:
            self.worker.pause()
        else:
            self.worker.play()

    def play(self) -> None:
        self.worker.play()

    def pause(self) -> None:
        self.worker.pause()

    def step_once(self) -> None:
        self.worker.step(1)

    def reset(self) -> None:
        self.rollback_action.setEnabled(False)
        self.worker.reset()

    # -- worker signals -------------------------------------------------------------------------------
    def _on_snapshot(self, _step: int) -> None:
        self._latest = self.worker.latest_snapshot()
        self._redraw()  # at once: waiting for the timer could let the next snapshot replace it

    def _on_grid_size(self, text: str) -> None:
        n = int(text.split("×")[0])
        for grid in (self.fake_grid, self.real_grid):
            grid.set_grid_size(n)
        self._real_shown = None
        self._drawn = None  # redraw the current snapshot at the new size

    def _on_scores_toggled(self, on: bool) -> None:
        self.fake_grid.show_scores = on
        self.fake_grid.set_grid_size(self.fake_grid.n)
        self._drawn = None

    def _on_message(self, message: str) -> None:
        self.statusBar().showMessage(message, 5000)

    def _on_running_changed(self, running: bool) -> None:
        self._running = running
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
        setattr(self.scatter_view, {"field": "show_field", "arrows": "show_arrows", "manifold": "show_manifold",
                                    "interpolation": "show_path"}[key], on)
        if key == "interpolation":
            self.interp_view.setVisible(on)
        if self.overlay_boxes[key].isChecked() != on:
            self.overlay_boxes[key].setChecked(on)
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

    def _on_draw_class(self, index: int) -> None:
        if self._filling_classes or index < 0:
            return
        self.worker.set_draw_class(None if index == 0 else index - 1)

    def _show_class_picker(self, n_classes: int) -> None:
        """Fill the class picker for a conditional model (hidden for the others)."""
        shown = n_classes > 0
        self.class_label.setVisible(shown)
        self.class_box.setVisible(shown)
        if not shown or self.class_box.count() == n_classes + 1:
            return
        self._filling_classes = True
        try:
            self.class_box.clear()
            self.class_box.addItem("all (a row each)")
            self.class_box.addItems([str(c) for c in range(n_classes)])
        finally:
            self._filling_classes = False

    # -- user data ---------------------------------------------------------------------------------------
    def set_drawing(self, on: bool) -> None:
        if on:
            self.pause()
        self.scatter_view.set_drawing(on)
        if self.draw_box.isChecked() != on:
            self.draw_box.setChecked(on)
        self.statusBar().showMessage(
            "draw mode: drag on the plot to paint points; then press Train on drawn" if on else "", 8000)

    def _on_points_drawn(self, n: int) -> None:
        self.use_drawn_button.setEnabled(n >= 2)
        self.use_drawn_button.setText(f"Train on drawn ({n})" if n else "Train on drawn")

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

    def redraw(self) -> None:
        """Draw the newest snapshot again, completely, even if it is already on screen."""
        self._drawn = None
        self._redraw()

    def _redraw(self) -> None:
        snap = self._latest
        if snap is None or snap is self._drawn:
            return
        if snap.kind == "points":
            self.top_stack.setCurrentIndex(0)
            self.scatter_view.show_snapshot(snap)
        else:
            self.top_stack.setCurrentIndex(1)
            rows = snap.extras.get("class_rows") or 0
            cols = len(snap.generated) // rows if rows else None
            # A class grid's tiles are too small for a score under each: scores with one class.
            scores = None if rows else snap.extras.get("d_scores")
            self.fake_grid.show_images(snap.generated, scores, cols=cols)
            self._show_class_picker(snap.extras.get("n_classes", 0))
            if self._real_shown is not snap.real:
                self.real_grid.show_images(snap.real)
                self._real_shown = snap.real
            hist = snap.extras.get("class_hist")
            if hist is not None:
                self.class_view.show_hist(hist)
            interp = snap.extras.get("interpolation")
            if interp is not None and self.interp_view.isVisible() and np.ndim(interp) == 4:
                self.interp_view.show_images(interp)
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
        self._drawn = snap
        self._frames = [t for t in self._frames if now - t < 1.0] + [now]
        if self.recorder is not None and self.recorder.wants(snap.step):
            every = self.recorder.every
            self.recorder.add(snap.step, self.top_stack.currentWidget().grab().toImage())
            if self.recorder.every != every:  # frames thinned out: half as many from now on
                self.worker.set_frame_every(self.recorder.every)
        self.step_label.setText(f"step {snap.step:,}")
        summaries = [self.quality_view.summary]
        if snap.extras.get("sgan") is not None:
            summaries.insert(0, self.sgan_panel.accuracy_view.summary)
        self.quality_label.setText(" · ".join(x for x in summaries if x))
        self.rate_label.setText(f"{snap.steps_per_s:,.0f} steps/s · {len(self._frames)} fps")
        self.snapshot_drawn.emit(snap.step)

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
        self.settings.setValue("config", json.dumps(self.config.to_dict()))
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        # A step or chunk ends within ~0.1 s; a compile cannot be interrupted. Don't make the user
        # wait for it: the thread is told to stop and finishes in the background (run_gui exits
        # the process without waiting for it).
        if not self.worker_thread.stop(CLOSE_WAIT_MS):
            WorkerThread.orphans.add(self.worker_thread)
        # Drop queued worker signals now, while both ends still exist.
        QCoreApplication.sendPostedEvents()
        super().closeEvent(event)
