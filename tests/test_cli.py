"""The command line, end to end, as a user runs it."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from ganplay.cli import main


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ganplay", *args], capture_output=True, text=True,
                          timeout=timeout)


def read_metrics(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_train_writes_results_and_resume_continues(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--model", "toy-mlp", "--dataset", "ring8", "--steps", "300", "--seed", "3",
                 "--out", str(out), "--set", "hidden=32"])
    assert code == 0
    assert "steps/s" in capsys.readouterr().err  # progress with rate
    config = json.loads((out / "config.json").read_text())
    assert (config["dataset"], config["seed"], config["hidden"]) == ("ring8", 3, 32)
    rows = read_metrics(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 301))
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(rows[0])
    samples = np.load(out / "samples.npy")
    assert samples.dtype == np.float32 and samples.shape[1] == 2 and samples.shape[0] >= 2500
    assert np.isfinite(samples).all()

    assert main(["train", "--resume", str(out), "--steps", "200", "--quiet"]) == 0
    rows = read_metrics(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 501))
    assert not np.array_equal(np.load(out / "samples.npy"), samples)


def test_resume_matches_uninterrupted_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--model", "toy-mlp", "--dataset", "gmm2", "--set", "hidden=16", "--quiet"]
    assert main(["train", *common, "--steps", "120", "--out", str(a)]) == 0
    assert main(["train", *common, "--steps", "50", "--out", str(b)]) == 0
    assert main(["train", "--resume", str(b), "--steps", "70", "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(a / "samples.npy"), np.load(b / "samples.npy"))
    assert (a / "metrics.csv").read_text() == (b / "metrics.csv").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--model", "nope", "--steps", "5", "--out", "x"], "unknown model 'nope'; choose one of:"),
        (["train", "--steps", "5", "--out", "x", "--set", "lr_g=-1"], "lr_g=-1.0 is out of range"),
        (["train", "--steps", "ten", "--out", "x"], "invalid int value"),
        (["train", "--steps", "5"], "--out DIR is required"),
        (["train", "--resume", "/nonexistent/run", "--steps", "5"], "cannot resume"),
        (["--set", "z_dim=0"], "z_dim=0 is out of range"),
    ],
)
def test_invalid_input_is_one_line_without_traceback(args, message):
    result = run_cli(*args, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("train", "--steps", "2", "--out", str(blocker / "sub"))
    assert result.returncode == 1 and "cannot create output folder" in result.stderr
    assert "Traceback" not in result.stderr
