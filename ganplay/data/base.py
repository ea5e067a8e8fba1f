"""What a dataset is, as far as the engine is concerned.

A dataset puts its data (or the parameters of its distribution) on the device once, as a pytree of
arrays, and provides a pure, jittable ``sample(arrays, key, n)`` that the training step calls
inside its ``lax.scan``: no host-to-device copy per step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from ganplay.registry import Registry


class Dataset(Protocol):
    name: str
    kind: str  # "points" (2-D toy data) or "images"
    shape: tuple[int, ...]  # one sample's shape: (2,) or (H, W, C)

    def device_arrays(self) -> Any:
        """The pytree of arrays that ``sample`` reads; placed on the device once per run."""

    def sample(self, arrays: Any, key: Any, n: int) -> Any:
        """Pure and jittable: ``n`` samples as float32 ``[n, *shape]`` (images in [-1, 1])."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    kind: str  # "points" or "images"
    load: Callable[[Any, "int | None"], Dataset]  # (config, image_size the model needs or None) -> Dataset
    needs_files: bool = False  # True when it reads files (may need a download)


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def to_uint8_images(x: np.ndarray) -> np.ndarray:
    """Map images in [-1, 1] to uint8 [0, 255] (for grids and PNGs)."""
    return np.clip(np.rint((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
