"""Image helpers shared by the CLI and the GUI: tiling samples into one grid (no Qt)."""
from __future__ import annotations

import io
import math

import numpy as np

from ganplay.data.base import to_uint8_images


def tile_grid(images: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile ``[N, H, W, C]`` images in [-1, 1] into one uint8 ``[rows*(H+pad), cols*(W+pad), C]``."""
    images = to_uint8_images(images)
    n, h, w, c = images.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def grid_png_bytes(images: np.ndarray, cols: int | None = None, scale: int = 2) -> bytes:
    return png_bytes(tile_grid(images, cols), scale)


def png_bytes(grid: np.ndarray, scale: int = 1) -> bytes:
    """A uint8 ``[H, W, C]`` picture (C 1 or 3) as PNG bytes, each pixel ``scale`` x ``scale``."""
    from PIL import Image

    mode = "L" if grid.shape[-1] == 1 else "RGB"
    img = Image.fromarray(grid[..., 0] if mode == "L" else grid, mode)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
