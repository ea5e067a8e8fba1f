"""The timeline bar driven as a user would: scrub, keys, Live, Continue from here, save/open, export."""
import imageio_ffmpeg
import numpy as np
from PySide6.QtCore import Qt

from ganplay.config import Config
from ganplay.engine.recorder import read_recording
from tests.ui.gui_helpers import fix_dispatch_size

WAIT = 60_000


def _step(w):
    s = w.worker.session
    return -1 if s is None else s.step


def _trained(qtbot, make_window, monkeypatch, steps: int, k: int = 20, config=None):
    fix_dispatch_size(monkeypatch, k)
    w = make_window(config)
    qtbot.waitUntil(lambda: w._latest is not None, timeout=WAIT)
    for done in range(k, steps + 1, k):  # a step request of k steps: one chunk, one snapshot
        w.worker.step(k)
        qtbot.waitUntil(lambda done=done: w._latest is not None and w._latest.step == done, timeout=WAIT)
    w.timeline.refresh()
    return w


def _fake_points(w) -> np.ndarray:
    data = w.scatter_view.fake.data
    return np.column_stack([data["x"], data["y"]])


def test_scrubbing_shows_the_recorded_points_and_keys_move_by_frames(qtbot, make_window, monkeypatch):
    w = _trained(qtbot, make_window, monkeypatch, 200)
    rec = w.worker.recorder
    assert list(rec.steps()) == list(range(0, 201, 20))  # a frame per published snapshot
    live = _fake_points(w).copy()
    w.timeline.bar.scrubbed.emit(100)  # as a drag of the cursor does
    assert w.timeline.viewing == 100
    np.testing.assert_allclose(_fake_points(w), rec.frame_at(100).points(), atol=1e-6)
    assert not np.allclose(_fake_points(w), live)
    assert all(line.isVisible() and line.value() == 100 for line in w.timeline.cursors)
    bar = w.timeline.bar
    bar.setFocus()
    qtbot.keyClick(bar, Qt.Key_Left)
    assert w.timeline.viewing == 80
    qtbot.keyClick(bar, Qt.Key_Right)
    qtbot.keyClick(bar, Qt.Key_Right)
    assert w.timeline.viewing == 120
    qtbot.keyClick(bar, Qt.Key_Home)
    assert w.timeline.viewing == 0
    np.testing.assert_allclose(_fake_points(w), rec.frame_at(0).points(), atol=1e-6)
    qtbot.keyClick(bar, Qt.Key_End)
    assert w.timeline.viewing is None
    np.testing.assert_allclose(_fake_points(w), live, atol=1e-6)
    assert "live" in bar.label.text()
    bar.speed_box.setCurrentIndex(2)  # 16x: 4,000 steps a second, the 200 steps in a blink
    shown = []
    w.timeline.bar.scrubbed.connect(shown.append)  # (not emitted by replay: it scrubs directly)
    bar.replay_button.click()
    assert w.timeline.viewing == 0  # a replay from now starts at the beginning
    qtbot.waitUntil(lambda: not bar.replay_button.isChecked(), timeout=WAIT)
    assert w.timeline.viewing == 200 and not shown


def test_scrubbing_while_training_pauses_the_view_not_training(qtbot, make_window, monkeypatch):
    w = _trained(qtbot, make_window, monkeypatch, 100)
    w.play()
    qtbot.waitUntil(lambda: _step(w) > 200, timeout=WAIT)
    w.timeline.scrub(40)
    shown = _fake_points(w).copy()
    at = _step(w)
    qtbot.waitUntil(lambda: _step(w) > at + 200, timeout=WAIT)  # training goes on
    qtbot.wait(100)
    np.testing.assert_allclose(_fake_points(w), shown)  # the view stays on step 40
    assert "training goes on" in w.timeline.bar.label.text()
    w.timeline.bar.live_button.click()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step > at, timeout=WAIT)
    w.pause()
    qtbot.waitUntil(lambda: w.play_button.text() == "Play", timeout=WAIT)


def test_continue_from_here_drops_the_old_future(qtbot, make_window, monkeypatch):
    w = _trained(qtbot, make_window, monkeypatch, 1400, k=100)
    rec = w.worker.recorder
    assert rec.states.steps() == [0, 1000]
    messages = []
    w.statusBar().messageChanged.connect(messages.append)
    w.timeline.scrub(1300)
    assert w.timeline.bar.continue_button.isEnabled()
    assert "1,000" in w.timeline.bar.continue_button.text()
    w.timeline.bar.continue_button.click()
    qtbot.waitUntil(lambda: _step(w) == 1000 and w._latest.step == 1000, timeout=WAIT)
    assert w.timeline.viewing is None
    assert rec.steps()[-1] == 1000
    said = next(m for m in messages if "old future" in m and "1,001–1,400" in m)
    assert [m.kind for m in rec.marks][-1] == "continue"
    kept = read_recording(said.split(" is saved in ")[1].split(" (File")[0])  # the old future, whole
    assert kept.steps()[-1] == 1400 and 1300 in kept.steps()
    # The old future as run B: Compare opens with this branch (A, at 1,000) beside it (B, at 1,400).
    future = w.timeline.old_future
    assert not future.button.isHidden() and future.action.isEnabled()
    assert future.action in w.menus["Run"].actions()
    future.action.trigger()
    qtbot.waitUntil(lambda: future.compare_window is not None, timeout=WAIT)
    c = future.compare_window
    qtbot.waitUntil(lambda: c.steps() == [1000, 1400], timeout=WAIT)
    a, b = c.worker.comparison.recorders
    assert a.steps()[-1] == 1000 and b.steps()[-1] == 1400 and 1300 in b.steps()
    c.timeline.refresh()
    c.timeline.scrub(1300)  # one step for both: the branch's newest frame, the old future's own
    assert [s.step for s in c.timeline.shown] == [1000, 1300]
    c.close()


def test_a_saved_run_reopens_with_its_timeline_and_exports(qtbot, make_window, monkeypatch, tmp_path):
    w = _trained(qtbot, make_window, monkeypatch, 100)
    steps = list(w.worker.recorder.steps())
    path = tmp_path / "run.npz"
    w.save_run(str(path))
    qtbot.waitUntil(lambda: path.exists(), timeout=WAIT)
    w.reset()
    qtbot.waitUntil(lambda: _step(w) == 0 and len(w.worker.recorder) <= 1, timeout=WAIT)
    w.open_run(str(path))
    qtbot.waitUntil(lambda: list(w.worker.recorder.steps()) == steps, timeout=WAIT)
    qtbot.waitUntil(lambda: w._latest is not None and w._latest.step == 100, timeout=WAIT)
    w.timeline.refresh()
    w.timeline.scrub(60)
    np.testing.assert_allclose(_fake_points(w), w.worker.recorder.frame_at(60).points(), atol=1e-6)
    video = tmp_path / "run.mp4"
    assert w.timeline.export_video(str(video)) == len(steps)
    reader = imageio_ffmpeg.read_frames(str(video))
    next(reader)
    assert sum(1 for _ in reader) == len(steps)


def test_images_scrub_the_sample_grid(qtbot, make_window, monkeypatch, mnist_dir):
    config = Config.for_model("gia-mlp", dataset="mnist", data_dir=str(mnist_dir))
    w = _trained(qtbot, make_window, monkeypatch, 4, k=2, config=config)
    frame = w.worker.recorder.frame_at(2)
    w.timeline.scrub(2)
    assert w.timeline.shown.step == 2
    np.testing.assert_allclose(w.timeline.shown.generated, frame.points())


def test_export_from_the_menu_runs_in_the_background(qtbot, make_window, monkeypatch, tmp_path):
    w = _trained(qtbot, make_window, monkeypatch, 60)
    messages = []
    w.statusBar().messageChanged.connect(messages.append)
    w.timeline.bar.range_button.click()
    w.timeline.bar.range.setRegion((20, 40))
    video = tmp_path / "part.gif"
    thread = w.timeline.export_in_background(str(video))
    thread.join(60)
    qtbot.waitUntil(lambda: any("saved" in m and "2 frames" in m for m in messages), timeout=WAIT)
    assert video.exists()


def test_a_divergence_and_its_rollback_are_marked(qtbot, make_window, monkeypatch, explode_generator_at):
    explode_generator_at(30, lr_limit=1e-4)
    w = _trained(qtbot, make_window, monkeypatch, 20)
    w.worker.step(20)
    qtbot.waitUntil(lambda: w.worker.divergence() is not None, timeout=WAIT)
    w.rollback()
    qtbot.waitUntil(lambda: any(m.kind == "rollback" for m in w.worker.recorder.marks), timeout=WAIT)
    mark = [m for m in w.worker.recorder.marks if m.kind == "rollback"][-1]
    assert "non-finite" in mark.text and mark.step == 0
