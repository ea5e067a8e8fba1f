"""The main window's actions are enabled by rules over its state, applied in one place."""
from ganplay.ui.panels.actions import ACTIONS, WindowState
from tests.ui.gui_helpers import fix_dispatch_size

WAIT = 120_000
SPECS = {spec.name: spec for spec in ACTIONS}


def _enabled(name: str, state: WindowState) -> bool:
    rule = SPECS[name].enabled_when
    return rule is None or rule(state)


def test_the_rules():
    fresh, loaded = WindowState(), WindowState(has_run=True)
    diverged = WindowState(has_run=True, diverged=True)
    assert not _enabled("rollback", loaded) and _enabled("rollback", diverged)
    for name in ("step", "step_d", "step_g", "full_step"):  # the worker refuses these while diverged
        assert _enabled(name, loaded) and not _enabled(name, diverged) and not _enabled(name, fresh)
    assert not _enabled("save", fresh) and _enabled("save", loaded)  # "nothing to save: no run is loaded"
    assert not _enabled("baseline", loaded) and _enabled("baseline", WindowState(has_run=True, semi_supervised=True))
    assert all(_enabled(name, fresh) for name in ("play", "open", "reset", "quit", "compare"))


def test_actions_follow_the_window_state(qtbot, make_window, monkeypatch, explode_generator_at):
    explode_generator_at(30, lr_limit=1e-4)
    fix_dispatch_size(monkeypatch, 20)
    w = make_window()
    assert not w.save_action.isEnabled() and not w.rollback_action.isEnabled()  # no run yet
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    assert w.save_action.isEnabled() and w.step_action.isEnabled() and not w.rollback_action.isEnabled()
    assert not w.baseline_action.isEnabled()  # toy-mlp's D is no classifier
    w.worker.step(40)
    qtbot.waitUntil(lambda: w.rollback_action.isEnabled(), timeout=WAIT)  # the divergence at step 30
    assert not w.step_action.isEnabled() and not w.full_step_action.isEnabled()
    w.rollback_action.trigger()
    assert not w.rollback_action.isEnabled() and w.step_action.isEnabled()
    qtbot.waitUntil(lambda: w.worker.divergence() is None, timeout=WAIT)
