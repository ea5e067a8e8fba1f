"""The window for semi-supervised and conditional GANs: test accuracy, baseline, class grid and picker."""
import numpy as np
import pytest
from gui_helpers import fix_dispatch_size
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ganplay.config import Config
from ganplay.engine.quality import QualityMonitor


@pytest.fixture(autouse=True)
def no_fid_classifier(monkeypatch):
    """No evaluation classifier trained in the background for FID: these tests look at the class
    views, not at FID (test_compare_window.py does), and its training took the CPU they need."""
    monkeypatch.setattr(QualityMonitor, "_start_preparing", lambda self: None)


def test_sgan_window_plots_test_accuracy_confusion_and_the_baseline(qtbot, make_window, mnist_dir, tmp_path,
                                                                     monkeypatch):
    fix_dispatch_size(monkeypatch, 50)  # one scan length compiled; an evaluation can follow each
    config = Config.for_model("sgan-mlp", dataset="mnist", data_dir=str(mnist_dir), width=0.0625, batch_size=32)
    w = make_window(config)
    assert w.sgan_group.isVisible()  # the label budget and loss weights are knobs
    assert not w.class_box.isVisible()
    # Plays until each check has what it needs: the evaluations take their share of the training
    # time, so how many steps that is depends on the machine, not on a step target.
    w.play()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.accuracy is not None
                    and len(w._drawn.accuracy.series["test_acc"]) >= 2, timeout=120_000)
    assert w.sgan_panel.isVisible()
    assert "100 labels" in w.sgan_panel.note.text() and "2,000" in w.sgan_panel.note.text()
    # The confusion matrix: 10 x 10, each row a true class's share of the test images (the
    # slow plots are redrawn one per frame in turn while training runs).
    qtbot.waitUntil(lambda: w.sgan_panel.confusion_view.last_fractions is not None, timeout=30_000)
    f = w.sgan_panel.confusion_view.last_fractions
    assert f.shape == (10, 10) and np.allclose(f.sum(axis=1), 1.0)
    QTest.keyClick(w, Qt.Key_B)  # the baseline, on demand (it advances with the GAN's steps)
    qtbot.waitUntil(lambda: len(w._drawn.accuracy.series["baseline_acc"]) >= 1, timeout=120_000)
    qtbot.waitUntil(lambda: not w.sgan_panel.baseline_button.isEnabled(), timeout=30_000)
    qtbot.waitUntil(lambda: "test accuracy" in w.quality_label.text(), timeout=30_000)
    w.pause()
    series = w._drawn.accuracy.series
    assert np.all((series["baseline_acc"] >= 0) & (series["baseline_acc"] <= 1))
    # Its steps never run ahead of the GAN's.
    assert series["baseline_step"][-1] <= w._drawn.step
    w.grab().save(str(tmp_path / "sgan.png"))


def test_cgan_window_draws_a_row_per_class_and_the_picked_class(qtbot, make_window, mnist_dir, monkeypatch):
    fix_dispatch_size(monkeypatch, 20)  # the 20 steps in one dispatch (the sizer: 1, 4, 15)
    config = Config.for_model("cgan-mlp", dataset="mnist", data_dir=str(mnist_dir), hidden=32, batch_size=32)
    w = make_window(config)
    w.worker.set_target(20)
    w.play()
    qtbot.waitUntil(lambda: w._drawn is not None and w._drawn.step >= 20, timeout=120_000)
    snap = w._drawn
    assert w.class_box.isVisible() and w.class_box.count() == 11
    assert snap.classes.rows == 10
    labels = snap.classes.labels
    assert np.array_equal(labels.reshape(10, -1), np.repeat(np.arange(10)[:, None], len(labels) // 10, axis=1))
    # The grid shows every image, one row per class.
    grid = w.fake_grid.last_grid
    assert grid.shape[0] > grid.shape[1]  # 10 rows of 8: taller than wide
    w.class_box.setCurrentIndex(4)  # class 3
    w.step_once()
    qtbot.waitUntil(lambda: w._drawn.classes.draw == 3, timeout=30_000)
    assert np.all(w._drawn.classes.labels == 3) and w._drawn.classes.rows == 0
    w.class_box.setCurrentIndex(0)
    w.step_once()
    qtbot.waitUntil(lambda: w._drawn.classes.draw is None, timeout=30_000)


def test_the_shift_control_sets_sgan_shift_and_restarts_the_run(qtbot, make_window, mnist_dir):
    config = Config.for_model("sgan-mlp", dataset="mnist", data_dir=str(mnist_dir), width=0.0625, batch_size=32)
    w = make_window(config)
    box = w.controls["sgan_shift"]
    assert box.isVisible() and box.value() == 0 and "labels" in box.toolTip()
    box.setValue(2)
    qtbot.waitUntil(lambda: w.config.sgan_shift == 2, timeout=30_000)
    qtbot.waitUntil(lambda: w.worker.session is not None and w.worker.session.config.sgan_shift == 2,
                    timeout=60_000)
