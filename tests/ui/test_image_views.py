"""The window with image data: grids of generated and real digits, D scores, confusion matrix."""
import numpy as np
import pytest

from ganplay.config import Config

WAIT = 120_000


@pytest.fixture
def mnist_window(make_window, mnist_dir, qtbot):
    w = make_window(Config.for_model("gia-mlp", dataset="mnist", data_dir=str(mnist_dir)))
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    return w


def test_layout_follows_the_dataset_kind(mnist_window, qtbot):
    w = mnist_window
    assert w.top_stack.currentIndex() == 1  # image grids, not the scatter
    grid = w.fake_grid.last_grid
    assert grid.shape == (5 * 29 + 1, 5 * 29 + 1, 1) and grid.dtype == np.uint8
    real = w.real_grid.last_grid
    assert real.shape == grid.shape and real.std() > 20  # real digits: strokes on black


def test_grid_size_and_scores(mnist_window, qtbot):
    w = mnist_window
    w.grid_size_box.setCurrentText("8×8")
    w.worker.step(3)
    qtbot.waitUntil(lambda: w.fake_grid.last_grid.shape[0] == 8 * 29 + 1, timeout=WAIT)
    labels = [lab for lab in w.fake_grid._labels if lab.isVisible()]
    assert len(labels) == 64
    assert all(0.0 <= float(lab.toPlainText()) <= 1.0 for lab in labels)
    w.scores_box.setChecked(False)
    w.worker.step(1)
    qtbot.waitUntil(lambda: not any(lab.isVisible() for lab in w.fake_grid._labels), timeout=WAIT)


def test_confusion_matrix_follows_training(mnist_window, qtbot):
    w = mnist_window
    w.worker.step(20)
    qtbot.waitUntil(lambda: w.worker.session.step == 20 and w._drawn.step == 20, timeout=WAIT)
    text = {k: c.text() for k, c in w.confusion_view.cells.items()}
    conf = w._drawn.confusion
    assert text["TP"] == f"TP\n{100 * conf['TP']:.1f}%"
    assert conf["TP"] + conf["FN"] == pytest.approx(1.0)
    assert "last 20 steps" in w.confusion_view.title.text()


def test_missing_dataset_keeps_the_current_run(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("GANPLAY_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("GANPLAY_DATA", raising=False)
    w = make_window()
    w.offer_downloads = False
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    w.apply_config(Config.for_model("gia-mlp", dataset="svhn", data_dir=str(tmp_path)))
    assert w.config.model == "toy-mlp"  # nothing changed: the toy run goes on
    assert "svhn" in w.statusBar().currentMessage() and "not found" in w.statusBar().currentMessage()


@pytest.mark.parametrize("model, size", [("dcgan28", 28), ("dcgan32", 32)])
def test_dcgans_train_in_the_window_on_fashion_mnist(model, size, make_window, qtbot):
    from pathlib import Path

    if not Path("/usr/share/datasets/fashion-mnist").exists():
        pytest.skip("apt-get install dataset-fashion-mnist")
    w = make_window(Config.for_model(model, dataset="fashion-mnist", width=0.125))
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    assert w.controls["width"].isEnabled() and w.controls["width"].value() == 0.125
    w.worker.step(2)
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step == 2, timeout=WAIT)
    assert w.fake_grid.last_grid.shape == (5 * (size + 1) + 1,) * 2 + (1,)
    assert w._drawn.generated.shape[1:] == (size, size, 1)


def test_dcgan32_trains_on_cifar10_in_the_window(make_window, qtbot, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
    from data_helpers import write_fake_cifar10

    write_fake_cifar10(tmp_path)  # the binary distribution's tar.gz, 100 training images
    w = make_window(Config.for_model("dcgan32", dataset="cifar10", data_dir=str(tmp_path), width=0.0625,
                                     batch_size=8))
    qtbot.waitUntil(lambda: w._drawn is not None, timeout=WAIT)
    w.worker.step(2)
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step == 2, timeout=WAIT)
    assert w.top_stack.currentIndex() == 1
    grid = w.fake_grid.last_grid
    assert grid.shape[-1] == 3 and grid.shape[0] == 5 * 33 + 1  # 5x5 colour images of 32x32
    assert w.real_grid.last_grid.std() > 20  # the test-written photos, not a blank
