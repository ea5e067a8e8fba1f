"""Compare mode driven as a user would: add run B with one knob changed, play, pause, check both
runs are at one step with curves in two colours, export, save the set and reopen it."""
import csv
import inspect

import pytest
from PySide6.QtGui import QImage

from ganplay.config import Config
from ganplay.ui.compare_window import CompareWindow, open_compare
from ganplay.ui.compare_worker import CompareWorker

WAIT = 300_000  # only catches hangs: compiles on a loaded machine take a while
BASE = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32)


@pytest.fixture
def make_compare(show_window):
    return lambda configs=(BASE,): show_window(CompareWindow(list(configs)))


def table_steps(w):
    col = [w.table.horizontalHeaderItem(j).text() for j in range(w.table.columnCount())].index("Step")
    return [w.table.item(i, col).text() for i in range(w.table.rowCount())]


def test_compare_two_runs_in_step_then_save_and_reopen(qtbot, make_compare, tmp_path):
    w = make_compare()
    qtbot.waitUntil(lambda: w.steps() == [0], timeout=WAIT)
    w.add_action.trigger()
    dialog = w.add_dialog
    box, edit = dialog.rows[0]
    assert box.currentText() == "label_smoothing" and edit.text() == "0.0"
    edit.setText("0.9")  # out of range: one line in the dialog, which stays open
    dialog.ok_button.click()
    assert dialog.isVisible() and "label_smoothing=0.9 is out of range" in dialog.error_label.text()
    edit.setText("0.2")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: len(w.steps()) == 2, timeout=WAIT)
    assert [v.toolTip() for v in w.run_views] == ["A: toy-mlp, ns on ring8", "B: label_smoothing 0.2"]
    assert w.configs[1] == BASE.replace(label_smoothing=0.2)  # same seed

    w.play_action.trigger()
    qtbot.waitUntil(lambda: min(w.steps()) > 0, timeout=WAIT)
    w.play_action.trigger()  # pause
    qtbot.waitUntil(lambda: not w._running, timeout=WAIT)
    comparison = w.worker.comparison
    qtbot.waitUntil(lambda: w.steps() == [comparison.step] * 2, timeout=WAIT)  # the frame after pausing
    step = comparison.step
    assert [s.step for s in comparison.sessions] == [step, step]
    assert table_steps(w) == [f"{step:,}"] * 2
    colors = w.loss_plot.pen_colors()
    assert len(colors) == 2 and colors[0] != colors[1]
    assert all(len(run["d_loss"].xData) > 0 for run in w.loss_plot.curves)

    w.export_csv(str(tmp_path / "compare.csv"))
    with open(tmp_path / "compare.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["run"] for r in rows} == {"A", "B"} and max(float(r["step"]) for r in rows) == step
    w.export_png(str(tmp_path / "compare.png"))
    assert QImage(str(tmp_path / "compare.png")).width() > 600

    w.save_set(str(tmp_path / "pair"))
    saved = tmp_path / "pair.ganplay-compare"
    qtbot.waitUntil(saved.exists, timeout=WAIT)  # written whole (atomically) or not at all
    w2 = make_compare()
    w2.open_set(str(saved))
    qtbot.waitUntil(lambda: w2.steps() == [step, step], timeout=WAIT)
    assert w2.configs == w.configs
    assert [v.toolTip() for v in w2.run_views] == [v.toolTip() for v in w.run_views]
    assert table_steps(w2) == table_steps(w)


def test_bad_changes_and_bad_files_are_one_line_and_change_nothing(qtbot, make_compare, tmp_path):
    w = make_compare([BASE, BASE.replace(seed=1)])
    qtbot.waitUntil(lambda: len(w.steps()) == 2, timeout=WAIT)
    assert [v.toolTip() for v in w.run_views][1] == "B: seed 1"
    assert not w.add_run(["no_such_setting=1"])
    assert "unknown setting 'no_such_setting'" in w.error_label.text()
    assert not w.add_run(["loss=hinge", "label_smoothing=0.1"])  # hinge has no targets to smooth
    assert "label_smoothing=0.1 has no meaning for loss=hinge" in w.error_label.text()
    bad = tmp_path / "bad.ganplay-compare"
    bad.write_bytes(b"junk")
    w.open_set(str(bad))
    qtbot.waitUntil(lambda: "not a readable ganplay comparison file" in w.error_label.text(), timeout=WAIT)
    assert "\n" not in w.error_label.text() and len(w.configs) == 2


def test_open_compare_starts_from_the_main_windows_run(qtbot):
    w = open_compare(BASE)
    qtbot.addWidget(w)
    try:
        assert w.isVisible() and w.configs == [BASE]
        assert w.add_action.isEnabled() and not w.remove_action.isEnabled()
        assert all(a.toolTip() for a in w.actions())
    finally:
        w.close()


def test_main_window_opens_compare_on_its_run_and_closes_it_with_itself(make_window, qtbot):
    w = make_window()
    w.compare_action.trigger()
    assert len(w.compare_windows) == 1
    compare = w.compare_windows[0]
    assert compare.isVisible() and compare.configs == [w.config]
    qtbot.waitUntil(lambda: compare.steps() == [0], timeout=WAIT)
    w.close()
    assert not compare.isVisible()


def test_image_runs_show_sample_grids_and_each_runs_quality_points(qtbot, make_compare, mnist_dir):
    base = Config.for_model("gia-mlp", dataset="mnist", data_dir=str(mnist_dir))
    w = make_compare([base, base.replace(label_smoothing=0.1)])
    qtbot.waitUntil(lambda: len(w.steps()) == 2, timeout=WAIT)
    assert [v.kind for v in w.run_views] == ["images", "images"]
    w.play()

    def measured():  # FID of both runs (the classifier is prepared by one run, then loaded)
        return w.snapshots and all(len(s.quality.series["step"]) for s in w.snapshots)

    qtbot.waitUntil(measured, timeout=WAIT)
    w.pause()
    qtbot.waitUntil(lambda: not w._running and w.steps() == [w.worker.comparison.step] * 2, timeout=WAIT)
    w._draw_curves(w.snapshots)  # (paused: the next frame draws them too)
    for view in w.run_views:  # a 5 x 5 grid of 28 x 28 samples, not blank
        grid = view.view.last_grid
        assert min(grid.shape[:2]) >= 5 * 28 and grid.max() > grid.min()
    for run in w.quality_plot.curves:  # a run's first FID alone is a dot, not an invisible line
        assert len(run["quality"].xData) >= 1 and run["quality"].opts["symbol"] == "o"
    header = [w.table.horizontalHeaderItem(j).text() for j in range(w.table.columnCount())]
    assert "FID" in header


def test_compare_commands_are_checked_where_they_are_sent(qtbot):
    """A misspelled command fails in the window's thread; every command the window sends has a
    handler taking its arguments (the command table of CommandWorker, as the main worker's)."""
    worker = CompareWorker([BASE])
    with pytest.raises(ValueError, match=r"unknown compare command 'pasue'; known: .*pause"):
        worker._post("pasue")
    assert worker._commands.empty()
    sent = []
    worker._post = lambda *cmd: sent.append(cmd)  # record instead of queueing
    worker.play(); worker.pause(); worker.step(2); worker.reset(); worker.set_runs([BASE])  # noqa: E702
    worker.remove(1); worker.save("x.ganplay-compare"); worker.open("x.ganplay-compare")  # noqa: E702
    worker.open_runs(["a.npz", "b.npz"])
    handlers = worker._handlers
    assert {cmd for cmd, *_ in sent} == set(handlers)
    for cmd, *args in sent:
        inspect.signature(handlers[cmd]).bind(*args)  # raises TypeError on a mismatch
