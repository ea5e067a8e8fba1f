"""Compare's timeline bar driven as a user would: every run scrubs to one step, keys move by frames,
Live returns to now; sets carry the recordings, and a set saved without them opens as before."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from ganplay.config import Config
from ganplay.engine.compare import Comparison
from ganplay.ui.compare_window import CompareWindow

WAIT = 300_000  # only catches hangs: compiles on a loaded machine take a while
BASE = Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=32)
RUNS = [BASE, BASE.replace(lr_g=3e-3)]  # one structure: they may train together (vmap)


@pytest.fixture
def make_compare(show_window):
    return lambda configs=RUNS: show_window(CompareWindow(list(configs)))


def _points(view) -> np.ndarray:
    data = view.view.fake.data
    return np.column_stack([data["x"], data["y"]])


def _stepped(qtbot, w, steps: int, k: int = 20):
    qtbot.waitUntil(lambda: len(w.steps()) == len(w.configs), timeout=WAIT)
    for done in range(k, steps + 1, k):  # a request of k steps: one tick, one snapshot of each run
        w.worker.step(k)
        qtbot.waitUntil(lambda done=done: w.steps() == [done] * len(w.configs), timeout=WAIT)
    w.timeline.refresh()


def test_the_bar_scrubs_every_run_to_one_step(qtbot, make_compare):
    w = make_compare()
    _stepped(qtbot, w, 200)
    recs = w.worker.comparison.recorders
    assert [list(r.steps()) for r in recs] == [list(range(0, 201, 20))] * 2  # a frame per snapshot
    live = [_points(v).copy() for v in w.run_views]
    w.timeline.bar.scrubbed.emit(110)  # as a drag of the cursor does: each run at its frame <= 110
    assert w.timeline.viewing == 100
    for view, rec in zip(w.run_views, recs):
        np.testing.assert_allclose(_points(view), rec.frame_at(100).points(), atol=1e-6)
    assert not np.allclose(_points(w.run_views[0]), _points(w.run_views[1]))  # each its own run's
    assert not np.allclose(_points(w.run_views[0]), live[0])
    assert [s.step for s in w.timeline.shown] == [100, 100]
    assert all(line.isVisible() and line.value() == 100 for line in w.timeline.cursors)
    recs[1].mark(100, "settings", "lr_d=0.002")  # every run's marks are on the bar, named by run
    w.timeline.refresh()
    assert w.timeline.bar.mark_near(100) == "B: lr_d=0.002"
    bar = w.timeline.bar
    bar.setFocus()
    qtbot.keyClick(bar, Qt.Key_Left)
    assert w.timeline.viewing == 80
    np.testing.assert_allclose(_points(w.run_views[1]), recs[1].frame_at(80).points(), atol=1e-6)
    qtbot.keyClick(bar, Qt.Key_Home)
    assert w.timeline.viewing == 0
    w.worker.step(20)  # training goes on while a past step is shown; the views stay on it
    qtbot.waitUntil(lambda: w.steps() == [220, 220], timeout=WAIT)
    np.testing.assert_allclose(_points(w.run_views[0]), recs[0].frame_at(0).points(), atol=1e-6)
    qtbot.keyClick(bar, Qt.Key_End)
    assert w.timeline.viewing is None
    np.testing.assert_allclose(_points(w.run_views[0]), w.snapshots[0].generated, atol=1e-6)
    assert "live" in bar.label.text() and "2 runs" in bar.label.text()
    bar.speed_box.setCurrentIndex(2)  # 16x: the 220 steps in a blink
    bar.replay_button.click()
    assert w.timeline.viewing == 0  # a replay from now starts at the beginning
    qtbot.waitUntil(lambda: not bar.replay_button.isChecked(), timeout=WAIT)
    assert w.timeline.viewing == 220


def test_a_saved_set_carries_its_timelines_and_an_old_one_opens(qtbot, make_compare, tmp_path):
    w = make_compare()
    _stepped(qtbot, w, 60)
    w.save_set(str(tmp_path / "with"))
    qtbot.waitUntil((tmp_path / "with.ganplay-compare").exists, timeout=WAIT)
    w.timeline.keep_action.trigger()  # off: saved as sets were before timelines
    w.save_set(str(tmp_path / "old"))
    qtbot.waitUntil((tmp_path / "old.ganplay-compare").exists, timeout=WAIT)
    recorded = [r.frame_at(40).points() for r in w.worker.comparison.recorders]

    w2 = make_compare()
    w2.open_set(str(tmp_path / "with.ganplay-compare"))
    qtbot.waitUntil(lambda: w2.steps() == [60, 60], timeout=WAIT)
    assert [list(r.steps()) for r in w2.worker.comparison.recorders] == [[0, 20, 40, 60]] * 2
    w2.timeline.refresh()
    w2.timeline.scrub(40)
    for view, points in zip(w2.run_views, recorded):
        np.testing.assert_allclose(_points(view), points, atol=1e-6)

    old = Comparison.open(tmp_path / "old.ganplay-compare")  # what an older ganplay wrote: no recording
    try:
        assert old.step == 60 and [len(r) for r in old.recorders] == [0, 0]
    finally:
        old.close()
    w2.open_set(str(tmp_path / "old.ganplay-compare"))
    qtbot.waitUntil(lambda: [list(r.steps()) for r in w2.worker.comparison.recorders] == [[60]] * 2,
                    timeout=WAIT)
    assert "cannot" not in w2.error_label.text()
    w2.timeline.refresh()
    w2.timeline.key("home")
    assert w2.timeline.viewing == 60
