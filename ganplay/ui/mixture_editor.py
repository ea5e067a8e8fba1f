"""The gmm2 mixture editor: one table row per Gaussian component (weight, mean, variances).

Seed 002 invites users to make their own distribution: edit the rows, press Apply, and the run
restarts on the new mixture. The table is built from a Config's ``gmm_*`` fields and validated by
Config itself, so the rules (and their messages) are the same as on the command line.
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ganplay.config import Config
from ganplay.errors import ConfigError
from ganplay.models import MODELS

COLUMNS = ("weight", "mean x", "mean y", "var x", "var y")
COLUMN_TIPS = (
    "How often samples come from this component (relative: weights need not sum to 1).",
    "The component's centre, x.", "The component's centre, y.",
    "The component's variance along x (positive; 0.1 is seed 002's).",
    "The component's variance along y (positive).",
)
MAX_COMPONENTS = 64  # Config's limit
BAD_CELL = QColor(255, 205, 205)
DEFAULTS = Config()  # seed 002's two components


class MixtureEditor(QWidget):
    """``set_config`` fills the table; Apply emits ``config_changed`` with a validated Config (the
    run's config with the new mixture, dataset gmm2), or shows what is wrong and emits nothing."""

    config_changed = Signal(object)  # Config

    def __init__(self, config: Config | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._config = config or Config()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for i, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setToolTip("One row per Gaussian component of the gmm2 data. Edit a cell, then Apply.")
        self.table.itemChanged.connect(self._on_edited)

        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a component next to the last one (Ctrl+=)")
        self.add_button.setShortcut(QKeySequence("Ctrl+="))
        self.add_button.clicked.connect(self.add_component)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected components, or the last one (Ctrl+-)")
        self.remove_button.setShortcut(QKeySequence("Ctrl+-"))
        self.remove_button.clicked.connect(self.remove_components)
        self.defaults_button = QPushButton("Seed 002's")
        self.defaults_button.setToolTip("Back to seed 002's mixture: two equal components at (0, 0) and (1, 1)")
        self.defaults_button.clicked.connect(lambda: self._fill(DEFAULTS))
        self.apply_button = QPushButton("Apply (restarts)")
        self.apply_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.apply_button.clicked.connect(self.apply)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.defaults_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.apply_button)  # a row of its own: its text grows when it switches data
        layout.addWidget(self.message)
        self.set_config(self._config)

    # -- model --------------------------------------------------------------------------------
    def set_config(self, config: Config) -> None:
        """Show ``config``'s mixture (the run's; unapplied edits are dropped)."""
        self._config = config
        self._fill(config)
        other = config.dataset != "gmm2"
        points = "points" in MODELS.get(config.model).kinds
        self.apply_button.setEnabled(points)
        self.apply_button.setText("Apply (switches to gmm2, restarts)" if other else "Apply (restarts)")
        if not points:
            tip = f"The mixture is 2-D data; {config.model} draws images. Pick a toy model (toy-mlp) to use it."
        else:
            tip = ("The mixture is gmm2's data: applying it switches the dataset to gmm2 and " if other
                   else "Use this mixture: ") + "the run restarts from step 0 (Ctrl+Return)"
        self.apply_button.setToolTip(tip)

    def _fill(self, config: Config) -> None:
        rows = [(w, *m, *c) for w, m, c in zip(config.gmm_weights, config.gmm_means, config.gmm_cov)]
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for row in rows:
            self._append(row)
        self.table.blockSignals(False)
        self._update_buttons()
        self.message.clear()

    def _append(self, values) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, v in enumerate(values):
            item = QTableWidgetItem(f"{v:g}")
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(r, c, item)

    def add_component(self) -> None:
        """A new row beside the last component (so it shows as a new mode), with its weight."""
        if self.table.rowCount() >= MAX_COMPONENTS:
            return
        last = self._row_values(self.table.rowCount() - 1) if self.table.rowCount() else None
        if last is None or any(v is None for v in last):
            last = (0.5, -1.0, 0.0, 0.1, 0.1)
        self.table.blockSignals(True)
        self._append((last[0], last[1] + 1.0, last[2], last[3], last[4]))
        self.table.blockSignals(False)
        self._update_buttons()

    def remove_components(self) -> None:
        """Remove the selected rows (or the last); at least one component stays."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True) or [self.table.rowCount() - 1]
        for r in rows[: self.table.rowCount() - 1]:
            self.table.removeRow(r)
        self._update_buttons()

    def _update_buttons(self) -> None:
        n = self.table.rowCount()
        self.add_button.setEnabled(n < MAX_COMPONENTS)
        self.remove_button.setEnabled(n > 1)

    # -- validation ---------------------------------------------------------------------------
    def _row_values(self, r: int) -> list[float | None]:
        out = []
        for c in range(len(COLUMNS)):
            item = self.table.item(r, c)
            try:
                v = float(item.text().strip().replace(",", ".")) if item is not None else None
            except ValueError:
                v = None
            out.append(v if v is not None and math.isfinite(v) else None)
        return out

    def edited_config(self) -> Config:
        """The run's config with the table's mixture (dataset gmm2); ConfigError says what is wrong."""
        weights, means, cov, bad = [], [], [], []
        for r in range(self.table.rowCount()):
            values = self._row_values(r)
            unreadable = [(r, c) for c, v in enumerate(values) if v is None]
            if unreadable:
                bad += unreadable
                continue
            w, mx, my, vx, vy = values
            bad += [(r, c) for c, v in ((0, w), (3, vx), (4, vy)) if (v < 0 if c == 0 else v <= 0)]
            weights.append(w)
            means.append((mx, my))
            cov.append((vx, vy))
        self._mark(bad)
        if bad:
            r, c = bad[0]
            item = self.table.item(r, c)
            text = item.text() if item is not None else ""
            rule = {0: "a number ≥ 0", 3: "a number > 0", 4: "a number > 0"}.get(c, "a number")
            raise ConfigError(f"component {r + 1}, {COLUMNS[c]}: {text!r} is not allowed; enter {rule}")
        return self._config.replace(dataset="gmm2", gmm_weights=tuple(weights), gmm_means=tuple(means),
                                    gmm_cov=tuple(cov))

    def apply(self) -> bool:
        """Validate and emit ``config_changed``; True when it was emitted."""
        try:
            config = self.edited_config()
        except ConfigError as exc:
            self.message.setText(str(exc))
            return False
        self.message.clear()
        self._config = config
        self.config_changed.emit(config)
        return True

    def _mark(self, bad) -> None:
        bad = set(bad)
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            for c in range(len(COLUMNS)):
                item = self.table.item(r, c)
                if item is not None:
                    item.setData(Qt.BackgroundRole, BAD_CELL if (r, c) in bad else None)
        self.table.blockSignals(False)

    def _on_edited(self, _item) -> None:
        self.message.clear()
