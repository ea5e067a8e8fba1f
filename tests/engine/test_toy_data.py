"""2-D toy distributions: the documented modes, weights and spreads."""
import jax
import numpy as np
import pytest

from ganplay.config import Config
from ganplay.data import DATASETS


def sample(name, n=20_000, **config):
    ds = DATASETS.get(name).load(Config(dataset=name, **config), None)
    x = np.asarray(jax.jit(ds.sample, static_argnums=2)(ds.device_arrays(), jax.random.PRNGKey(0), n))
    return ds, x


def test_ring8_points_sit_on_eight_modes_with_std_001():
    ds, x = sample("ring8")
    d = np.linalg.norm(x[:, None] - ds.modes[None], axis=-1)
    nearest = d.argmin(1)
    assert np.allclose(np.linalg.norm(ds.modes, axis=1), 1.0)
    assert np.bincount(nearest, minlength=8).min() > 0.1 * len(x)
    assert np.std(x - ds.modes[nearest]) == pytest.approx(0.01, rel=0.05)


def test_grid25_modes():
    ds, x = sample("grid25")
    assert sorted(set(ds.modes[:, 0])) == [-4, -2, 0, 2, 4]
    nearest = np.linalg.norm(x[:, None] - ds.modes[None], axis=-1).argmin(1)
    assert len(np.unique(nearest)) == 25
    assert np.std(x - ds.modes[nearest]) == pytest.approx(0.05, rel=0.05)


def test_gmm2_matches_seed_002_and_is_editable():
    _, x = sample("gmm2", n=40_000)
    # mixture of N((0,0), 0.1 I) and N((1,1), 0.1 I) with equal weights
    np.testing.assert_allclose(x.mean(0), [0.5, 0.5], atol=0.02)
    np.testing.assert_allclose(np.var(x, axis=0), 0.1 + 0.25, atol=0.02)
    _, y = sample("gmm2", gmm_weights=(0.2, 0.8), gmm_means=((0, 0), (3, -1)), gmm_cov=((0.1, 0.1), (0.1, 0.1)))
    np.testing.assert_allclose(y.mean(0), [2.4, -0.8], atol=0.05)


def test_spiral_is_a_curve_not_a_blob():
    _, x = sample("spiral", n=5000)
    t = np.linspace(0.1, 1.0, 4000)
    curve = np.stack([2 * t * np.cos(3 * np.pi * t), 2 * t * np.sin(3 * np.pi * t)], axis=1)
    dist = np.linalg.norm(x[:, None] - curve[None], axis=-1).min(1)
    assert np.median(dist) < 0.06  # noise std 0.05 around the curve
    # and it is not a blob: a Gaussian with the same mean/cov is far from the curve
    blob = np.random.default_rng(0).multivariate_normal(x.mean(0), np.cov(x.T), 2000)
    assert np.median(np.linalg.norm(blob[:, None] - curve[None], axis=-1).min(1)) > 0.1
