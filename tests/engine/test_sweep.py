"""Sweeps: grid parsing and refusals, which runs train together, vmapped runs equal to runs
trained alone, resume, the tables and the chart."""
import csv
import json
import statistics

import jax
import numpy as np
import pytest
from PIL import Image

from ganplay.config import Config
from ganplay.engine import sweep
from ganplay.engine.checkpoint import read_run
from ganplay.engine.runner import DivergenceError, train_headless
from ganplay.engine.sweep import build_grid, parse_seeds, parse_vary, plan_groups, run_sweep
from ganplay.engine.train import build_trainer
from ganplay.errors import ConfigError

BASE = Config.for_model("toy-mlp", dataset="grid25", hidden=16, batch_size=32)
STEPS = 500


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def params(path):
    """G's and D's parameters in a run.npz, by leaf name."""
    _, arrays = read_run(path)
    return {k: v for k, v in arrays.items() if k.startswith(("state.g_params", "state.d_params"))}


# -- the grid ------------------------------------------------------------------------------------
def test_vary_values_take_the_settings_type():
    assert parse_vary("label_smoothing=0, 0.1", BASE).values == (0.0, 0.1)
    assert parse_vary("loss=ns,lsgan", BASE).values == ("ns", "lsgan")
    assert parse_vary("d_steps=1,3", BASE).values == (1, 3)
    assert parse_vary("smooth_g_target=true,false", BASE).values == (True, False)


def test_seeds_ranges_and_lists():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("0,2,5") == (0, 2, 5)
    assert parse_seeds("0-2,7") == (0, 1, 2, 7)


def test_grid_is_every_combination_times_seeds_with_readable_names():
    grid = build_grid(BASE, ["label_smoothing=0,0.1", "loss=ns,lsgan"], "3-4")
    runs = grid.runs()
    assert grid.size == len(runs) == 8
    assert runs[0].name == "label_smoothing=0_loss=ns_seed=3"
    assert runs[-1].name == "label_smoothing=0.1_loss=lsgan_seed=4"
    assert (runs[-1].config.label_smoothing, runs[-1].config.loss, runs[-1].seed) == (0.1, "lsgan", 4)
    assert build_grid(BASE.replace(seed=9), [], None).seeds == (9,)  # default: the config's seed


@pytest.mark.parametrize("vary, seeds, message", [
    (["foo=1"], None, r"--vary foo: unknown setting; settings a sweep can vary: .*label_smoothing"),
    (["label_smoothing=0,0.7"], None, r"label_smoothing=0.7 is out of range; allowed: \[0, 0.5\]"),
    (["lr_g=fast"], None, r"lr_g='fast' is not a valid number"),
    (["seed=1,2"], None, "seeds come from --seeds"),
    (["model=toy-mlp"], None, "model cannot vary in a sweep"),
    (["dataset=ring8,grid25"], None, "dataset cannot vary in a sweep"),
    (["data_dir=a,b"], None, "data_dir cannot vary in a sweep"),
    (["gmm_weights=[1]"], None, "list-valued settings cannot vary in a sweep"),
    (["lr_g=1e-3", "lr_g=2e-3"], None, "--vary lr_g is given twice"),
    (["lr_g=0.001,1e-3"], None, "--vary lr_g lists 0.001 twice"),
    (["lr_g="], None, "give one or more values"),
    (["lr_g"], None, "--vary expects key=v1,v2"),
    (["label_smoothing=0,0.1", "loss=ns,hinge"], None,
     "combination label_smoothing=0.1 loss=hinge is invalid: label_smoothing=0.1 has no meaning for loss=hinge"),
    ([], "a", "'a' is not a seed or a range"),
    ([], "4-0", "the range 4-0 runs backwards"),
    ([], "0,1,0", "lists seed 0 twice"),
    ([], "-1", "is not a seed or a range"),
    ([], "3000000000", r"seed 3000000000 is out of range"),
])
def test_bad_grids_are_refused_with_one_clear_line(vary, seeds, message):
    with pytest.raises(ConfigError, match=message):
        build_grid(BASE, vary, seeds)


def test_more_than_256_runs_needs_yes():
    vary = ["lr_g=" + ",".join(f"{i}e-4" for i in range(1, 18)), "label_smoothing=0,0.1,0.2,0.3"]
    with pytest.raises(ConfigError, match=r"this sweep has 272 runs \(17 lr_g × 4 label_smoothing × 4 seeds\); "
                                          r"more than 256 runs needs --yes"):
        build_grid(BASE, vary, "0-3")
    assert build_grid(BASE, vary, "0-3", allow_many=True).size == 272


# -- which runs train together --------------------------------------------------------------------
def test_runs_that_differ_only_in_seed_and_live_settings_train_together():
    grid = build_grid(BASE, ["hidden=16,24", "label_smoothing=0,0.1", "ema_decay=0,0.99,0.999"], "0-1")
    groups = plan_groups(grid.runs())
    shapes = {(g[0].config.hidden, g[0].config.ema_decay > 0): len(g) for g in groups}
    # The EMA on or off changes the state's shape; between non-zero decays it is live.
    assert shapes == {(16, False): 4, (16, True): 8, (24, False): 4, (24, True): 8}
    assert all(len({r.config.hidden for r in g}) == 1 for g in groups)
    split = [len(g) for g in plan_groups(grid.runs(), max_group=3)]
    assert split == [3, 1, 3, 3, 2, 3, 1, 3, 3, 2]  # a group larger than max_group is cut
    assert {len(g) for g in plan_groups(grid.runs(), max_group=1)} == {1}  # --no-vmap


def test_convolutional_runs_train_one_after_another():
    base = Config.for_model("dcgan28", dataset="mnist")
    groups = plan_groups(build_grid(base, ["label_smoothing=0,0.1"], "0-1").runs())
    assert [len(g) for g in groups] == [1, 1, 1, 1]


def test_each_members_first_state_is_its_own_trainers():
    configs = [BASE.replace(seed=s) for s in (0, 1, 2, 4)]
    configs[2] = BASE.replace(seed=3, lr_g=2e-3, label_smoothing=0.1, ema_view=False)
    stacked = jax.device_get(sweep.initial_states(build_trainer(BASE), configs))
    alone = build_trainer(configs[2]).init()
    mine = sweep.member_state(stacked, 2)
    for a, b in zip(jax.tree_util.tree_leaves(mine), jax.tree_util.tree_leaves(alone)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(sweep.member_state(stacked, 0).key, mine.key)


def test_dispatches_divide_the_steps_when_they_can():
    assert [sweep.even_chunk(s, 200) for s in (500, 20000, 300, 997, 50)] == [250, 200, 150, 200, 50]


# -- a small sweep, trained once for the tests below ------------------------------------------------
@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory, xla_optimised):
    """Two seeds × two label_smoothing values, 500 steps: one vmapped group of four."""
    out = tmp_path_factory.mktemp("sweep")
    lines = []
    grid = build_grid(BASE, ["label_smoothing=0,0.2"], "0-1")
    result = run_sweep(grid, STEPS, out, progress=lines.append)
    return grid, result, lines


def test_the_sweep_trained_one_vmapped_group_and_reported_each_run(small_sweep):
    _, result, lines = small_sweep
    assert result.groups == [4] and result.trained == 4 and result.skipped == 0
    assert [r["status"] for r in result.records] == ["done"] * 4
    runs = [line for line in lines if line.startswith("run ")]
    assert len(runs) == 4 and all("high quality; ETA" in line for line in runs)
    assert "run 3/4 (label_smoothing=0.2 seed=0): " in "\n".join(runs)


@pytest.fixture(scope="module")
def alone_run(small_sweep, tmp_path_factory):
    """The sweep's first run (label_smoothing 0, seed 0), trained alone with train_headless."""
    out = tmp_path_factory.mktemp("alone")
    return out, train_headless(BASE.replace(seed=0, label_smoothing=0.0), STEPS, out)


def test_a_vmapped_run_equals_the_same_run_trained_alone(small_sweep, alone_run):
    _, result, _ = small_sweep
    alone_dir, alone = alone_run
    swept = result.out_dir / "runs" / "label_smoothing=0_seed=0"
    mine, theirs = params(swept / "run.npz"), params(alone_dir / "run.npz")
    assert mine.keys() == theirs.keys()
    for k in mine:
        np.testing.assert_allclose(mine[k], theirs[k], rtol=0, atol=1e-6, err_msg=k)
    assert json.loads((swept / "config.json").read_text()) == json.loads((alone_dir / "config.json").read_text())
    rows, rows_alone = read_csv(swept / "metrics.csv"), read_csv(alone_dir / "metrics.csv")
    assert list(rows[0]) == list(rows_alone[0]) and len(rows) == len(rows_alone) == STEPS
    for c in ("d_loss", "g_loss", "d_real"):
        np.testing.assert_allclose([float(r[c]) for r in rows], [float(r[c]) for r in rows_alone], atol=1e-4)
    assert rows[-1]["kl"] != "" and sum(r["kl"] != "" for r in rows) >= 2  # evaluated on the way too
    record = result.records[0]
    assert record["final"].keys() == alone.final.keys() == {"modes", "high_quality", "reverse_kl", "kl"}
    for k, v in alone.final.items():
        assert record["final"][k] == pytest.approx(v, abs=1e-4), k
    np.testing.assert_allclose(np.load(swept / "samples.npy"), np.load(alone_dir / "samples.npy"), atol=1e-5)


def test_vmapped_runs_with_other_seeds_and_settings_equal_theirs_alone(small_sweep, tmp_path):
    """The last member (label_smoothing 0.2, seed 1) differs from the group's first in both."""
    grid, result, _ = small_sweep
    run = grid.runs()[-1]
    train_headless(run.config, STEPS, tmp_path, quality=False)
    mine, theirs = params(result.out_dir / "runs" / run.name / "run.npz"), params(tmp_path / "run.npz")
    for k in mine:
        np.testing.assert_allclose(mine[k], theirs[k], rtol=0, atol=1e-6, err_msg=k)


def test_a_run_trained_alone_in_a_sweep_equals_train_headless_exactly(tmp_path, alone_run):
    _, alone = alone_run
    grid = build_grid(BASE, ["hidden=16"], "0")  # one run: no group, so train_headless
    result = run_sweep(grid, STEPS, tmp_path)
    assert result.groups == [1] and result.records[0]["trained"] == "alone"
    assert result.records[0]["final"] == alone.final


def test_summary_is_the_mean_and_sd_over_seeds(small_sweep):
    _, result, _ = small_sweep
    runs = read_csv(result.out_dir / "runs.csv")
    assert list(runs[0])[:6] == ["run", "label_smoothing", "seed", "status", "seconds", "modes"]
    assert {"best_modes", "best_high_quality", "best_reverse_kl", "best_kl"} <= set(runs[0])
    for row, record in zip(runs, result.records):
        assert (row["run"], row["seed"]) == (record["name"], str(record["seed"]))
        assert float(row["kl"]) == pytest.approx(record["final"]["kl"], rel=1e-5)
    summary = read_csv(result.out_dir / "summary.csv")
    assert [(s["label_smoothing"], s["n"], s["diverged"]) for s in summary] == [("0", "2", "0"), ("0.2", "2", "0")]
    for s, smoothing in zip(summary, (0.0, 0.2)):
        mine = [r for r in result.records if r["settings"]["label_smoothing"] == smoothing]
        for metric, get in (("modes", lambda r: r["final"]["modes"]), ("kl", lambda r: r["final"]["kl"]),
                            ("best_modes", lambda r: r["best"]["modes"]),
                            ("best_reverse_kl", lambda r: r["best"]["reverse_kl"])):
            values = [get(r) for r in mine]
            assert float(s[f"{metric}_mean"]) == pytest.approx(statistics.fmean(values), rel=1e-5)
            assert float(s[f"{metric}_sd"]) == pytest.approx(statistics.stdev(values), rel=1e-5, abs=1e-9)
    for r in result.records:  # the best over the evaluations is at least as good as the last one
        assert r["best"]["modes"] >= r["final"]["modes"] and r["best"]["kl"] <= r["final"]["kl"]


def test_summary_png_is_a_chart(small_sweep):
    _, result, _ = small_sweep
    path = result.out_dir / "summary.png"
    assert result.chart == path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as img:
        assert img.size[0] >= 800 and img.size[1] >= 600  # four metric panels of 400 × 300
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
    assert len(colours) > 10  # drawn on, not blank


def test_a_restarted_sweep_trains_nothing_already_done(small_sweep, monkeypatch):
    grid, result, _ = small_sweep
    done = sorted(result.out_dir.glob("runs/*/done.json"))
    before = [p.stat().st_mtime_ns for p in done]

    def must_not_train(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(sweep, "_train_together", must_not_train)
    monkeypatch.setattr(sweep, "_train_alone", must_not_train)
    lines = []
    again = run_sweep(grid, STEPS, result.out_dir, progress=lines.append)
    assert (again.trained, again.skipped) == (0, 4)
    assert any("4 of 4 runs already done, skipped" in line for line in lines)
    assert [p.stat().st_mtime_ns for p in done] == before
    assert again.records == result.records


def test_an_interrupted_run_is_trained_again(small_sweep, tmp_path, monkeypatch):
    grid, result, _ = small_sweep
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(result.out_dir, out)
    (out / "runs" / "label_smoothing=0.2_seed=1" / "done.json").unlink()
    trained = []
    monkeypatch.setattr(sweep, "_train_alone", lambda run, *a: trained.append(run.name) or
                        json.loads((result.out_dir / "runs" / run.name / "done.json").read_text()))
    again = run_sweep(grid, STEPS, out)
    assert trained == ["label_smoothing=0.2_seed=1"] and (again.trained, again.skipped) == (1, 3)


def test_a_different_grid_in_the_same_folder_is_refused(small_sweep):
    grid, result, _ = small_sweep
    with pytest.raises(sweep.GanplayError, match=r"holds a different sweep \(its steps: 500, this one's: 400\)"):
        run_sweep(grid, 400, result.out_dir)
    other = build_grid(BASE.replace(lr_d=2e-3), ["label_smoothing=0,0.2"], "0-1")
    with pytest.raises(sweep.GanplayError, match=r"its lr_d: 0.001, this one's: 0.002"):
        run_sweep(other, STEPS, result.out_dir)


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(sweep.GanplayError, match="is not empty and holds no sweep.json"):
        run_sweep(build_grid(BASE, [], "0"), 10, tmp_path)


# -- divergence ------------------------------------------------------------------------------------
def test_a_diverged_run_is_marked_and_the_sweep_goes_on(tmp_path, explode_generator_at):
    explode_generator_at(250)  # G becomes NaN from step 250 while its learning rate is above 1.5e-3
    grid = build_grid(BASE, ["lr_g=1e-3,2e-3"], "0")  # trained together: only the second diverges
    result = run_sweep(grid, 400, tmp_path / "together")
    assert [r["status"] for r in result.records] == ["done", "diverged"]
    assert "step 250" in result.records[1]["message"]
    bad = tmp_path / "together" / "runs" / "lr_g=0.002_seed=0"
    assert len(read_csv(bad / "metrics.csv")) == 200  # up to the last dispatch before the fault
    header, _ = read_run(bad / "run.npz")
    assert header["step"] == 200
    assert [r["status"] for r in read_csv(tmp_path / "together" / "runs.csv")] == ["done", "diverged"]
    summary = read_csv(tmp_path / "together" / "summary.csv")
    assert [(s["n"], s["diverged"]) for s in summary] == [("1", "0"), ("0", "1")]



def test_a_run_trained_alone_that_diverges_is_marked_too(tmp_path, monkeypatch):
    def diverging(config, steps, out, **kwargs):
        raise DivergenceError("training diverged at step 7: the generator's loss became non-finite (NaN or inf)")

    monkeypatch.setattr(sweep, "train_headless", diverging)
    lines = []
    result = run_sweep(build_grid(BASE, ["d_steps=1,2", "hidden=8,9"], "0"), 10, tmp_path, progress=lines.append)
    assert result.groups == [1, 1, 1, 1]
    assert [r["status"] for r in result.records] == ["diverged"] * 4
    assert "run 4/4 (d_steps=2 hidden=9 seed=0): diverged: at step 7" in "\n".join(lines)
    assert [(s["n"], s["diverged"]) for s in read_csv(tmp_path / "summary.csv")] == [("0", "1")] * 4


@pytest.mark.skipif(jax.devices()[0].platform != "cpu", reason="the default choice on a CPU")
def test_by_default_on_the_cpu_a_sweeps_run_reproduces_alone_exactly(tmp_path):
    """At the default toy sizes vmapping does not pay on a CPU, so each run of the group trains
    alone: the run equals ``ganplay train``'s bit for bit (vmapped, it drifts from step 3)."""
    base = Config.for_model("toy-mlp", dataset="gmm2")
    lines = []
    result = run_sweep(build_grid(base, ["label_smoothing=0,0.2"], "0-1"), STEPS, tmp_path / "sweep",
                       progress=lines.append)
    assert result.groups == [1, 1, 1, 1] and any("train each alone, exact" in line for line in lines)
    training = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["training"]
    assert len(training) == 4 and not any(t["vmap"] for t in training)
    alone = train_headless(base.replace(label_smoothing=0.2, seed=1), STEPS, tmp_path / "alone")
    swept = tmp_path / "sweep" / "runs" / "label_smoothing=0.2_seed=1"
    record = result.records[3]
    assert record["trained"] == "alone" and record["final"] == alone.final and alone.final
    mine, theirs = params(swept / "run.npz"), params(tmp_path / "alone" / "run.npz")
    assert mine.keys() == theirs.keys()
    for k in mine:
        np.testing.assert_array_equal(mine[k], theirs[k], err_msg=k)
    rows, rows_alone = read_csv(swept / "metrics.csv"), read_csv(tmp_path / "alone" / "metrics.csv")
    names = ("step", "d_loss", "g_loss", "d_real", "d_fake")  # (mid-run scores follow the time budget)
    assert [[r[c] for c in names] for r in rows] == [[r[c] for c in names] for r in rows_alone]
    np.testing.assert_array_equal(np.load(swept / "samples.npy"), np.load(tmp_path / "alone" / "samples.npy"))


def test_a_vmapped_sweep_writes_each_runs_sampler_samples_and_columns(tmp_path):
    """Each run folder of a vmapped group gets the sampler's samples and columns beside G's, as
    ``ganplay train`` writes them."""
    result = run_sweep(build_grid(BASE.replace(dataset="ring8", sampler="drs"), ["label_smoothing=0,0.2"], "0"),
                       200, tmp_path, vmap=True)
    assert result.groups == [2]
    for record in result.records:
        run = tmp_path / "runs" / record["name"]
        g, s = np.load(run / "samples.npy"), np.load(run / "samples_drs.npy")
        assert g.shape == s.shape == (2500, 2) and not np.array_equal(g, s)
        assert {"high_quality", "drs_high_quality", "drs_acceptance"} <= set(read_csv(run / "metrics.csv")[0])
        final = record["final"]
        assert 0 < final["drs_acceptance"] <= 1 and final["high_quality"] != final["drs_high_quality"]
