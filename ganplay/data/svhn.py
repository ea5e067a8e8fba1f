"""Read the SVHN cropped-digits files (``train_32x32.mat``, ``test_32x32.mat``).

They are MATLAB v5 files holding ``X``: uint8 ``[32, 32, 3, N]`` and ``y``: ``[N, 1]`` with
labels 1..10, where 10 stands for the digit 0. ``scipy.io.loadmat`` parses them without pickle.
Every problem is a :class:`DataError` that names the file and says what is wrong.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ganplay.errors import DataError

IMAGE_SHAPE = (32, 32, 3)
# The most a file may unpack to: the training set's images are 225 MB; a compressed variable
# (the SVHN site's files have none) is unpacked by scipy whole, so a 1 MB file could ask for GBs.
MAX_BYTES = 1 << 30
_MI_COMPRESSED = 15
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_REDOWNLOAD = "delete it and download it again from http://ufldl.stanford.edu/housenumbers/"


def read_svhn_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``[N, 32, 32, 3]`` and labels int32 ``[N]`` (0..9) from an SVHN ``.mat``."""
    path = Path(path)
    mat = _load_mat(path)
    missing = [k for k in ("X", "y") if k not in mat]
    if missing:
        found = _variable_names(path) or ["nothing"]
        raise DataError(
            f"{path} has no variable {' or '.join(repr(k) for k in missing)} (found: "
            f"{', '.join(found)}); it is not an SVHN cropped-digits file (train_32x32.mat / "
            "test_32x32.mat)"
        )
    x, y = mat["X"], mat["y"]
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[:3] != IMAGE_SHAPE:
        raise DataError(
            f"{path}: X has shape {getattr(x, 'shape', type(x).__name__)}, expected 32x32x3xN; "
            "only the cropped-digits files (*_32x32.mat) are supported"
        )
    if x.dtype != np.uint8:
        raise DataError(f"{path}: X has dtype {x.dtype}, expected uint8; {_REDOWNLOAD}")
    n = x.shape[3]
    if n == 0:
        raise DataError(f"{path} holds no images")
    column = isinstance(y, np.ndarray) and (y.ndim == 1 or (y.ndim == 2 and 1 in y.shape))
    if not column or y.size != n:
        raise DataError(
            f"{path}: y has shape {getattr(y, 'shape', type(y).__name__)} but X holds {n} images; "
            f"expected y of shape {n}x1; {_REDOWNLOAD}"
        )
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise DataError(f"{path}: y has dtype {y.dtype}, expected integer labels 1..10")
    labels = y.reshape(-1)
    whole = np.isfinite(labels) & (labels == np.round(labels))
    if np.issubdtype(labels.dtype, np.floating) and not np.all(whole):
        raise DataError(f"{path}: y holds non-integer labels; expected 1..10")
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels > 10)
    if bad.any():
        raise DataError(
            f"{path}: y holds label {int(labels[bad][0])}; SVHN labels are 1..10 (10 means digit 0)"
        )
    labels = np.where(labels == 10, 0, labels).astype(np.int32)
    # MATLAB stores X as [H, W, C, N]; move N to the front (a contiguous copy).
    images = np.ascontiguousarray(np.transpose(x, (3, 0, 1, 2)))
    return images, labels


def _variable_names(path: Path) -> list[str]:
    """The names of the variables in a readable .mat file (for the error message)."""
    from scipy.io import whosmat

    return sorted(name for name, _, _ in whosmat(path))


def _check_unpacked_size(path: Path) -> None:
    """Refuse a file whose compressed variables unpack to more than ``MAX_BYTES``, counted by
    unpacking them in chunks that are dropped (scipy unpacks a variable whole, even to list it)."""
    with open(path, "rb") as f:
        data = f.read()
    little = data[126:128] == b"IM"
    at, total = 128, 0
    while at + 8 <= len(data):
        kind, size = struct.unpack("<II" if little else ">II", data[at:at + 8])
        if kind >> 16:  # a small data element: its data is in the tag's second word
            at += 8
            continue
        if kind == _MI_COMPRESSED:
            inflate = zlib.decompressobj()
            chunk = data[at + 8:at + 8 + size]
            try:
                while chunk and total <= MAX_BYTES:
                    total += len(inflate.decompress(chunk, 1 << 20))
                    chunk = inflate.unconsumed_tail
            except zlib.error:
                return  # damaged: scipy says how
        else:
            total += size
        if total > MAX_BYTES:
            raise DataError(f"{path} unpacks to more than {MAX_BYTES:,} bytes, more than an SVHN file holds "
                            f"(the training set's images: 225 MB); {_REDOWNLOAD}")
        at += 8 + size + (-size % 8 if kind != _MI_COMPRESSED else 0)


def _load_mat(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            head = f.read(520)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"MATLAB 7.3") or head[512:520] == _HDF5_SIGNATURE:
        raise DataError(
            f"{path} is a MATLAB v7.3 (HDF5) file; ganplay reads the MATLAB v5 files that the SVHN "
            "site publishes: use the original train_32x32.mat / test_32x32.mat, or re-save in "
            "MATLAB with save(..., '-v7')"
        )
    if not head.startswith(b"MATLAB 5.0 MAT-file"):
        raise DataError(
            f"{path} is not a MATLAB v5 .mat file (it does not start with 'MATLAB 5.0 MAT-file'); "
            f"{_REDOWNLOAD}"
        )
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DataError(
            f"reading {path} needs SciPy, which is not installed; install it with: "
            "pip install scipy"
        ) from None
    _check_unpacked_size(path)
    try:
        return loadmat(path, variable_names=("X", "y"))
    except Exception as exc:  # noqa: BLE001
        # scipy reports damaged files with many types (OSError, ValueError, IndexError, zlib.error,
        # struct.error, MatReadError...); each one means the same thing to the user.
        raise DataError(
            f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}); {_REDOWNLOAD}"
        ) from None
