"""2-D toy distributions, sampled on the device inside the training step.

``gmm2`` is seed 002's mixture (editable through the config's ``gmm_*`` fields); ``ring8`` and
``grid25`` are the standard mode-collapse benchmarks of the PacGAN/VEEGAN papers; ``spiral`` is a
continuous curve with no discrete modes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.data.base import DATASETS, DatasetSpec


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of axis-aligned 2-D Gaussians. ``modes`` and ``stds`` feed the mode metrics."""

    name: str
    weights: np.ndarray  # [K], sums to 1
    modes: np.ndarray  # [K, 2] means
    stds: np.ndarray  # [K, 2] per-axis standard deviations
    kind: str = "points"
    shape: tuple[int, ...] = (2,)

    def device_arrays(self):
        return {
            "log_weights": jnp.log(jnp.asarray(self.weights, jnp.float32)),
            "means": jnp.asarray(self.modes, jnp.float32),
            "stds": jnp.asarray(self.stds, jnp.float32),
        }

    @staticmethod
    def sample(arrays, key, n: int):
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.categorical(k_comp, arrays["log_weights"], shape=(n,))
        eps = jax.random.normal(k_noise, (n, 2), jnp.float32)
        return arrays["means"][comp] + arrays["stds"][comp] * eps

    def sample_numpy(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        return (self.modes[comp] + self.stds[comp] * rng.standard_normal((n, 2))).astype(np.float32)


@dataclass(frozen=True)
class Spiral:
    """An Archimedean spiral (1.5 turns) with Gaussian noise around the curve; no discrete modes."""

    name: str = "spiral"
    noise_std: float = 0.05
    kind: str = "points"
    shape: tuple[int, ...] = (2,)
    modes = None

    def device_arrays(self):
        return {"noise_std": jnp.float32(self.noise_std)}

    @staticmethod
    def sample(arrays, key, n: int):
        k_t, k_noise = jax.random.split(key)
        # sqrt makes the density uniform along the curve's length (approximately, r grows with t)
        t = jnp.sqrt(jax.random.uniform(k_t, (n,), jnp.float32, 0.02, 1.0))
        theta = 3.0 * math.pi * t
        r = 2.0 * t
        pts = jnp.stack([r * jnp.cos(theta), r * jnp.sin(theta)], axis=-1)
        return pts + arrays["noise_std"] * jax.random.normal(k_noise, (n, 2), jnp.float32)

    def sample_numpy(self, n: int, seed: int = 0) -> np.ndarray:
        key = jax.random.PRNGKey(seed)
        return np.asarray(self.sample(self.device_arrays(), key, n))


def gmm2(config, image_size=None) -> GaussianMixture:
    w = np.asarray(config.gmm_weights, np.float64)
    return GaussianMixture(
        name="gmm2",
        weights=w / w.sum(),
        modes=np.asarray(config.gmm_means, np.float64),
        stds=np.sqrt(np.asarray(config.gmm_cov, np.float64)),
    )


def ring8(config=None, image_size=None) -> GaussianMixture:
    angles = 2 * np.pi * np.arange(8) / 8
    return GaussianMixture(
        name="ring8",
        weights=np.full(8, 1 / 8),
        modes=np.stack([np.cos(angles), np.sin(angles)], axis=-1),
        stds=np.full((8, 2), 0.01),
    )


def grid25(config=None, image_size=None) -> GaussianMixture:
    xs = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = np.array([(x, y) for x in xs for y in xs])
    return GaussianMixture(
        name="grid25", weights=np.full(25, 1 / 25), modes=modes, stds=np.full((25, 2), 0.05)
    )


def spiral(config=None, image_size=None) -> Spiral:
    return Spiral()


DATASETS.register("gmm2", DatasetSpec("gmm2", "Seed 002's two-Gaussian mixture (editable)", "points", gmm2))
DATASETS.register("ring8", DatasetSpec("ring8", "8 Gaussians on the unit circle, std 0.01", "points", ring8))
DATASETS.register("grid25", DatasetSpec("grid25", "5×5 grid of Gaussians, std 0.05", "points", grid25))
DATASETS.register("spiral", DatasetSpec("spiral", "A noisy 1.5-turn spiral", "points", spiral))
