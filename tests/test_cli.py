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


TRAINING_COLUMNS = ["step", "d_loss", "g_loss", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "g_grad_norm",
                    "d_grad_norm"]


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
    rows_a, rows_b = read_metrics(a / "metrics.csv"), read_metrics(b / "metrics.csv")
    # Training columns are identical; quality cells depend on when each run had time to evaluate
    # (b also scored step 50, its first run's last step), except on the last step, always scored.
    assert list(rows_a[0]) == list(rows_b[0])
    assert [[r[c] for c in TRAINING_COLUMNS] for r in rows_a] == [[r[c] for c in TRAINING_COLUMNS] for r in rows_b]
    assert rows_a[-1] == rows_b[-1] and rows_a[-1]["kl"] != ""
    assert rows_b[49]["kl"] != ""


def nearest_mode_figures(samples, modes, std):
    """Modes captured, high-quality fraction and reverse KL, computed here from first principles
    (PacGAN protocol: nearest mode, high quality within 3 std, a mode captured with >= 5% of its
    expected high-quality count), to check metrics.csv against."""
    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2[np.arange(len(samples)), nearest]) <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(modes))
    expected = len(samples) / len(modes) * (1 - np.exp(-4.5))
    modes_captured = int((counts >= max(1.0, 0.05 * expected)).sum())
    q = counts / counts.sum()
    reverse_kl = float(np.sum(q[q > 0] * np.log(q[q > 0] * len(modes))))
    return modes_captured, float(good.mean()), reverse_kl


def test_last_row_scores_exactly_the_written_samples(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--model", "toy-mlp", "--dataset", "ring8", "--steps", "1500", "--seed", "0",
                 "--out", str(out), "--set", "hidden=64", "--quiet"]) == 0
    with open(out / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert header == TRAINING_COLUMNS + ["modes", "high_quality", "reverse_kl", "kl"]
    rows = np.genfromtxt(out / "metrics.csv", delimiter=",", skip_header=1)
    assert rows.shape == (1500, len(header))
    scored = ~np.isnan(rows[:, header.index("kl")])
    assert scored[-1] and scored[0:200].sum() <= 1  # chunks of 200 steps: only a chunk's last row
    n = len(TRAINING_COLUMNS)
    assert np.isnan(rows[~scored][:, n:]).all() and np.isfinite(rows[:, :n]).all()

    samples = np.load(out / "samples.npy")
    angles = 2 * np.pi * np.arange(8) / 8
    modes = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    captured, high_quality, reverse_kl = nearest_mode_figures(samples.astype(np.float64), modes, 0.01)
    last = dict(zip(header, rows[-1]))
    assert last["step"] == 1500
    assert last["modes"] == captured
    assert last["high_quality"] == pytest.approx(high_quality, abs=1e-6)
    assert last["reverse_kl"] == pytest.approx(reverse_kl, rel=1e-5, abs=1e-6)
    assert last["high_quality"] > 0  # it learned something, so the comparison means something


def test_resume_keeps_the_columns_of_a_run_without_quality_columns(tmp_path):
    """A run started before quality columns existed gets them on resume, old rows left empty."""
    out = tmp_path / "run"
    assert main(["train", "--model", "toy-mlp", "--dataset", "spiral", "--steps", "30",
                 "--set", "hidden=16", "--out", str(out), "--quiet"]) == 0
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0].endswith(",kl")
    old = [lines[0].rsplit(",", 1)[0]] + [ln.rsplit(",", 1)[0] for ln in lines[1:]]
    (out / "metrics.csv").write_text("\n".join(old) + "\n")
    assert main(["train", "--resume", str(out), "--steps", "20", "--quiet"]) == 0
    rows = read_metrics(out / "metrics.csv")
    assert list(rows[0]) == TRAINING_COLUMNS + ["kl"]
    assert [int(r["step"]) for r in rows] == list(range(1, 51))
    assert all(r["kl"] == "" for r in rows[:30]) and rows[-1]["kl"] != ""


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


def test_train_with_a_sampler_reports_gs_figures_and_the_samplers_side_by_side(tmp_path, capsys):
    out = tmp_path / "drs"
    assert main(["train", "--model", "toy-mlp", "--dataset", "ring8", "--steps", "200", "--set", "hidden=16",
                 "--set", "batch_size=32", "--set", "sampler=drs", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    g_line = next(ln for ln in err.splitlines() if ln.startswith("G's samples (samples.npy): modes captured"))
    drs_line = next(ln for ln in err.splitlines() if ln.startswith("DRS's samples (samples_drs.npy, "))
    assert "high quality" in g_line and "high quality" in drs_line and "% of G's accepted" in drs_line
    assert np.load(out / "samples.npy").shape == np.load(out / "samples_drs.npy").shape == (2500, 2)
    header = (out / "metrics.csv").read_text().splitlines()[0]
    assert header.endswith("modes,high_quality,reverse_kl,kl,drs_modes,drs_high_quality,drs_reverse_kl,drs_kl,"
                           "drs_acceptance")
    # a finished run's sampler can be changed on resume (it changes no training)
    assert main(["train", "--resume", str(out), "--steps", "20", "--set", "sampler=mh", "--quiet"]) == 0
    assert (out / "samples_mh.npy").exists()
