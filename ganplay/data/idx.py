"""Read IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw, with validation.

An IDX file is a 4-byte magic number ``00 00 <dtype> <ndim>``, ``ndim`` big-endian uint32
dimensions, then the data in C order. Only unsigned bytes (dtype 0x08) occur in these datasets.
Every problem is a :class:`DataError` that names the file, says what is wrong and what to do.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ganplay.errors import DataError

UBYTE = 0x08
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions: count, rows, columns
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension: count

_GZIP_SIGNATURE = b"\x1f\x8b"
# The most an IDX file may hold: MNIST's largest, the training images, holds 47 MB.
MAX_BYTES = 1 << 30
_TRAILING_COUNTED = 64 << 20  # bytes beyond the declared shape are counted up to here
_REDOWNLOAD = "delete it and download it again (or copy a good copy in its place)"


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """The array in the IDX file at ``path``, which must hold unsigned bytes in ``ndim`` dims."""
    path = Path(path)
    data, trailing = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path} is too short to be an IDX file ({len(data)} bytes); {_REDOWNLOAD}")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path} is not an IDX file (magic number 0x{data[:4].hex()} does not start with "
            f"0000); {_REDOWNLOAD}"
        )
    if data[2] != UBYTE:
        raise DataError(
            f"{path} stores IDX data type 0x{data[2]:02x}; only unsigned bytes (0x08) are "
            "supported, as in the canonical MNIST files"
        )
    if data[3] != ndim:
        expected = {3: "images", 1: "labels"}.get(ndim, f"{ndim}-D data")
        raise DataError(
            f"{path} has magic number 0x{data[:4].hex()} ({data[3]} dimensions), but {expected} "
            f"need 0x{0x0800 | ndim:08x}; check that the images and labels files are not swapped"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated inside its header; {_REDOWNLOAD}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if any(d == 0 for d in dims):
        raise DataError(f"{path} declares an empty array of shape {dims}; {_REDOWNLOAD}")
    expected_size = header + int(np.prod(dims, dtype=np.int64))
    if len(data) < expected_size:
        raise DataError(
            f"{path} is truncated: its header declares shape {dims} ({expected_size} bytes) but it "
            f"holds {len(data)} bytes; {_REDOWNLOAD}"
        )
    if trailing:
        count = f"{trailing:,}" if trailing <= _TRAILING_COUNTED else f"more than {_TRAILING_COUNTED:,}"
        raise DataError(
            f"{path} has {count} bytes beyond the shape {dims} its header "
            f"declares; the file is corrupt: {_REDOWNLOAD}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_images(path: str | Path) -> np.ndarray:
    """Images as uint8 ``[N, rows, cols, 1]``."""
    return read_idx(path, 3)[..., None]


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Labels as int32 ``[N]``."""
    return read_idx(path, 1).astype(np.int32)


def read_idx_pair(
    images_path: str | Path, labels_path: str | Path
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, rows, cols, 1]`` uint8 and their labels ``[N]`` int32; the counts must agree."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; the two files come from different sets (train vs t10k?) or one is corrupt"
        )
    return images, labels


def _read_bytes(path: Path) -> tuple[bytes, int]:
    """The file's bytes (decompressed when it is gzip, by name or by its signature), at most as
    many as its header declares, and the count of bytes beyond them: a gzip bomb or a lying
    header is never unpacked into memory."""
    try:
        with open(path, "rb") as f:
            gzipped = path.name.endswith(".gz") or f.read(2) == _GZIP_SIGNATURE
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) == 4 and head[:2] == b"\0\0":
                head += f.read(4 * head[3])
            if len(head) < 4 or len(head) < 4 + 4 * head[3]:
                return head, 0  # too short: read_idx says what is wrong
            dims = np.frombuffer(head, ">u4", count=head[3], offset=4).astype(object)
            declared = len(head) + int(np.prod(dims)) if len(dims) else len(head)
            if declared > MAX_BYTES:
                raise DataError(f"{path} declares shape {tuple(int(d) for d in dims)} ({declared:,} bytes), "
                                f"more than an IDX dataset holds ({MAX_BYTES:,}); {_REDOWNLOAD}")
            data = head + f.read(declared - len(head))
            trailing = 0  # counted, not kept, up to a bound
            while trailing <= _TRAILING_COUNTED and (chunk := f.read(1 << 20)):
                trailing += len(chunk)
            return data, trailing
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        # BadGzipFile: not gzip / bad CRC; EOFError: stream ends early (truncated download).
        what = "truncated" if isinstance(exc, EOFError) else "not a valid gzip file"
        raise DataError(f"{path} is {what} ({exc}); {_REDOWNLOAD}") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
