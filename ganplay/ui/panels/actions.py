"""The window's actions and menus as data: one row per action (name, text, shortcut, handler, tip,
and when it is enabled).

``install_actions`` turns the table into ``QAction``s on the window (``window.<name>_action``) and
the menus into a menu bar; the View menu's dock switches are added by the window as docks come.
An action's ``enabled_when`` is a rule over the window's :class:`WindowState`; ``apply_enablement``
applies every rule, and the window calls it (``MainWindow.set_state``) whenever that state changes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from ganplay.presets import PRESETS


@dataclass(frozen=True)
class WindowState:
    """What decides which of the window's actions can be used."""

    running: bool = False  # training is playing
    has_run: bool = False  # a run is loaded: its first snapshot has arrived
    diverged: bool = False  # training diverged and was not rolled back or reset yet
    semi_supervised: bool = False  # the run's D is also a classifier (it has a baseline to run)


# The rules the worker enforces too (it refuses with a status-bar line): here the action is greyed out.
def _diverged(state: WindowState) -> bool:
    return state.diverged


def _can_step(state: WindowState) -> bool:
    """A diverged run is rolled back or reset before it trains on."""
    return state.has_run and not state.diverged


def _has_run(state: WindowState) -> bool:
    return state.has_run


def _semi_supervised(state: WindowState) -> bool:
    return state.semi_supervised


@dataclass(frozen=True)
class ActionSpec:
    name: str  # the window gets it as ``<name>_action``
    text: str
    shortcut: str | QKeySequence.StandardKey | None
    handler: str  # the window's method that the action calls
    tip: str
    enabled_when: Callable[[WindowState], bool] | None = None  # None: always enabled


ACTIONS = (
    ActionSpec("play", "Play/Pause", "Space", "toggle_play", "Start or pause training"),
    ActionSpec("step", "Sub-step", "S", "substep",
               "Step by step: the next sub-step — sample a batch, then D's update, then G's (the Explain "
               "strip highlights it, the scatter rings the batch and shows what G's update moved)",
               enabled_when=_can_step),
    ActionSpec("step_d", "On to D's update", "D", "substep_d",
               "Step by step: run on to D's update (sampling first if needed)", enabled_when=_can_step),
    ActionSpec("step_g", "On to G's update", "G", "substep_g",
               "Step by step: run on to G's update, which completes the training step", enabled_when=_can_step),
    ActionSpec("full_step", "One whole step", "Shift+S", "step_once", "One whole training step (D then G)",
               enabled_when=_can_step),
    ActionSpec("slower", "Slower", "[", "slower", "Slow motion: max → 100 → 10 → 1 steps/s"),
    ActionSpec("faster", "Faster", "]", "faster", "Back towards full speed: 1 → 10 → 100 steps/s → max"),
    ActionSpec("noise", "New noise", "N", "refresh_noise", "New fixed noise for the displayed samples"),
    ActionSpec("reset", "Reset", "Ctrl+R", "reset", "Restart the run from step 0"),
    ActionSpec("rollback", "Roll back", "Ctrl+Z", "rollback",
               "Return to the last good state kept before training diverged", enabled_when=_diverged),
    ActionSpec("baseline", "Run baseline", "B", "start_baseline",
               "Semi-supervised GANs: train the same D on the same labels, supervised only, and plot its "
               "test accuracy beside the GAN's", enabled_when=_semi_supervised),
    ActionSpec("open", "Open run…", QKeySequence.Open, "open_run_dialog", "Continue a run saved earlier"),
    ActionSpec("save", "Save run…", QKeySequence.Save, "save_run_dialog",
               "Save the whole run (networks, optimizers, step, history) to a file", enabled_when=_has_run),
    ActionSpec("import", "Import 2-D points (CSV)…", "Ctrl+I", "import_points_dialog",
               "Train on your own x,y points from a CSV file (then Presets ▸ own-2d-data: the recipe "
               "measured on a family of 24 mixtures)"),
    ActionSpec("export_png", "Export view as PNG…", "Ctrl+E", "export_png_dialog",
               "Save the top view (scatter or image grids) as a PNG"),
    ActionSpec("export_window", "Export window as PNG…", "Ctrl+Shift+E", "export_window_dialog",
               "Save the whole window as a PNG"),
    ActionSpec("export_csv", "Export metrics CSV…", "Ctrl+Shift+C", "export_csv_dialog",
               "Save the loss/accuracy/quality history shown in the plots"),
    ActionSpec("record", "Record GIF…", "Ctrl+Shift+G", "toggle_recording",
               "Record the top view every N steps into an animated GIF; again to stop and save"),
    ActionSpec("save_config", "Save config…", "Ctrl+Shift+S", "save_config_dialog",
               "Save the settings as a JSON file (ganplay train --config FILE reads it back)"),
    ActionSpec("copy_command", "Copy as command", "Ctrl+Alt+C", "copy_command",
               "Copy the ganplay train … line that reproduces this run to the clipboard"),
    ActionSpec("quit", "Quit", "Ctrl+Q", "close", "Close ganplay"),
    ActionSpec("compare", "Compare runs…", "Ctrl+Shift+M", "open_compare",
               "Open this run beside copies of it with other settings (2-4 runs in lockstep, same seed)"),
    ActionSpec("dirac", "Dirac-GAN lab…", "Ctrl+Shift+D", "open_dirac",
               "Why a GAN cycles or converges: the two-parameter Dirac-GAN's field, paths and eigenvalues"),
    ActionSpec("reset_layout", "Reset layout", "Ctrl+Shift+L", "reset_layout",
               "Put every panel and plot back where it was at first start"),
    ActionSpec("losses_help", "Losses and penalties", QKeySequence.HelpContents, "show_losses_help",
               "Every loss's formula and the penalties"),
)

# Menus in menu-bar order; None is a separator. The View menu's dock switches come first, then these.
MENUS = {
    "&File": ("open", "save", "save_config", "import", None, "export_png", "export_window", "export_csv", "record",
              None, "quit"),
    "&Edit": ("copy_command",),
    "&Run": ("play", "full_step", "step", "step_d", "step_g", None, "slower", "faster", None, "reset", "rollback",
             "noise", "baseline", None, "compare", "dirac"),
    "&View": (None, "reset_layout"),
    "&Presets": (),
    "&Help": ("losses_help",),
}


def install_actions(window: QMainWindow, specs=ACTIONS, menus=MENUS) -> dict[str, QMenu]:
    """Create each action on ``window`` and fill the menu bar; returns the menus by name (no '&')."""
    actions = {}
    for spec in specs:
        a = QAction(spec.text, window)
        if spec.shortcut is not None:
            keys = QKeySequence(spec.shortcut)
            a.setShortcut(keys)
            a.setShortcutContext(Qt.WindowShortcut)
            a.setToolTip(f"{spec.tip} ({keys.toString()})")
        else:
            a.setToolTip(spec.tip)
        a.setStatusTip(spec.tip)
        a.triggered.connect(lambda _checked=False, h=spec.handler: getattr(window, h)())
        window.addAction(a)  # shortcuts work with the menu bar hidden or a dock floating
        setattr(window, f"{spec.name}_action", a)
        actions[spec.name] = a
    built = {}
    for title, names in menus.items():
        menu = window.menuBar().addMenu(title)
        menu.setToolTipsVisible(True)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(actions[name])
        built[title.replace("&", "")] = menu
    window.preset_actions = _fill_presets(window, built["Presets"])
    apply_enablement(window, WindowState())
    return built


def apply_enablement(window: QMainWindow, state: WindowState, specs=ACTIONS) -> None:
    """Enable each of ``window``'s actions as its rule says for ``state`` (the one place they are)."""
    for spec in specs:
        if spec.enabled_when is not None:
            getattr(window, f"{spec.name}_action").setEnabled(bool(spec.enabled_when(state)))


def _fill_presets(window, menu: QMenu) -> dict[str, QAction]:
    """One action per registered preset (a known-good recipe), calling ``window.apply_preset``."""
    out = {}
    for name in PRESETS:
        preset = PRESETS.get(name)
        a = QAction(name, window)
        a.setToolTip(preset.shows)
        a.setStatusTip(preset.shows)
        a.triggered.connect(lambda _checked=False, n=name: window.apply_preset(n))
        menu.addAction(a)
        out[name] = a
    return out
