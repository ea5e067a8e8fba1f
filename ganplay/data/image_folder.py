"""Load a folder of PNG / JPEG images as one uint8 array of equal-sized square images.

Files are found recursively and read in sorted order (by path relative to the folder), so the
same folder always gives the same array. Each image is centre-cropped to a square and resized
to ``size`` x ``size``. Images Pillow cannot read are skipped and counted in the warnings.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganplay.errors import ConfigError, DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CHANNELS = (0, 1, 3)  # 0: RGB if any image has colour, else grayscale
_SET_DATA_DIR = "set data_dir to a folder of PNG or JPEG images"
# Larger images are skipped, unread: decoded as RGB they would take 150 MB or more each (Pillow
# itself only warns below 89 million pixels, and a small PNG can declare that many).
MAX_PIXELS = 50_000_000


def list_image_files(folder: str | Path) -> list[Path]:
    """The PNG/JPEG files under ``folder`` (recursively), sorted by their path relative to it."""
    folder = Path(folder)
    files = [
        p for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def read_image_folder(
    folder: str | Path, size: int, channels: int = 0
) -> tuple[np.ndarray, list[str]]:
    """Images uint8 ``[N, size, size, C]`` and a list of warnings (unreadable files skipped).

    ``channels``: 1 grayscale, 3 RGB, 0 RGB if any image has colour (R, G, B not all equal)
    else grayscale.
    """
    if channels not in CHANNELS:
        raise ConfigError(f"image_channels={channels!r} is not allowed; choose one of: 0, 1, 3")
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"image size {size!r} must be a positive whole number")
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DataError(f"image folder {folder} does not exist; {_SET_DATA_DIR}")
    if not folder.is_dir():
        raise DataError(f"{folder} is a file, not a folder; {_SET_DATA_DIR}")
    files = list_image_files(folder)
    if not files:
        raise DataError(
            f"{folder} contains no PNG or JPEG images (searched its subfolders too); "
            f"add files ending in {', '.join(IMAGE_SUFFIXES)}"
        )

    rgb: list[np.ndarray] = []
    failures: list[str] = []
    for path in files:
        try:
            rgb.append(_square_rgb(path, size))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            # Pillow raises OSError (incl. UnidentifiedImageError) for unreadable or truncated
            # files and SyntaxError / ValueError for some malformed headers.
            failures.append(f"{path.relative_to(folder).as_posix()} ({exc})")
    if not rgb:
        raise DataError(
            f"none of the {len(files)} image files in {folder} could be read; "
            f"first failure: {failures[0]}"
        )
    images = np.stack(rgb)
    if channels == 0:
        r, g, b = images[..., 0], images[..., 1], images[..., 2]
        colour = bool(np.any(r != g) or np.any(g != b))
        channels = 3 if colour else 1
    if channels == 1:
        images = np.stack([np.asarray(Image.fromarray(x).convert("L")) for x in images])[..., None]

    warnings: list[str] = []
    if failures:
        shown = "; ".join(failures[:3]) + ("; ..." if len(failures) > 3 else "")
        warnings.append(
            f"skipped {len(failures)} of {len(files)} image files in {folder} that could not be "
            f"read: {shown}"
        )
    return images, warnings


def _square_rgb(path: Path, size: int) -> np.ndarray:
    """One image: decoded, EXIF-rotated, alpha composited on black, centre-cropped, resized."""
    with Image.open(path) as im:
        if im.width * im.height > MAX_PIXELS:  # from the header, before anything is decoded
            raise ValueError(f"{im.width}x{im.height} is more than {MAX_PIXELS:,} pixels")
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            background = Image.new("RGBA", im.size, (0, 0, 0, 255))
            im = Image.alpha_composite(background, im)
        im = im.convert("RGB")
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))
        if side != size:
            im = im.resize((size, size), Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.uint8)
