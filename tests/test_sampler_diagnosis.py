"""benchmarks/sampler_diagnosis.py: the pieces behind the README's account of why the samplers add
little on grid25-solved (the AUC of D's logit, and D trained on with G frozen)."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.engine.train import build_trainer
from tests.bench_modules import load_benchmark


@pytest.fixture(scope="module")
def diag():
    return load_benchmark("sampler_diagnosis", "sampler_diagnosis_bench")


def test_auc_is_the_chance_a_good_sample_outscores_a_bad_one(diag):
    good = np.array([True, True, False, False])
    assert diag.auc(np.array([3.0, 2.0, 1.0, 0.0]), good) == 1.0
    assert diag.auc(np.array([0.0, 1.0, 2.0, 3.0]), good) == 0.0
    assert diag.auc(np.array([3.0, 0.0, 1.0, 2.0]), good) == 0.5


def test_training_d_on_keeps_g_and_learns_to_tell_an_untrained_g_from_the_data(diag):
    trainer = build_trainer(Config.for_model("toy-mlp", dataset="ring8", hidden=16, batch_size=64))
    state = trainer.init()
    _, first = diag.train_d(trainer, state, 1, 3e-3)
    refined, loss = diag.train_d(trainer, state, 300, 3e-3)
    assert first > 1.3 and loss < 1.0  # an untrained G's blob at the centre is easy to tell from the ring
    same = jax.tree_util.tree_map(lambda a, b: bool(np.array_equal(a, b)), refined.g_params, state.g_params)
    assert all(jax.tree_util.tree_leaves(same))
    moved = jax.tree_util.tree_map(lambda a, b: bool(np.array_equal(a, b)), refined.d_params, state.d_params)
    assert not all(jax.tree_util.tree_leaves(moved))
