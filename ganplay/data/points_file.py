"""Your own 2-D data: a CSV file of ``x,y`` rows (``points-file``; the path is ``data_dir``).

The points go to the device once; each training step draws its batch from them uniformly with
replacement, inside the jitted step like the other toy datasets. ``save_points_csv`` writes the
same format (the GUI's draw mode).

With ``standardize`` on (the default) the device holds the points centred on their mean and
divided by their spread (:func:`standard_map`), so the networks see data of unit scale wherever
the user's points sit; the trainer maps G's samples back (``data_map``), so views, CSVs and
metrics are in the file's own coordinates. ``benchmarks/mixtures.py`` measured why: the default
toy GAN trained on a ring far from the origin or 100 times larger found fewer modes.

Format: one ``x,y`` pair per line, an optional header line (e.g. ``x,y``) first, blank lines
and ``#`` comments ignored. At least 2 points, all finite.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.data.base import DATASETS, DatasetSpec
from ganplay.errors import DataError, GanplayError

MIN_POINTS = 2
FLOAT32_MAX = float(np.finfo(np.float32).max)
_SET_DATA_DIR = "set data_dir to a CSV file of x,y rows"


@dataclass(frozen=True, eq=False)
class PointsFile:
    """2-D points read from a file; ``points`` is float32 ``[N, 2]``."""

    points: np.ndarray
    source: str = ""
    # (centre [2], scale): training sees (points - centre) / scale; None trains on the points as read.
    data_map: tuple[np.ndarray, float] | None = None
    name: str = "points-file"
    kind: str = "points"
    shape: tuple[int, ...] = (2,)
    modes = None  # no discrete modes: quality is the k-NN divergence only

    @property
    def split_note(self) -> str:
        """One line for the status bar and the CLI: how the points are trained."""
        if self.data_map is None:
            return f"{len(self.points):,} points, trained as read (standardize off)"
        (cx, cy), scale = self.data_map
        return (f"{len(self.points):,} points, trained standardised: centred on ({cx:.4g}, {cy:.4g}) and "
                f"divided by their spread {scale:.4g}; samples are shown and saved in the file's coordinates")

    def device_arrays(self):
        points = self.points
        if self.data_map is not None:
            centre, scale = self.data_map
            points = (np.asarray(points, np.float64) - centre) / scale
        return {"points": jnp.asarray(points, jnp.float32)}

    @staticmethod
    def sample(arrays, key, n: int):
        points = arrays["points"]
        return points[jax.random.randint(key, (n,), 0, points.shape[0])]

    def sample_numpy(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` points in the file's own coordinates."""
        rng = np.random.default_rng(seed)
        return self.points[rng.integers(0, len(self.points), size=n)]


def standard_map(points) -> tuple[np.ndarray, float]:
    """The points' mean and one isotropic scale, the root mean of the per-axis variances (1 when
    they are all equal): one scale for both axes keeps the shapes (a circle stays a circle)."""
    p = np.asarray(points, np.float64)
    centre = p.mean(axis=0)
    scale = float(np.sqrt(p.var(axis=0).mean()))
    return centre, (scale if scale > 0 and math.isfinite(scale) else 1.0)


def read_points_csv(path) -> np.ndarray:
    """float32 ``[N, 2]`` from a CSV of ``x,y`` rows; DataError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; {_SET_DATA_DIR}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; {_SET_DATA_DIR}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text file; {_SET_DATA_DIR}") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows: list[tuple[float, float]] = []
    seen_content = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        cells = [c.strip() for c in line.split(",")]
        values = [_number(c) for c in cells]
        first = not seen_content
        seen_content = True
        if first and all(v is None for v in values):
            continue  # a header such as "x,y"
        if len(cells) != 2:
            raise DataError(f"{path}, line {number}: expected 2 values (x,y), found {len(cells)}: {line!r}")
        for cell, value in zip(cells, values):
            if value is None:
                raise DataError(f"{path}, line {number}: {cell!r} is not a number")
            if not math.isfinite(value):
                raise DataError(f"{path}, line {number}: {cell!r} is not finite (NaN or infinity)")
            if abs(value) > FLOAT32_MAX:
                raise DataError(f"{path}, line {number}: {cell!r} is too large (beyond float32)")
        rows.append((values[0], values[1]))
    if len(rows) < MIN_POINTS:
        raise DataError(f"{path} holds {len(rows)} point{'s' if len(rows) != 1 else ''}; "
                        f"at least {MIN_POINTS} x,y rows are needed")
    return np.asarray(rows, np.float32)


def save_points_csv(points, path) -> None:
    """Write ``points`` [N, 2] as an ``x,y`` CSV with a header, atomically."""
    from ganplay.files import atomic_write_bytes

    p = np.asarray(points, np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must be an [N, 2] array, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("points must be finite")
    buf = io.StringIO()
    buf.write("x,y\n")
    np.savetxt(buf, p, fmt="%.9g", delimiter=",")
    try:
        atomic_write_bytes(Path(path), buf.getvalue().encode())
    except GanplayError as exc:
        raise DataError(str(exc)) from None


def points_file(config, image_size=None) -> PointsFile:
    location = str(config.data_dir).strip()
    if not location:
        raise DataError(f"the points-file dataset reads the CSV file named by data_dir, which is empty; {_SET_DATA_DIR}")
    path = Path(location).expanduser()
    points = read_points_csv(path)
    return PointsFile(points=points, source=str(path),
                      data_map=standard_map(points) if getattr(config, "standardize", True) else None)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


# It reads the user's own file: nothing to download, so needs_files stays False (the download
# machinery would look for a source).
DATASETS.register("points-file", DatasetSpec(
    "points-file", "Your own 2-D points: a CSV file of x,y rows (data_dir names the file)",
    "points", points_file,
))
