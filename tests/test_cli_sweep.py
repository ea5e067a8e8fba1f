"""``ganplay sweep`` as a user runs it: its files, its resume, and one-line refusals."""
import json

import pytest

from ganplay.cli import config_from_args, main
from ganplay.cli.sweep import build_sweep_parser

TINY = ["--model", "toy-mlp", "--dataset", "grid25", "--set", "hidden=16", "--set", "batch_size=32"]


def test_sweep_writes_runs_and_tables_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", *TINY, "--vary", "label_smoothing=0.1", "--seeds", "0", "--steps", "200", "--out", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "run 1/1 (label_smoothing=0.1 seed=0): " in err and "high quality; ETA" in err
    assert "done: 1 run trained" in err and str(out / "summary.png") in err
    run = out / "runs" / "label_smoothing=0.1_seed=0"
    for name in ("config.json", "metrics.csv", "samples.npy", "run.npz", "done.json"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert (config["hidden"], config["batch_size"], config["label_smoothing"]) == (16, 32, 0.1)
    assert (out / "runs.csv").read_text().splitlines()[1].startswith("label_smoothing=0.1_seed=0,0.1,0,done,")
    assert json.loads((out / "sweep.json").read_text())["steps"] == 200

    assert main(args) == 0
    assert "1 of 1 runs already done, skipped" in capsys.readouterr().err
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""

    assert main([*args[:-4], "--steps", "300", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ganplay: error: ") and "holds a different sweep (its steps: 200, this one's: 300)" in err


MANY = ["--vary", "lr_g=" + ",".join(f"{i}e-4" for i in range(1, 18)), "--vary", "label_smoothing=0,0.1,0.2,0.3",
        "--seeds", "0-3"]


@pytest.mark.parametrize("args, message", [
    (["--out", "X"], "--steps is required"),
    (["--steps", "10"], "--out DIR is required"),
    (["--steps", "0", "--out", "X"], "--steps=0 must be 1 or more"),
    (["--steps", "10", "--out", "X", "--vary", "foo=1"], "--vary foo: unknown setting; settings a sweep can vary: "),
    (["--steps", "10", "--out", "X", "--vary", "seed=1,2"],
     "--vary seed: seed cannot vary in a sweep (seeds come from --seeds)"),
    (["--steps", "10", "--out", "X", "--vary", "gmm_means=[[0,0]]"], "list-valued settings cannot vary"),
    (["--steps", "10", "--out", "X", "--vary", "label_smoothing=0,0.9"],
     "--vary label_smoothing: label_smoothing=0.9 is out of range; allowed: [0, 0.5]"),
    (["--steps", "10", "--out", "X", "--vary", "lr_g=1e-3", "--vary", "lr_g=2e-3"], "--vary lr_g is given twice"),
    (["--steps", "10", "--out", "X", "--seeds", "5-1"], "--seeds 5-1: the range 5-1 runs backwards"),
    (["--steps", "10", "--out", "X", *MANY],
     "this sweep has 272 runs (17 lr_g × 4 label_smoothing × 4 seeds); more than 256 runs needs --yes"),
    (["--steps", "10", "--out", "X", "--preset", "nope"], "unknown preset 'nope'"),
])
def test_bad_input_is_one_error_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *TINY, *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ganplay: error: ") and err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "X").exists()  # refused before anything was written


def test_an_occupied_folder_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["sweep", *TINY, "--steps", "10", "--out", str(tmp_path)]) == 1
    assert "is not empty and holds no sweep.json; choose a new or empty --out folder" in capsys.readouterr().err


def test_an_unknown_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "--resume", "X"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("ganplay sweep: error: unrecognized arguments: --resume X")


def test_preset_and_set_build_the_base_config_as_in_train():
    args = build_sweep_parser().parse_args(["--preset", "label-smoothing", "--set", "hidden=16", "--vary", "lr_g=1e-3"])
    config = config_from_args(args)
    assert (config.dataset, config.label_smoothing, config.hidden) == ("ring8", 0.25, 16)
    assert args.vary == ["lr_g=1e-3"] and args.vmap is None and args.quality  # None: chosen per group
    assert build_sweep_parser().parse_args(["--vmap"]).vmap is True
    assert build_sweep_parser().parse_args(["--no-vmap"]).vmap is False
