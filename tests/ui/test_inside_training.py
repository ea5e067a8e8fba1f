"""The window's "see inside training" features: overlays, step modes, user data, quality view,
latent exploration, run files and exports — each driven as a user would and checked on screen."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import caught, fix_dispatch_size
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ganplay.config import Config
from ganplay.ui.errors import DialogErrors

TOY = dict(hidden=32, batch_size=64)


@pytest.fixture(autouse=True)
def dispatch_50(monkeypatch):
    """Dispatches of 50 steps (every target here is a multiple): one scan length compiled."""
    fix_dispatch_size(monkeypatch, 50)


def _ring(make_window, errors=None, **kw):
    return make_window(Config.for_model("toy-mlp", dataset="ring8", **{**TOY, **kw}), errors=errors)


def _train_to(qtbot, w, step, timeout=60_000):
    w.worker.set_target(step)
    with caught(qtbot, w.worker.target_reached, timeout=timeout):
        w.play()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step == step, timeout=10_000)


def test_overlays_draw_the_field_arrows_manifold_and_path(qtbot, make_window):
    w = _ring(make_window)
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=30_000)
    for key in ("field", "arrows", "manifold", "interpolation"):
        w.overlay_boxes[key].setChecked(True)
    _train_to(qtbot, w, 200)
    sv = w.scatter_view
    qtbot.waitUntil(lambda: sv.field.isVisible() and sv.arrows.isVisible() and sv.manifold.isVisible(), timeout=10_000)
    field = w._drawn.field
    assert field.values.shape == (100, 100)
    assert 0.0 <= field.values.min() and field.values.max() <= 1.0
    # The field covers what the user sees (it follows pans and zooms).
    x0, x1, y0, y1 = sv.view_extent()
    fx0, fx1, fy0, fy1 = field.extent
    assert abs(fx0 - x0) < 0.05 * (x1 - x0) and abs(fy1 - y1) < 0.05 * (y1 - y0)
    ax, ay = sv.arrows.getData()
    assert len(ax) == 2 * len(w._drawn.arrows) and np.isfinite(ax).all()
    mx, my = sv.manifold.getData()
    assert np.isfinite(mx).sum() >= 25 * 25
    assert sv.path.isVisible()
    # Zoom in: the next field is evaluated over the new range.
    sv.setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)
    zoomed = sv.view_extent()
    assert zoomed[1] - zoomed[0] < 0.5 * (x1 - x0)
    w.step_once()
    qtbot.waitUntil(lambda: np.allclose(w._drawn.field.extent, zoomed, atol=1e-6), timeout=10_000)
    # Switched off: hidden, and the worker stops computing them.
    w.overlay_boxes["field"].setChecked(False)
    w.step_once()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.field is None, timeout=10_000)
    assert not sv.field.isVisible()


def test_step_modes_update_one_network(qtbot, make_window):
    w = _ring(make_window)
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=30_000)
    before = w._drawn
    with qtbot.waitSignal(w.snapshot_drawn, timeout=10_000):
        QTest.keyClick(w, Qt.Key_D)  # D only: the generated points do not move, the step stays
    assert w._drawn.step == before.step
    np.testing.assert_array_equal(w._drawn.generated, before.generated)
    QTest.keyClick(w, Qt.Key_G)  # G only: they move, one step more
    # (waiting for the step rather than the next frame: the D step's own frame may come first)
    qtbot.waitUntil(lambda: w._drawn.step == before.step + 1, timeout=10_000)
    assert not np.array_equal(w._drawn.generated, before.generated)


def test_new_noise_changes_the_displayed_samples_only(qtbot, make_window):
    w = _ring(make_window)
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=30_000)
    before = w._drawn
    with qtbot.waitSignal(w.snapshot_drawn, timeout=10_000):
        w.noise_button.click()
    assert w._drawn.step == before.step
    assert not np.array_equal(w._drawn.generated, before.generated)


def test_draw_mode_paints_points_and_trains_on_them(qtbot, make_window):
    w = _ring(make_window)
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=30_000)
    w.draw_box.setChecked(True)
    vp = w.scatter_view.viewport()
    centre = vp.rect().center()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, centre)
    for dx in range(0, 60, 6):
        QTest.mouseMove(vp, centre + QPoint(dx, dx // 2))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, centre + QPoint(60, 30))
    n = len(w.scatter_view.drawn_points)
    assert n >= 6 and w.use_drawn_button.isEnabled()
    drawn = np.asarray(w.scatter_view.drawn_points)
    with qtbot.waitSignal(w.snapshot_drawn, timeout=60_000):
        w.use_drawn_button.click()
    qtbot.waitUntil(lambda: w.config.dataset == "points-file" and w._drawn.config.dataset == "points-file",
                    timeout=30_000)
    real = w._drawn.real  # the run's real samples are the drawn points
    d = np.min(np.linalg.norm(real[:, None, :] - drawn[None, :, :], axis=2), axis=1)
    assert d.max() < 1e-4
    assert Path(w.config.data_dir).exists()


def test_imported_points_far_away_are_shown_where_they_are_and_standardise_can_be_switched_off(
        qtbot, make_window, tmp_path):
    from ganplay.data.points_file import save_points_csv

    rng = np.random.default_rng(0)
    path = tmp_path / "far.csv"
    save_points_csv(rng.normal([1000.0, -500.0], 50.0, (500, 2)), path)
    w = _ring(make_window)
    w.load_points_file(str(path))
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.config.dataset == "points-file", timeout=60_000)
    assert "trained standardised" in w.statusBar().currentMessage()
    assert w.controls["standardize"].isChecked() and len(w.controls["standardize"].toolTip()) > 20
    # The real points and G's first samples are drawn in the file's coordinates.
    assert np.abs(w._drawn.real.mean(0) - [1000.0, -500.0]).max() < 20
    assert np.abs(np.asarray(w._drawn.generated).mean(0) - [1000.0, -500.0]).max() < 200
    w.controls["standardize"].setChecked(False)
    qtbot.waitUntil(lambda: w.worker.session is not None and not w.worker.session.config.standardize,
                    timeout=60_000)
    assert w.worker.session.trainer.dataset.data_map is None
    qtbot.waitUntil(lambda: not w._drawn.config.standardize, timeout=60_000)
    assert np.abs(np.asarray(w._drawn.generated).mean(0)).max() < 20  # raw G starts near the origin


def test_import_of_a_bad_csv_is_a_dialog(qtbot, make_window, tmp_path):
    bad = tmp_path / "points.csv"
    bad.write_text("x,y\n1,2\n3,banana\n")
    w = _ring(make_window, errors=DialogErrors())
    w.load_points_file(str(bad))
    assert w.message_box is not None and "line 3" in w.message_box.text() and "points.csv" in w.message_box.text()
    w.message_box.close()
    assert w.config.dataset == "ring8"


def test_quality_view_shows_modes_captured(qtbot, make_window):
    w = _ring(make_window)
    _train_to(qtbot, w, 1500)
    q = w._drawn.quality.series
    assert len(q["step"]) >= 1 and "modes" in q
    assert w._drawn.quality.modes_total == 8
    assert w.quality_view.summary.startswith("modes ") and "/8" in w.quality_view.summary


def test_save_and_open_run_continue_where_it_was(qtbot, make_window, tmp_path):
    w = _ring(make_window)
    _train_to(qtbot, w, 300)
    saved_points = w._drawn.generated.copy()
    path = tmp_path / "ring"
    with caught(qtbot, w.worker.saved, timeout=10_000):
        w.save_run(str(path))  # ".npz" is added
    assert (tmp_path / "ring.npz").exists()
    _train_to(qtbot, w, 400)
    with caught(qtbot, w.worker.opened, timeout=30_000):
        w.open_run(str(tmp_path / "ring.npz"))
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step == 300, timeout=10_000)
    np.testing.assert_allclose(w._drawn.generated, saved_points, atol=1e-6)
    assert len(w._drawn.history["step"]) > 0 and w._drawn.history["step"].max() <= 300


def test_exports_png_csv_and_gif(qtbot, make_window, tmp_path, monkeypatch):
    fix_dispatch_size(monkeypatch, 32)  # 32 + 18 steps to each frame: dispatches cut at the frames
    w = _ring(make_window, errors=DialogErrors())  # (a failed export is a dialog)
    w.start_recording(str(tmp_path / "run.gif"), every_steps=50)
    _train_to(qtbot, w, 400)
    # Chunks end on the frame steps and the timeline records each one (kept from its thinning),
    # so no frame is lost however the chunks are sized or the machine is loaded.
    rec = w.worker.recorder
    assert set(range(50, 401, 50)) <= set(rec.steps()) and all(rec.pinned(s) for s in range(50, 401, 50))
    assert w.stop_recording() >= 8
    assert rec.pinned_every is None  # stopped: those frames thin out as any
    gif = Image.open(tmp_path / "run.gif")
    assert gif.n_frames >= 4
    first = np.asarray(gif.convert("RGB"))
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB"))
    assert first.shape == last.shape and np.abs(first.astype(int) - last.astype(int)).mean() > 0.5  # it moved
    assert w.export_png(str(tmp_path / "view.png"))
    assert Image.open(tmp_path / "view.png").size[0] > 200
    assert w.export_csv(str(tmp_path / "m.csv"))
    rows = np.genfromtxt(tmp_path / "m.csv", delimiter=",", names=True)
    assert rows["step"][-1] <= 400 and len(rows) > 10 and "d_loss" in rows.dtype.names
    assert not w.export_png(str(tmp_path / "missing-dir" / "x.png"))
    assert w.message_box is not None
    w.message_box.close()


def test_scripted_record_gif_and_screenshot(tmp_path):
    """``ganplay … --record-gif … --screenshot … --quit`` in scripted mode: the GIF plays and shows
    learning, and the screenshot is the drawn window (one subprocess for both: each costs a start
    of Python, Qt and JAX and a compile)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shot = tmp_path / "shot.png"
    cmd = [sys.executable, "-m", "ganplay", "--model", "toy-mlp", "--dataset", "ring8", "--set", "hidden=32",
           "--steps", "600", "--autostart", "--record-gif", str(tmp_path / "ring8.gif"), "--gif-every", "50",
           # (not the decision field: its red end passes the orange test below)
           "--overlays", "manifold", "--screenshot", str(shot), "--quit"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    gif = Image.open(tmp_path / "ring8.gif")
    assert gif.n_frames >= 10
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[0] > 400 and img.shape[1] > 600
    colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
    assert len(colours) > 50  # not a blank or single-colour window
    orange = np.all(np.abs(img.astype(int) - (235, 90, 40)) < 40, axis=-1)
    assert orange.sum() > 200  # generated points and the G-loss legend are drawn
