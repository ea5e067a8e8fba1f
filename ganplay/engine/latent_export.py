"""The latent lab's files: direction sheets as PNG, walks as GIF, directions as ``.npz`` (no Qt).

Drawing lives here, apart from :mod:`ganplay.engine.latent`'s mathematics, and reuses
:mod:`ganplay.report.images`' grid.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ganplay.report.images import png_bytes, tile_grid
from ganplay.engine.latent import Directions
from ganplay.files import atomic_write_bytes

SHEET_SCALE = 3  # pixels per image pixel in an exported sheet


def _png(grid: np.ndarray, scale: int) -> bytes:
    return png_bytes(grid, scale)


def sheet_grid(blocks: list[np.ndarray], cols: int, gap: int = 4) -> np.ndarray:
    """uint8 grid of one or more sheets (each ``[rows * cols, H, W, C]`` in [-1, 1]) stacked
    vertically with a white ``gap`` between them."""
    grids = [tile_grid(block, cols=cols) for block in blocks]
    if len(grids) == 1:
        return grids[0]
    spacer = np.full((gap, grids[0].shape[1], grids[0].shape[2]), 255, np.uint8)
    parts = []
    for g in grids:
        parts += [g, spacer]
    return np.concatenate(parts[:-1])


def write_sheet(path, blocks: list[np.ndarray], cols: int, scale: int = SHEET_SCALE) -> Path:
    """Write sheets (see :func:`sheet_grid`) as one PNG; returns the path."""
    path = Path(path)
    atomic_write_bytes(path, _png(sheet_grid(blocks, cols), scale))
    return path


def write_directions(path, directions: Directions) -> Path:
    """``directions.npz``: ``directions`` ``[k, z_dim]`` unit rows, ``explained_variance`` ``[k]``
    (each one's share of the layer's variance), ``sd`` ``[k]`` and ``step``."""
    buf = io.BytesIO()
    np.savez(buf, directions=directions.vectors, explained_variance=directions.explained_variance,
             sd=directions.sd, step=np.int64(directions.step))
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def gif_bytes(frames: np.ndarray, frame_ms: int = 80, scale: int = 4) -> bytes:
    """An endlessly looping GIF of ``frames`` ``[n, H, W, C]`` in [-1, 1]."""
    from PIL import Image

    from ganplay.data.base import to_uint8_images

    pixels = to_uint8_images(np.asarray(frames))
    images = []
    for f in pixels:
        img = Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f)
        images.append(img.resize((img.width * scale, img.height * scale), Image.NEAREST))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0,
                   optimize=False, disposal=1)
    return buf.getvalue()


def export_walk(path, frames: np.ndarray, frame_ms: int = 80) -> Path:
    """Write a walk's frames as an animation: the one place the lab exports moving images.

    Today a Pillow GIF whatever the suffix asks; when the timeline's MP4 exporter lands, an
    ``.mp4`` path can go to it here.
    """
    path = Path(path)
    atomic_write_bytes(path, gif_bytes(frames, frame_ms))
    return path
