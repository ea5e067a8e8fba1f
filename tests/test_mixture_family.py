"""The mixture family of benchmarks/mixtures.py: its generation and its scorer (no training; the
training figures are the benchmark's, in the README)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.bench_modules import load_benchmark


@pytest.fixture(scope="module")
def mixtures():
    return load_benchmark("mixtures", "mixtures_bench")


def test_the_family_has_every_kind_of_hardness_and_is_fixed_by_its_seed(mixtures):
    family = mixtures.family(0)
    assert len(family) >= 24 and len({m.name for m in family}) == len(family)
    again, other = mixtures.family(0), mixtures.family(1)
    for a, b in zip(family, again):
        np.testing.assert_array_equal(a.modes, b.modes)
        np.testing.assert_array_equal(a.covs, b.covs)
        np.testing.assert_array_equal(a.sample(100, 3), b.sample(100, 3))
    assert any(not np.array_equal(a.modes, b.modes) for a, b in zip(family, other))
    sizes = {len(m.weights) for m in family if m.name.startswith("ring")}
    assert min(sizes) == 6 and max(sizes) == 16
    grids = {len(m.weights) for m in family if m.name.startswith("grid")}
    assert min(grids) == 9 and max(grids) == 64
    ratios = [m.weights.max() / m.weights.min() for m in family]
    assert max(ratios) == pytest.approx(9.0)
    spreads = [m.spread for m in family]
    assert min(spreads) < 0.1 and max(spreads) > 50
    assert max(np.abs(m.modes.mean(0)).max() for m in family) >= 1000  # far from the origin
    eig = np.linalg.eigvalsh(np.concatenate([m.covs for m in family]))
    assert (eig[:, 1] / eig[:, 0]).max() >= 16  # 4:1 in std: anisotropic modes
    assert any(np.abs(m.covs[:, 0, 1]).max() > 0 for m in family)  # rotated ones
    assert {"spiral", "two-moons"} <= {m.name for m in family}


def test_samples_of_the_mixture_itself_are_solved_and_one_mode_is_not(mixtures):
    for m in mixtures.family(0):
        true = mixtures.score(m, m.sample(2500, seed=7))
        assert true["solved"] and true["modes"] == len(m.weights), (m.name, true)
        x = m.sample(40_000, seed=8)
        nearest = np.argmin(((x[:, None] - m.modes[None]) ** 2).sum(-1), axis=1)
        one = mixtures.score(m, x[nearest == int(np.argmax(m.weights))][:2500])
        assert not one["solved"] and one["modes"] == 1, (m.name, one)


def test_the_members_go_through_the_points_file_a_user_imports(mixtures, tmp_path):
    from ganplay.config import Config
    from ganplay.data import DATASETS
    from ganplay.data.points_file import save_points_csv

    member = next(m for m in mixtures.family(0) if m.name == "ring8-far")
    path = tmp_path / "m.csv"
    save_points_csv(member.sample(1000, seed=1), path)
    ds = DATASETS.get("points-file").load(Config(dataset="points-file", data_dir=str(path)), None)
    assert mixtures.score(member, ds.sample_numpy(2500, seed=2))["solved"]


def test_a_rotated_mode_is_scored_by_its_own_covariance():
    from ganplay.engine.metrics import mode_metrics

    class Thin:  # one mode: std 1 along the diagonal, 0.01 across it
        weights = np.array([1.0])
        modes = np.zeros((1, 2))
        c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
        rot = np.array([[c, -s], [s, c]])
        covs = (rot @ np.diag([1.0, 1e-4]) @ rot.T)[None]

    along = np.array([[2.0, 2.0], [-1.0, -1.0]]) / np.sqrt(2)  # 2 and 1 std along the mode
    across = np.array([[0.05, -0.05], [-0.1, 0.1]])  # 7 and 14 std across it
    assert mode_metrics(along, Thin)["high_quality"] == 1.0
    assert mode_metrics(across, Thin)["high_quality"] == 0.0


def test_a_cell_trained_with_an_older_recipe_is_trained_again_and_left_out_of_the_table(
        mixtures, monkeypatch, tmp_path):
    """Each cell keeps its settings: after a preset changes, its old cells neither stand in the
    table under the new recipe nor stop the run from training them again."""
    recipe = {"model": "toy-mlp", "lr_schedule": "linear", "batch_size": 512}
    monkeypatch.setattr(mixtures, "recipes", lambda: {"r": recipe})
    trained = []

    def fake_train(member, rec, steps, seed, work):
        trained.append((member.name, rec["batch_size"]))
        return {"modes": 8, "modes_total": 8, "high_quality": 0.95, "reverse_kl": 0.01, "solved": True}

    monkeypatch.setattr(mixtures, "train_member", fake_train)
    results = tmp_path / "cells.json"
    old = {"modes": 1, "modes_total": 8, "high_quality": 0.1, "reverse_kl": 1.0, "solved": False,
           "settings": {**recipe, "batch_size": 256, "schedule_steps": 100}}
    results.write_text(json.dumps({"r|ring8|0|100": old}))
    argv = ["--recipes", "r", "--members", "ring8", "--seeds", "0", "--steps", "100", "--results", str(results)]

    assert mixtures.main(["run", *argv]) == 0
    assert trained == [("ring8", 512)]
    cell = json.loads(results.read_text())["r|ring8|0|100"]
    assert cell["solved"] and cell["settings"] == {**recipe, "schedule_steps": 100}
    assert mixtures.main(["run", *argv]) == 0
    assert trained == [("ring8", 512)]  # current now: not trained a third time

    # The table shows only cells of the recipe as it is now.
    row = mixtures.markdown({"r|ring8|0|100": old}, ["r"], ["ring8"], [0], 100, {"r": recipe})
    assert "| r |" not in row
    row = mixtures.markdown({"r|ring8|0|100": cell}, ["r"], ["ring8"], [0], 100, {"r": recipe})
    assert "| r | 0 | 1/1 (100%)" in row
