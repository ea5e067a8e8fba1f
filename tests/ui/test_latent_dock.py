"""The latent lab dock in the window: it follows the generator, steers the focus, takes grid clicks,
and survives a model switch and a restart."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from ganplay.config import Config
from ganplay.engine.latent import noise_from_seed

WAIT = 60_000


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "images"
    d.mkdir()
    for i in range(32):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(d / f"{i:02d}.png")
    return d


def image_config(folder, **kw) -> Config:
    return Config.for_model("gia-mlp", dataset="image-folder", data_dir=str(folder), **{
        "hidden": 16, "z_dim": 8, "batch_size": 16, **kw})


def present(w) -> bool:
    """The dock is in the window (a tab behind the controls), not merely in front."""
    return w.docks["latent_dock"].toggleViewAction().isChecked()


def ready(w, qtbot, z_dim: int):
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.kind == "images" and present(w), timeout=WAIT)
    w.docks["latent_dock"].raise_()  # in front: it asks for G's copies
    lab = w.latent_lab
    qtbot.waitUntil(lambda: lab.snap is not None and lab.snap.z_dim == z_dim and lab.directions is not None
                    and lab.focus_image is not None and lab.nearest_view.last_grid is not None, timeout=WAIT)
    return lab


def test_dock_steers_the_focus_and_survives_a_switch_and_a_restart(make_window, qtbot, folder, tmp_path):
    w = make_window()
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    assert not present(w)  # a 2-D model: no lab
    w.apply_config(image_config(folder))
    lab = ready(w, qtbot, 8)
    assert w.docks["latent_dock"].isVisible()
    assert w._drawn.latent is not None
    assert 1 <= len(lab.directions) <= 8 and lab.rows[0][1].isVisible()
    assert "found at step 0" in lab.found_label.text()
    lab.set_seed(5)
    shown = lambda: np.array_equal(lab.rendered_z, lab.focus_noise())
    qtbot.waitUntil(lambda: np.array_equal(lab.z, noise_from_seed(5, 8)) and shown(), timeout=WAIT)
    first = lab.focus_image.copy()
    lab.rows[0][1].setValue(250)  # slider 1 to +2.5 sd: the number box follows, the focus moves
    assert lab.rows[0][2].value() == pytest.approx(2.5)
    qtbot.waitUntil(lambda: not np.array_equal(lab.focus_image, first), timeout=WAIT)
    lab.rows[0][2].setValue(0.0)
    qtbot.waitUntil(shown, timeout=WAIT)
    np.testing.assert_array_equal(lab.focus_image, first)  # back at 0: exactly the focus image
    qtbot.waitUntil(lambda: lab.sheet_view.last_grid is not None, timeout=WAIT)
    assert lab.sheet_view.last_grid.shape[1] == 9 * 29 + 1  # 9 steps from -3 to +3 sd

    # a click on a generated tile makes its noise the focus
    snap = lab.snap
    grid = w.fake_grid
    scene = grid.image.mapToScene(QPointF(1 + 2 * 29 + 14, 1 + 1 * 29 + 14))  # tile (row 1, column 2)
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid.mapFromScene(scene))
    qtbot.waitUntil(lambda: lab.z is not None and np.array_equal(lab.z, snap.display_z[1 * 5 + 2]), timeout=5_000)
    assert lab.seed_box.value() == -1

    lab.save_noise(str(tmp_path / "focus.npy"))
    saved = np.load(tmp_path / "focus.npy")
    assert saved.shape == (8,)
    lab.rows[1][2].setValue(1.0)
    lab.load_noise(str(tmp_path / "focus.npy"))  # back as the focus, drawn as saved
    np.testing.assert_array_equal(lab.focus_noise(), saved)
    lab.load_noise(str(tmp_path / "missing.npy"))
    assert "cannot be read" in lab.note.text()

    # a model switch (another noise size: a new network), a 2-D model and back, then a restart
    w.apply_config(image_config(folder, z_dim=12))
    lab = ready(w, qtbot, 12)
    assert lab.z.shape == (12,)
    w.apply_config(Config.for_model("toy-mlp", dataset="gmm2", hidden=32, batch_size=64))
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.kind == "points", timeout=WAIT)
    assert not present(w)
    w.apply_config(image_config(folder, z_dim=12))
    ready(w, qtbot, 12)
    lab.rows[0][2].setValue(1.5)
    w.worker.step(5)  # training moves on: the lab follows G, the sliders keep their positions
    qtbot.waitUntil(lambda: lab.snap is not None and lab.snap.step == 5, timeout=WAIT)
    assert lab.rows[0][2].value() == pytest.approx(1.5) and lab.amounts[0] == pytest.approx(1.5)
    w.reset()
    qtbot.waitUntil(lambda: lab.snap is not None and lab.snap.step == 0, timeout=WAIT)
    before = lab.focus_image
    lab.random_focus()
    qtbot.waitUntil(lambda: lab.focus_image is not before, timeout=WAIT)
    assert lab.worker.is_alive()
    w.close()
    assert not lab.worker.is_alive()  # the lab's thread ends with the window


def test_raw_axes_and_walk_export(make_window, qtbot, folder, tmp_path):
    w = make_window(image_config(folder))
    lab = ready(w, qtbot, 8)
    lab.axes_box.setCurrentIndex(1)  # z 8: raw axes are offered
    assert lab.directions.kind == "raw" and len(lab.directions) == 8
    assert sum(lab.rows[i][1].isVisible() for i in range(len(lab.rows))) == 8
    path = tmp_path / "walk.gif"
    lab.export_walk(str(path), frames=10)
    qtbot.waitUntil(lambda: path.exists() and "saved" in lab.note.text(), timeout=WAIT)
    with Image.open(path) as gif:
        assert gif.n_frames == 10
    sheet = tmp_path / "sheet.png"
    lab.export_sheet(str(sheet))
    qtbot.waitUntil(lambda: sheet.exists(), timeout=WAIT)
    with Image.open(sheet) as img:  # 6 rows of 9 images, 3 pixels per pixel
        assert img.size == (3 * (9 * 29 + 1), 3 * (6 * 29 + 1))


def test_conditional_generator_gets_the_class_views(qtbot):
    """The dock on its own, fed a conditional G: its class x style grid has a row per class, and
    the class interpolation runs from one class to the other."""
    from types import SimpleNamespace

    from ganplay.data.images import ImageDataset
    from ganplay.engine import build_trainer
    from ganplay.engine.latent import snapshot_generator
    from ganplay.ui.latent_dock import LatentDock

    rng = np.random.default_rng(0)
    three_classes = ImageDataset(name="three", images=rng.integers(0, 256, (30, 28, 28, 1), dtype=np.uint8),
                                 labels=np.arange(30) % 3)
    trainer = build_trainer(Config.for_model("cgan-mlp", dataset="mnist", hidden=16, batch_size=16, z_dim=6),
                            three_classes)
    lab = LatentDock()
    qtbot.addWidget(lab)
    try:
        lab.show_snapshot(SimpleNamespace(latent=snapshot_generator(trainer, trainer.init())))
        qtbot.waitUntil(lambda: lab.directions is not None and lab.focus_image is not None, timeout=WAIT)
        assert lab.class_box.count() == 3 and lab.tabs.isTabEnabled(1)
        lab.tabs.setCurrentIndex(1)
        qtbot.waitUntil(lambda: lab.class_grid_view.last_grid is not None, timeout=WAIT)
        assert lab.class_grid_view.last_grid.shape[0] == 3 * 29 + 1  # classes 0-2, a row each
        assert lab.class_path_view.last_grid.shape[1] == 9 * 29 + 1  # 9 steps from class 0 to class 1
    finally:
        lab.close_lab()
