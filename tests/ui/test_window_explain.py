"""The explain strip, slow motion, step-by-step, the mixture editor and Copy as command / Save
config, as they are wired into the main window (the pieces alone have their own tests)."""
import shlex

import numpy as np
from PySide6.QtWidgets import QApplication

from ganplay.cli import build_train_parser, config_from_args
from ganplay.config import Config, load_config
from ganplay.ui.errors import DialogErrors
from ganplay.ui.views import MOVED_LINES

WAIT = 300_000  # only catches hangs (compiles on a loaded 2-core machine)
RING8 = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32)


def drawn_phase(w):
    sub = w._drawn.substep if w._drawn is not None else None
    return None if sub is None else sub.phase


def test_s_d_g_keys_walk_the_sub_steps_with_strip_and_scatter(qtbot, make_window):
    w = make_window(RING8)
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    start = w.worker.session.step
    assert w.step_action.shortcut().toString() == "S"
    w.step_action.trigger()  # S: sample a batch
    qtbot.waitUntil(lambda: drawn_phase(w) == "sample", timeout=WAIT)
    sv = w.scatter_view
    assert w.explain_strip.substep == "sample"
    assert sv.batch_real.isVisible() and len(sv.batch_real.data) == RING8.batch_size
    assert not sv.moved.isVisible()
    w.step_d_action.trigger()  # D: on to D's update
    qtbot.waitUntil(lambda: drawn_phase(w) == "d", timeout=WAIT)
    assert w.explain_strip.substep == "d" and w.worker.session.step == start
    w.step_g_action.trigger()  # G: G's update completes the step
    qtbot.waitUntil(lambda: drawn_phase(w) == "g", timeout=WAIT)
    assert w.explain_strip.substep == "g" and w.worker.session.step == start + 1
    assert sv.moved.isVisible() and not sv.batch_real.isVisible()
    x, y = sv.moved.getData()
    n = min(MOVED_LINES, len(w._drawn.generated))
    assert len(x) == 2 * n  # one segment per point: from before G's update to after it
    np.testing.assert_allclose(np.c_[x[1::2], y[1::2]], w._drawn.generated[:n], rtol=1e-6)
    w.full_step_action.trigger()  # Shift+S: a whole step; the sub-step marks go
    qtbot.waitUntil(lambda: w._drawn.step == start + 2, timeout=WAIT)
    assert w.explain_strip.substep is None and not sv.moved.isVisible()


def test_speed_box_and_keys_set_the_workers_pace(qtbot, make_window):
    w = make_window(RING8)
    sent = []
    w.worker.set_speed = sent.append  # what reaches the worker
    box = w.control_panel.speed_box
    assert box.currentText() == "max"
    w.slower_action.trigger()
    w.slower_action.trigger()
    assert box.currentText() == "10 steps/s" and sent[-1] == 10.0
    box.setCurrentIndex(box.count() - 1)  # the user picks 1 step/s
    assert sent[-1] == 1.0
    w.slower_action.trigger()  # already the slowest
    assert sent[-1] == 1.0
    for _ in range(5):
        w.faster_action.trigger()
    assert box.currentText() == "max" and sent[-1] is None


def test_clicking_a_box_shows_its_view(qtbot, make_window):
    w = make_window(RING8)
    assert not w.overlay_boxes["field"].isChecked()
    w.explain_strip.box_clicked.emit("discriminator")
    assert w.overlay_boxes["field"].isChecked()
    w.docks["losses_dock"].hide()
    w.explain_strip.box_clicked.emit("g_loss")
    assert w.docks["losses_dock"].isVisible()


def test_copy_as_command_reproduces_the_run(qtbot, make_window):
    w = make_window(RING8.replace(label_smoothing=0.1, loss="lsgan"))
    w.copy_command_action.trigger()
    words = shlex.split(QApplication.clipboard().text())
    assert words[:2] == ["ganplay", "train"]
    assert config_from_args(build_train_parser().parse_args(words[2:])) == w.config


def test_save_config_writes_a_file_the_cli_reads_and_a_bad_path_says_so(qtbot, make_window, tmp_path):
    w = make_window(RING8.replace(r1_weight=0.5), errors=DialogErrors())
    path = tmp_path / "run.json"
    assert w.save_config(str(path))
    assert load_config(path) == w.config
    (tmp_path / "a file").write_text("x")  # a folder that cannot exist: a file is in the way
    assert not w.save_config(str(tmp_path / "a file" / "run.json"))
    assert w.message_box is not None and "Choose another folder" in w.message_box.text()


def test_the_mixture_editor_restarts_the_run_on_its_mixture(qtbot, make_window):
    w = make_window(RING8)
    editor = w.mixture_editor
    editor.add_component()
    assert editor.apply()
    assert w.config.dataset == "gmm2" and len(w.config.gmm_weights) == len(Config().gmm_weights) + 1
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.real is not None
                    and w.worker.session is not None and w.worker.session.config == w.config, timeout=WAIT)
