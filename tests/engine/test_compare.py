"""Compare mode's engine: run titles, lockstep training (vmapped groups equal to runs trained
alone), structurally different runs alternating, removing a run, and the set's files."""
import csv
import io
import json
import zipfile

import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine.compare import (
    Comparison,
    EvaluationBudget,
    TickSizer,
    check_runs,
    comparison_csv,
    diff_label,
    labels,
    latest_metrics,
)
from ganplay.engine.session import Session
from ganplay.errors import CheckpointError, ConfigError

BASE = Config.for_model("toy-mlp", dataset="grid25", hidden=16, batch_size=32)
SMOOTH = BASE.replace(label_smoothing=0.2, seed=3)
HINGE = BASE.replace(loss="hinge")


def params(state):
    """G's and D's parameters as {leaf path: array}."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(jax.device_get((state.g_params, state.d_params)))
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in leaves}


def assert_same_params(a, b, atol=1e-6):
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        np.testing.assert_allclose(pa[k], pb[k], rtol=0, atol=atol, err_msg=k)


# -- titles and checks ----------------------------------------------------------------------------
def test_a_runs_title_names_only_what_it_changes_from_a():
    assert diff_label(BASE, BASE.replace(label_smoothing=0.2)) == "B: label_smoothing 0.2"
    assert diff_label(BASE, BASE.replace(loss="hinge", lr_d=2e-4), "C") == "C: lr_d 0.0002, loss hinge"
    assert diff_label(BASE, BASE, "D") == "D: same settings as A"
    assert labels([BASE, SMOOTH]) == ["A: toy-mlp, ns on grid25", "B: label_smoothing 0.2, seed 3"]


def test_runs_on_different_data_or_too_many_runs_are_refused_with_one_line():
    with pytest.raises(ConfigError, match="run B has dataset=ring8 but run A has dataset=grid25"):
        check_runs([BASE, BASE.replace(dataset="ring8")])
    with pytest.raises(ConfigError, match="1 to 4 runs"):
        check_runs([BASE] * 5)


# -- training together -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """A and B (label smoothing and seed) vmapped together, C (hinge) alone: 500 steps."""
    comparison = Comparison([BASE, SMOOTH, HINGE])
    for _ in range(2):
        comparison.advance(250)
    return comparison


def test_runs_of_one_structure_train_together_and_others_alone(trained):
    assert trained.groups == [["A", "B"], ["C"]]
    assert [s.step for s in trained.sessions] == [500, 500, 500]
    assert Comparison([BASE, HINGE], vmap=False).groups == [["A"], ["B"]]


@pytest.mark.parametrize("run", [0, 1])
def test_a_vmapped_run_equals_the_same_run_trained_alone(trained, run):
    alone = Session(trained.configs[run])
    alone.advance(500)
    mine = trained.sessions[run]
    assert_same_params(mine.state, alone.state)
    np.testing.assert_allclose(mine.history.values("d_loss"), alone.history.values("d_loss"), atol=1e-5)
    a, b = params(trained.sessions[0].state), params(trained.sessions[1].state)
    assert not any(np.allclose(a[k], b[k]) for k in a)  # the two members really differ


def test_a_structurally_different_run_alternates_and_equals_itself_alone(trained):
    alone = Session(HINGE)
    alone.advance(500)
    assert_same_params(trained.sessions[2].state, alone.state, atol=0)


def test_snapshots_table_and_csv_cover_every_run(trained):
    snaps = trained.snapshots()
    assert [s.step for s in snaps] == [500] * 3
    rows = [latest_metrics(s) for s in snaps]
    assert all(r["step"] == 500 and np.isfinite(r["d_loss"]) and "modes" in r for r in rows)
    assert rows[0]["d_loss"] != rows[2]["d_loss"]
    text = comparison_csv(trained.names, trained.labels, snaps)
    table = list(csv.DictReader(io.StringIO(text)))
    assert {r["run"] for r in table} == {"A", "B", "C"}
    assert [r["step"] for r in table if r["run"] == "B"][:3] == ["1", "2", "3"]
    assert {r["settings"] for r in table if r["run"] == "C"} == {"loss hinge"}
    assert any(r["modes"] for r in table if r["run"] == "C")  # quality at its evaluation steps


def test_removing_a_run_keeps_the_others_training_in_step():
    comparison = Comparison([BASE, SMOOTH, HINGE])
    comparison.launch(10)
    comparison.launch(10)  # queued behind the first, as the window does while it draws
    assert comparison.in_flight == 2 and comparison.head_step == 20 and comparison.step == 0
    assert comparison.finish()[0] == 10 and comparison.finish()[0] == 10
    assert [s.step for s in comparison.sessions] == [20, 20, 20]
    kept = comparison.sessions[2].state
    comparison.remove(0)  # B and C become A and B; the vmapped group of A and B is now one run
    assert comparison.groups == [["A"], ["B"]] and comparison.configs == [SMOOTH, HINGE]
    assert comparison.sessions[1].state is kept
    comparison.advance(20)
    assert [s.step for s in comparison.sessions] == [40, 40]
    alone = Session(SMOOTH)
    alone.advance(40)
    assert_same_params(comparison.sessions[0].state, alone.state)
    comparison.reset()
    assert [s.step for s in comparison.sessions] == [0, 0]


def test_runs_share_one_evaluation_budget_and_take_turns():
    comparison = Comparison([BASE, SMOOTH, HINGE])
    for _ in range(40):
        comparison.advance(5)
    budget = comparison.budget
    assert all(s.quality.shared is budget for s in comparison.sessions)
    # Each tick's time is counted once for all runs, not once by each run's monitor.
    assert budget.train_seconds > 0 and all(s.quality.train_seconds == 0 for s in comparison.sessions)
    evals = [s.quality.evaluations for s in comparison.sessions]
    assert min(evals) >= 1 and max(evals) - min(evals) <= 1  # in turn: the same count each


class FakeMonitor:
    def __init__(self, ready=True, evaluations=1, eval_seconds=0.0):
        self.ready, self.evaluations, self.eval_seconds = ready, evaluations, eval_seconds


def test_the_budget_lets_one_run_evaluate_per_tick_the_one_with_fewest_evaluations():
    budget = EvaluationBudget(budget=0.04)
    a, b, c = FakeMonitor(evaluations=3), FakeMonitor(evaluations=2), FakeMonitor(evaluations=2)
    budget.monitors = [a, b, c]
    budget.tick(10.0)  # 0.4 s may be spent
    assert [budget.due(m) for m in (a, b, c)] == [False, True, False]
    budget.evaluated()
    assert not budget.due(b)  # one per tick
    budget.tick(0.01)
    b.evaluations, b.eval_seconds = 3, 0.5  # over budget now: nobody, except a first evaluation
    assert not any(budget.due(m) for m in (a, b, c))
    fresh = FakeMonitor(evaluations=0)
    budget.monitors.append(fresh)
    assert budget.due(fresh)
    # Runs whose classifier is not ready are let prepare it one at a time.
    x, y = FakeMonitor(ready=False), FakeMonitor(ready=False)
    budget.monitors += [x, y]
    assert budget.due(x) and not budget.due(y)
    x.ready = True
    assert budget.due(y)


@pytest.mark.parametrize("fixed, per_step, start, best", [
    (0.010, 0.002, 4, 8),  # 2 toy runs: a tick of 8 steps fits a frame
    (0.002, 0.0005, 4, 52),  # one small run: far more
    (0.015, 0.012, 4, 1),  # 4 runs on a loaded machine: one step per frame
    (0.040, 0.001, 1, 10),  # the fixed cost alone exceeds a frame: the steps get a fifth of a tick
])
def test_the_tick_sizer_finds_the_largest_tick_within_a_frame_in_few_changes(fixed, per_step, start, best):
    sizer = TickSizer(k=start)
    for _ in range(200):
        sizer.update(sizer.k, fixed + per_step * sizer.k)
    assert sizer.stable and sizer.changes <= 4 and len(sizer.measured) <= 5
    assert abs(np.log2(sizer.k / best)) <= 0.5, (sizer.k, sizer.measured)


def test_the_tick_sizer_keeps_measuring_when_the_machine_changes():
    sizer = TickSizer(k=4)
    for _ in range(200):  # 2 toy runs on an idle machine: 8 steps a tick
        sizer.update(sizer.k, 0.010 + 0.002 * sizer.k)
    assert sizer.stable and 6 <= sizer.k <= 11
    for _ in range(200):  # then another program takes a core: each step costs 3x
        sizer.update(sizer.k, 0.015 + 0.006 * sizer.k)
    assert sizer.stable and sizer.k <= 3, (sizer.k, sizer.measured)
    for _ in range(200):  # and leaves again
        sizer.update(sizer.k, 0.010 + 0.002 * sizer.k)
    assert sizer.stable and 6 <= sizer.k <= 11, (sizer.k, sizer.measured)


# -- files -------------------------------------------------------------------------------------------
def test_a_saved_set_reopens_and_continues_as_if_never_saved(trained, tmp_path):
    path = trained.save(tmp_path / "set")
    assert path.name == "set.ganplay-compare"
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["A.npz", "B.npz", "C.npz", "compare.json"]
        assert json.loads(z.read("compare.json"))["runs"][1]["label"] == "B: label_smoothing 0.2, seed 3"
    opened = Comparison.open(path)
    assert opened.configs == trained.configs and opened.groups == trained.groups
    assert [s.step for s in opened.sessions] == [500] * 3
    for mine, theirs in zip(opened.sessions, trained.sessions):
        assert_same_params(mine.state, theirs.state, atol=0)
        np.testing.assert_array_equal(mine.history.values("g_loss"), theirs.history.values("g_loss"))
        saved, reopened = theirs.quality.series(), mine.quality.series()  # the quality curves too
        assert len(saved["step"]) >= 1 and saved.keys() == reopened.keys()
        for key in saved:
            np.testing.assert_array_equal(reopened[key], saved[key])
    opened.advance(50)
    again = Comparison.open(path)
    again.advance(50)
    for mine, theirs in zip(opened.sessions, again.sessions):
        assert_same_params(mine.state, theirs.state, atol=0)


def test_a_set_saved_as_a_folder_holds_plain_run_files(trained, tmp_path):
    folder = trained.save_folder(tmp_path / "runs")
    assert sorted(p.name for p in folder.iterdir()) == ["A.npz", "B.npz", "C.npz", "compare.json"]
    alone = Session.open(folder / "C.npz")  # each is an ordinary run file
    assert alone.step == 500 and alone.config == HINGE
    opened = Comparison.open(folder)
    assert opened.labels == trained.labels and opened.step == 500


def test_corrupt_or_mismatched_sets_say_what_is_wrong_in_one_line(trained, tmp_path):
    garbage = tmp_path / "bad.ganplay-compare"
    garbage.write_bytes(b"not a zip")
    problems = {garbage: "is not a readable ganplay comparison file"}
    empty = tmp_path / "empty.ganplay-compare"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("other.txt", "x")
    problems[empty] = "is not a ganplay comparison \\(no compare.json\\)"
    folder = trained.save_folder(tmp_path / "steps")
    Session(BASE).save(folder / "B.npz")  # B now at step 0, A and C at 500
    problems[folder] = "the runs are at different steps \\(A: 500, B: 0, C: 500\\)"
    broken = trained.save_folder(tmp_path / "broken")
    (broken / "C.npz").write_bytes(b"\0" * 10)
    problems[broken] = "C.npz is not a readable ganplay run file"
    for path, message in problems.items():
        with pytest.raises(CheckpointError, match=message) as info:
            Comparison.open(path)
        assert "\n" not in str(info.value) and "ganplay-compare-" not in str(info.value)


@pytest.mark.skipif(jax.devices()[0].platform != "cpu", reason="the default choice on a CPU")
def test_by_default_on_the_cpu_runs_at_the_default_sizes_train_alone_so_they_reproduce():
    """Vmapping does not pay at the default toy sizes on a CPU: each run is its own session, the
    very program ``ganplay train`` runs; ``vmap=True`` still groups them."""
    base = Config.for_model("toy-mlp", dataset="grid25")
    configs = [base, base.replace(label_smoothing=0.2, seed=3)]
    comparison = Comparison(configs)
    assert comparison.groups == [["A"], ["B"]]
    assert [(names, together) for names, together, _ in comparison.training] == [(["A", "B"], False)]
    comparison.close()
    forced = Comparison(configs, vmap=True)
    assert forced.groups == [["A", "B"]]
    forced.close()
