"""The latent lab's jobs: what its thread runs (``st`` is the thread's own state: the
:class:`~ganplay.engine.latent.LatentLab`, the nearest-image index). Plain functions, no Qt."""
from __future__ import annotations

import time

import numpy as np

from ganplay.engine import latent as lab_math
from ganplay.engine.latent import LatentLab

N_DIRECTIONS = 10


def new_lab(st: dict, snap) -> bool:
    st["lab"] = LatentLab(snap)
    return True  # (a result: the dock then checks the nearest-image index)


def update_lab(st: dict, snap) -> bool:
    st["lab"].update(snap)
    return True


def index(st: dict):
    """Index the training set in use for nearest-image queries (once per dataset)."""
    from ganplay.engine.neighbours import NearestImages

    dataset = st["lab"].snap.dataset
    if dataset is None or getattr(dataset, "images", None) is None or st.get("indexed") is dataset:
        return None
    st["index"], st["indexed"] = NearestImages.for_dataset(dataset), dataset
    return True


def render(st: dict, z: np.ndarray, label):
    """The focus image, its 3 nearest training images (in [-1, 1]) and their distances, and ``z``."""
    lab = st["lab"]
    image = lab.generate(z[None], None if label is None else [label])
    nearest = st.get("index")
    if nearest is None or st.get("indexed") is not lab.snap.dataset or nearest.shape != image.shape[1:]:
        return image, None, None, z  # (the index is still being built)
    where, distances = nearest.query(image, k=3)
    return image, st["indexed"].images[where[0]].astype(np.float32) / 127.5 - 1.0, distances[0], z


def discover(st: dict):
    start = time.perf_counter()
    d = lab_math.discover_directions(st["lab"], N_DIRECTIONS)
    return d, time.perf_counter() - start
