"""Headless semi-supervised and conditional runs: test accuracy, the baseline, labels.npy."""
import csv

import numpy as np
import pytest

from ganplay.cli import main

# Small networks and few steps: these check the wiring (columns, files, messages), not quality.
SGAN = ["--model", "sgan-mlp", "--set", "width=0.25", "--set", "batch_size=32", "--no-quality"]
CGAN = ["--model", "cgan-mlp", "--set", "hidden=32", "--set", "batch_size=32"]


def rows(out):
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_sgan_reports_test_accuracy_and_the_baseline_beside_it(tmp_path, mnist_dir, capsys):
    out = tmp_path / "sgan"
    assert main(["train", *SGAN, "--data-dir", str(mnist_dir), "--steps", "60", "--out", str(out),
                 "--baseline"]) == 0
    err = capsys.readouterr().err
    # The split and the label budget are said, and the final figures printed.
    assert "8,000 train, 2,000 held out" in err and "100 labels" in err
    assert "test accuracy" in err and "supervised-only baseline" in err
    r = rows(out)
    assert len(r) == 60 and {"test_acc", "baseline_acc", "sup_loss", "train_acc"} <= set(r[0])
    assert last_cells_empty(r, ("fid", "inception_score"))  # --no-quality
    last = r[-1]
    # Both are accuracies on the 2,000 held-out images: multiples of 1/2000 in [0, 1].
    for key in ("test_acc", "baseline_acc"):
        v = float(last[key])
        assert 0.0 <= v <= 1.0 and abs(v * 2000 - round(v * 2000)) < 1e-3
    # The baseline runs in step with the GAN: wherever the GAN's accuracy was scored with a
    # baseline figure, the row is the same step.
    assert all(row["baseline_acc"] == "" or row["test_acc"] != "" for row in r)


def last_cells_empty(r, keys) -> bool:
    return all(row[k] == "" for row in r for k in keys)


def test_baseline_needs_a_semi_supervised_model(tmp_path, mnist_dir, capsys):
    code = main(["train", "--model", "gia-mlp", "--data-dir", str(mnist_dir), "--steps", "2",
                 "--out", str(tmp_path / "x"), "--baseline"])
    assert code != 0
    assert "--baseline needs a semi-supervised model" in capsys.readouterr().err


def test_sgan_resume_catches_the_baseline_up(tmp_path, mnist_dir):
    out = tmp_path / "sgan"
    assert main(["train", *SGAN, "--data-dir", str(mnist_dir), "--steps", "20", "--out", str(out),
                 "--quiet"]) == 0
    assert main(["train", "--resume", str(out), "--steps", "20", "--quiet", "--baseline", "--no-quality"]) == 0
    r = rows(out)
    assert [int(x["step"]) for x in r] == list(range(1, 41))
    assert r[-1]["baseline_acc"] != ""


def test_cgan_writes_labels_next_to_samples_and_scores_the_intended_class(tmp_path, mnist_dir, capsys):
    out = tmp_path / "cgan"
    assert main(["train", *CGAN, "--data-dir", str(mnist_dir), "--steps", "30", "--out", str(out)]) == 0
    samples, labels = np.load(out / "samples.npy"), np.load(out / "labels.npy")
    assert samples.shape == (1000, 28, 28, 1) and labels.shape == (1000,)
    # Every class equally often, in the order the samples were generated for.
    assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, 100))
    assert np.array_equal(labels[:20], np.arange(20) % 10)
    last = rows(out)[-1]
    assert 0.0 <= float(last["class_fraction"]) <= 1.0
    assert "classified as their intended class" in capsys.readouterr().err


def test_semi_supervised_models_refuse_unlabelled_data(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(folder / f"{i}.png")
    for model in ("sgan-mlp", "cgan-mlp"):
        code = main(["train", "--model", model, "--dataset", "image-folder", "--data-dir", str(folder),
                     "--steps", "2", "--out", str(tmp_path / model)])
        assert code != 0
        assert "label" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["labels_per_class=-1", "label_fraction=0", "sgan_head=k+2", "fm_weight=-1"])
def test_bad_semi_supervised_settings_are_named(tmp_path, mnist_dir, capsys, value):
    code = main(["train", *SGAN, "--data-dir", str(mnist_dir), "--steps", "2", "--out", str(tmp_path / "x"),
                 "--set", value])
    assert code != 0
    assert value.split("=")[0] in capsys.readouterr().err
