"""The nearest real training images of a generated one (L2 in pixel space), the latent lab's
memorisation check: a teacher can show that the generator is not copying its training set.

The training images sit on the device once, flattened, as float32 in [-1, 1] with their squared
norms; a query is one jitted program that walks over them in chunks (``lax.map``), keeps each
chunk's best ``k`` and merges them, so memory stays at one chunk's distances whatever the set's
size. ||x - r||² = ||x||² - 2 x·r + ||r||²: one matrix product per chunk.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

CHUNK = 8192  # training images per step of the walk


def _to_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return (images.astype(np.float32) - 127.5) / 127.5
    return np.asarray(images, np.float32)


class NearestImages:
    """Index a training set ``[N, H, W, C]`` (uint8, or float in [-1, 1]) for nearest-image queries."""

    def __init__(self, images: np.ndarray, chunk: int = CHUNK):
        n = len(images)
        if n == 0:
            raise ValueError("no training images to search")
        self.shape = tuple(images.shape[1:])
        self.n = n
        chunk = min(chunk, n)
        chunks = -(-n // chunk)
        flat = np.zeros((chunks * chunk, int(np.prod(self.shape))), np.float32)
        for i in range(0, n, 16384):  # converted in slices: no second full-size temporary
            part = _to_float(images[i:i + 16384]).reshape(-1, flat.shape[1])
            flat[i:i + len(part)] = part
        norms = np.einsum("ij,ij->i", flat, flat)
        norms[n:] = np.inf  # padding rows are never the nearest
        self._real = jax.device_put(flat.reshape(chunks, chunk, -1))
        self._norms = jax.device_put(norms.reshape(chunks, chunk))
        self._chunk = chunk

    @classmethod
    def for_dataset(cls, dataset) -> NearestImages:
        """The training images of an image dataset, padded as the model sees them."""
        images = dataset.images
        if getattr(dataset, "pad_to", None) is not None:  # (28x28 digits for a 32x32 model)
            images = dataset._pad(_to_float(images), np)
        return cls(images)

    def query(self, x: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """For each image of ``x`` ``[B, H, W, C]`` in [-1, 1]: the indices ``[B, k]`` of its ``k``
        nearest training images, nearest first, and their L2 distances ``[B, k]``."""
        x = np.asarray(x, np.float32).reshape(len(x), -1)
        if x.shape[1] != self._real.shape[-1]:
            raise ValueError(f"images of {x.shape[1]} values; the training images have {self._real.shape[-1]}")
        k = min(int(k), self.n)
        idx, d2 = _nearest(self._real, self._norms, jnp.asarray(x), k, self._chunk)
        return np.asarray(idx), np.sqrt(np.maximum(np.asarray(d2, np.float64), 0.0))


@partial(jax.jit, static_argnums=(3, 4))
def _nearest(real, norms, x, k: int, chunk: int):
    xx = jnp.sum(x * x, axis=1)

    def best_in(args):
        block, block_norms = args  # [chunk, D], [chunk]
        d2 = xx[:, None] - 2.0 * x @ block.T + block_norms[None, :]
        neg, where = jax.lax.top_k(-d2, k)
        return -neg, where

    d2, where = jax.lax.map(best_in, (real, norms))  # [chunks, B, k] each
    offsets = (jnp.arange(real.shape[0]) * chunk)[:, None, None]
    d2 = jnp.moveaxis(d2, 0, 1).reshape(x.shape[0], -1)
    index = jnp.moveaxis(where + offsets, 0, 1).reshape(x.shape[0], -1)
    neg, pick = jax.lax.top_k(-d2, k)
    return jnp.take_along_axis(index, pick, axis=1), -neg
