"""The control panel: model, data, training knobs and remedies, each widget keyed by config field.

It turns an edit into a new :class:`Config` and emits it; the window decides what to do with it
(send it to the worker, or refuse it and load the old one back).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ganplay.config import NOISES, SGAN_HEADS, Config
from ganplay.data import DATASETS
from ganplay.errors import GanplayError
from ganplay.losses import LOSSES
from ganplay.models import MODELS
from ganplay.ui.remedies_panel import PLAIN_ONLY, TOY_ONLY, build_remedies_group
from ganplay.ui.remedies_panel import TOOLTIPS as REMEDY_TOOLTIPS
from ganplay.ui.widgets import choice_box, float_box, int_box
from ganplay.ui.worker import SPEEDS


def speed_text(steps_per_s: float | None) -> str:
    """The speed box's label for a speed (None: as fast as it goes)."""
    if steps_per_s is None:
        return "max"
    return f"{steps_per_s:g} step/s" if steps_per_s == 1 else f"{steps_per_s:g} steps/s"

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
    "standardize": "Your own points (points-file): train on them centred on their mean and scaled to unit "
    "spread, and map the samples back, so the data's position and size do not change how the GAN "
    "trains. The views, files and metrics stay in the file's coordinates. Restarts the run.",
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
    "sgan_shift": "Semi-supervised D: move each real and labelled image by up to this many pixels "
    "at random before D sees it (a digit moved by two pixels is the same digit, so D learns more "
    "from the same 100 labels); G's samples are not moved. 0 = off. Restarts the run.",
    **REMEDY_TOOLTIPS,
}
SCROLL_BAR = 18  # px kept for the vertical scroll bar
SGAN_KEYS = ("labels_per_class", "label_fraction", "sgan_head", "adv_weight", "fm_weight", "sgan_shift")


def _group(title: str, controls: dict, rows) -> QGroupBox:
    """A titled form of the given (key, label) rows, whose widgets ``controls`` already holds."""
    group = QGroupBox(title)
    form = QFormLayout(group)
    for key, label in rows:
        form.addRow(label, controls[key])
    return group


class ControlPanel(QScrollArea):
    """Every setting of the run, in a scroll area (the remedies make it taller than a laptop screen).

    ``config_edited`` carries the config a user edit asks for; ``edit_refused`` a message when an
    edit cannot make a valid config (the panel shows the current config again).
    """

    config_edited = Signal(object)
    edit_refused = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("control_panel")
        self.config: Config | None = None
        self._loading = False
        c = self.controls = {}
        self.model_box = c["model"] = choice_box(MODELS.names())
        self.dataset_box = c["dataset"] = QComboBox()
        c["lr_g"] = float_box(1e-6, 1.0, 6)
        c["lr_d"] = float_box(1e-6, 1.0, 6)
        c["label_smoothing"] = float_box(0.0, 0.5, 3, step=0.05)
        c["batch_size"] = int_box(2, 8192)
        c["d_steps"] = int_box(1, 20)
        c["loss"] = choice_box(LOSSES.names())
        c["z_dim"] = int_box(1, 4096)
        c["noise"] = choice_box(NOISES)
        c["hidden"] = int_box(1, 4096)
        c["width"] = float_box(0.0625, 2.0, 4, step=0.125)
        c["seed"] = int_box(0, 2**31 - 1)
        c["standardize"] = QCheckBox("Standardise own points")
        c["labels_per_class"] = int_box(0, 100_000)
        c["label_fraction"] = float_box(0.001, 1.0, 3, step=0.05)
        c["sgan_head"] = choice_box(SGAN_HEADS)
        c["adv_weight"] = float_box(0.0, 100.0, 3, step=0.1)
        c["fm_weight"] = float_box(0.0, 100.0, 3, step=0.1)
        c["sgan_shift"] = int_box(0, 8)
        self.remedies_group, remedies = build_remedies_group()
        c.update(remedies)

        panel = QWidget()
        panel.setObjectName("controls")
        layout = QVBoxLayout(panel)
        what = _group("Model and data", c, (("model", "Model"), ("dataset", "Dataset")))
        what.layout().addRow("Data folder", self._data_dir_row())
        what.layout().addRow("", c["standardize"])
        layout.addWidget(what)
        layout.addWidget(_group("Training", c, (
            ("lr_g", "G learning rate"), ("lr_d", "D learning rate"), ("label_smoothing", "Label smoothing"),
            ("batch_size", "Batch size"), ("d_steps", "D steps per G step"), ("loss", "Loss"))))
        layout.addWidget(_group("Noise and network", c, (
            ("z_dim", "Noise size"), ("noise", "Noise"), ("hidden", "Hidden width"),
            ("width", "Channel width ×"), ("seed", "Seed"))))
        self.sgan_group = _group("Semi-supervised", c, (
            ("labels_per_class", "Labels per class"), ("label_fraction", "Labelled fraction"),
            ("sgan_head", "D head"), ("adv_weight", "G fake-is-real weight"),
            ("fm_weight", "G feature-matching weight"), ("sgan_shift", "Shift real images by (px)")))
        layout.addWidget(self.sgan_group)
        layout.addWidget(self.remedies_group)

        buttons = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.step_button = QPushButton("Step")
        self.reset_button = QPushButton("Reset")
        for b in (self.play_button, self.step_button, self.reset_button):
            b.setFocusPolicy(Qt.NoFocus)  # Space is Play/Pause for the window, not a button press
            buttons.addWidget(b)
        layout.addLayout(buttons)
        speed_row = QHBoxLayout()
        speed_row.addWidget(QLabel("Speed"))
        self.speed_box = QComboBox()
        self.speed_box.addItems([speed_text(v) for v in SPEEDS])
        self.speed_box.setFocusPolicy(Qt.NoFocus)
        self.speed_box.setToolTip("Slow motion for a lecture: at most this many training steps a second, "
                                  "each one drawn ([ slower, ] faster)")
        speed_row.addWidget(self.speed_box, 1)
        layout.addLayout(speed_row)
        layout.addStretch(1)

        for key, widget in c.items():
            widget.setToolTip(TOOLTIPS[key])
            widget.setObjectName(key)
            if isinstance(widget, QComboBox):
                widget.currentTextChanged.connect(lambda _t, k=key: self._on_changed(k))
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(lambda _on, k=key: self._on_changed(k))
            else:
                widget.valueChanged.connect(lambda _v, k=key: self._on_changed(k))

        for form in panel.findChildren(QFormLayout):  # narrow: a field goes under its label
            form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMinimumWidth(panel.minimumSizeHint().width() + SCROLL_BAR)

    def sizeHint(self):
        """As wide as the controls want, plus the scroll bar (the dock's default width)."""
        hint = super().sizeHint()
        hint.setWidth(self.widget().sizeHint().width() + SCROLL_BAR)
        return hint

    def _data_dir_row(self) -> QHBoxLayout:
        self.data_dir_edit = QLineEdit()
        self.data_dir_edit.setPlaceholderText("automatic (cache, $GANPLAY_DATA, system)")
        self.data_dir_edit.setToolTip(
            "Folder holding the dataset's files (IDX, .mat, or your images for image-folder). "
            "Empty: look in $GANPLAY_DATA, the user cache and system folders, or offer a download.")
        self.data_dir_edit.editingFinished.connect(self._on_data_dir_edited)
        browse = QPushButton("…")
        browse.setToolTip("Choose the data folder")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse_data_dir)
        row = QHBoxLayout()
        row.addWidget(self.data_dir_edit, 1)
        row.addWidget(browse)
        return row

    # -- config -> widgets -------------------------------------------------------------------------
    def load(self, config: Config) -> None:
        """Show ``config`` (no signals while filling); enable only what the model can use."""
        self.config = config
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
            for key in TOY_ONLY:  # the shape options each model builds (toy-mlp all, the DCGANs SN)
                self.controls[key].setEnabled(key in spec.d_options)
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

    # -- widgets -> config -------------------------------------------------------------------------
    def _on_changed(self, key: str) -> None:
        if self._loading or self.config is None:
            return
        try:
            new = self._edited(key)
        except GanplayError as exc:
            self.load(self.config)
            self.edit_refused.emit(str(exc))
            return
        self.config_edited.emit(new)

    def _edited(self, key: str) -> Config:
        """The current config with the edit of ``key`` applied (a new model starts from its defaults)."""
        if key == "model":
            model = self.model_box.currentText()
            dataset = self.config.dataset
            kinds = MODELS.get(model).kinds
            if DATASETS.get(dataset).kind not in kinds:
                dataset = next(d for d in DATASETS.names() if DATASETS.get(d).kind in kinds)
            return Config.for_model(model, dataset=dataset, seed=self.config.seed, data_dir=self.config.data_dir)
        w = self.controls[key]
        if isinstance(w, QComboBox):
            value = w.currentText()
        elif isinstance(w, QCheckBox):
            value = w.isChecked()
        else:
            value = w.value()
        return self.config.replace(**{key: value})

    def _browse_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.config.data_dir or "")
        if folder:
            self.data_dir_edit.setText(folder)
            self._on_data_dir_edited()

    def _on_data_dir_edited(self) -> None:
        text = self.data_dir_edit.text().strip()
        if self.config is not None and text != self.config.data_dir:
            self.config_edited.emit(self.config.replace(data_dir=text))
