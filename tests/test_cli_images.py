"""Every image model trains headless on real MNIST, Fashion-MNIST and SVHN-format data."""
import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganplay.cli import main

FASHION = Path("/usr/share/datasets/fashion-mnist")


def write_svhn(path: Path, n: int = 96) -> Path:
    """A small file in the real train_32x32.mat layout: X 32x32x3xN uint8, y Nx1 (10 means 0)."""
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    x = np.zeros((32, 32, 3, n), np.uint8)
    x[8:24, 12:20, :, :] = rng.integers(120, 255, size=(16, 8, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
    path.mkdir(parents=True, exist_ok=True)
    savemat(path / "train_32x32.mat", {"X": x, "y": y})
    return path


def check_outputs(out: Path, shape, steps: int):
    samples = np.load(out / "samples.npy")
    assert samples.dtype == np.float32 and samples.shape == (1000, *shape)
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    png = Image.open(out / "samples.png")
    assert png.width > 8 * shape[1] and png.height > 8 * shape[0]
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == steps and {"d_acc_real", "d_acc_fake", "d_loss", "g_loss"} <= set(rows[0])
    assert all(0.0 <= float(r["d_acc_fake"]) <= 1.0 for r in rows)
    # The last step is always scored by the evaluation classifier (trained once, cached).
    assert float(rows[-1]["fid"]) >= 0 and float(rows[-1]["inception_score"]) >= 1


@pytest.mark.parametrize(
    "model, extra, shape",
    [
        ("gia-mlp", [], (28, 28, 1)),
        ("dcgan28", ["--set", "width=0.125"], (28, 28, 1)),
        ("dcgan32", ["--set", "width=0.125"], (32, 32, 1)),  # 28x28 digits padded to 32
    ],
)
def test_models_train_on_offline_mnist(model, extra, shape, mnist_dir, tmp_path, capsys):
    out = tmp_path / model
    code = main(["train", "--model", model, "--dataset", "mnist", "--data-dir", str(mnist_dir),
                 "--steps", "4", "--out", str(out), *extra])
    assert code == 0
    assert "only the 10,000-image test set was found" in capsys.readouterr().err
    check_outputs(out, shape, 4)


@pytest.fixture
def quick_classifier(monkeypatch):
    """The evaluation classifier in 100 steps instead of 1,000 (60,000 images hit the step cap):
    these runs check that FID and IS are scored, test_evaluator.py how good the classifier is."""
    from ganplay.engine.evaluator import ClassifierSettings, Evaluator

    full = Evaluator.for_dataset
    quick = ClassifierSettings(max_steps=100)
    monkeypatch.setattr(Evaluator, "for_dataset",
                        classmethod(lambda cls, dataset, **kw: full(dataset, **{"settings": quick, **kw})))


@pytest.mark.skipif(not FASHION.exists(), reason="apt-get install dataset-fashion-mnist")
@pytest.mark.parametrize("model", ["gia-mlp", "dcgan28", "dcgan32"])
def test_models_train_on_fashion_mnist_from_the_debian_package(model, tmp_path, capsys, quick_classifier):
    out = tmp_path / model
    shape = (32, 32, 1) if model == "dcgan32" else (28, 28, 1)
    assert main(["train", "--model", model, "--dataset", "fashion-mnist", "--steps", "3",
                 "--out", str(out), "--set", "width=0.125"]) == 0
    assert "60,000-image training set" in capsys.readouterr().err
    check_outputs(out, shape, 3)


def test_dcgan32_trains_on_svhn_format_data(tmp_path):
    data = write_svhn(tmp_path / "svhn")
    out = tmp_path / "out"
    assert main(["train", "--model", "dcgan32", "--dataset", "svhn", "--data-dir", str(data),
                 "--steps", "3", "--out", str(out), "--set", "width=0.125", "--quiet"]) == 0
    check_outputs(out, (32, 32, 3), 3)
    assert Image.open(out / "samples.png").mode == "RGB"


def test_incompatible_pair_is_refused_clearly(mnist_dir, tmp_path, capsys):
    code = main(["train", "--model", "toy-mlp", "--dataset", "mnist", "--steps", "1", "--out", str(tmp_path)])
    assert code != 0
    err = capsys.readouterr().err
    assert "cannot train on dataset 'mnist'" in err and "gmm2" in err
