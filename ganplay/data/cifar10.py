"""Read CIFAR-10 from its binary distribution (``cifar-10-binary.tar.gz``); no pickle anywhere.

The archive holds ``cifar-10-batches-bin/``: ``data_batch_1.bin`` … ``data_batch_5.bin`` (the
training set), ``test_batch.bin`` and ``batches.meta.txt`` (the class names, one a line). A batch
file is a run of 3,073-byte records: one label byte (0..9), then the 32x32 red plane, the green
plane and the blue plane, each row-major; the official files hold 10,000 records each.

The archive is read as a stream, one pass through the gzip data: only the known member names are
read, nothing is extracted to disk, and a member with an absolute path or ``..`` in it makes the
archive refused. Every problem is a :class:`DataError` that names the file and what is wrong.
"""
from __future__ import annotations

import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterable, Sequence

import numpy as np

from ganplay.errors import DataError

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
PYTHON_FOLDER = "cifar-10-batches-py"  # the pickle version's folder, recognised only to say so
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
SIDE = 32
RECORD_BYTES = 1 + 3 * SIDE * SIDE  # label byte + red, green and blue planes
RECORDS_PER_FILE = 10_000
MAX_MEMBERS = 1000  # the binary archive holds 8 (a folder, six batches, the class names)
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
HOME_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
_REDOWNLOAD = f"delete it and download the binary version again from {HOME_PAGE}"
_GZIP_SIGNATURE = b"\x1f\x8b"


@dataclass(frozen=True)
class CifarSplits:
    """What was read: each split as (uint8 ``[N, 32, 32, 3]``, int32 ``[N]``) or None."""

    train: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    class_names: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def parse_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``[N, 32, 32, 3]`` and labels int32 ``[N]`` from one batch file's bytes.

    ``where`` names the file (or archive member) in error messages.
    """
    check_batch_size(len(data), where)
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    bad = np.flatnonzero(labels >= len(CLASS_NAMES))
    if bad.size:
        raise DataError(
            f"{where}: record {int(bad[0])} (counting from 0) has label byte "
            f"{int(labels[bad[0]])}; CIFAR-10 labels are 0..9 (out of range: {bad.size:,} of "
            f"{len(labels):,} records); {_REDOWNLOAD}"
        )
    # Each record stores the planes one after another (CHW); images are HWC.
    planes = records[:, 1:].reshape(-1, 3, SIDE, SIDE)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels.astype(np.int32)


def check_batch_size(n_bytes: int, where: str) -> None:
    """A batch file must hold whole records, at least one."""
    if n_bytes == 0:
        raise DataError(f"{where} is empty; {_REDOWNLOAD}")
    if n_bytes % RECORD_BYTES:
        raise DataError(
            f"{where} has {n_bytes:,} bytes, not a multiple of the {RECORD_BYTES:,}-byte CIFAR-10 "
            f"record ({n_bytes // RECORD_BYTES:,} whole records and {n_bytes % RECORD_BYTES:,} "
            f"bytes over): the file is truncated or not a CIFAR-10 binary batch; {_REDOWNLOAD}"
        )


def read_cifar_folder(
    train: Sequence[str | Path] | None, test: str | Path | None, meta: str | Path | None
) -> CifarSplits:
    """The extracted batch files: the training batches (or None), the test batch (or None)
    and ``batches.meta.txt`` (or None, or absent: the standard class names)."""
    parts = {Path(p): parse_batch(_read_file(Path(p)), str(p)) for p in [*(train or ()), test] if p}
    counts = {p.name: len(labels) for p, (_, labels) in parts.items()}
    train_split = _join([parts[Path(p)] for p in train]) if train else None
    test_split = parts[Path(test)] if test else None
    meta = Path(meta) if meta else None
    names, warnings = CLASS_NAMES, []
    if meta is not None and meta.is_file():
        names, warning = parse_class_names(_read_file(meta), str(meta))
        warnings += [warning] if warning else []
    warnings += count_warnings(counts)
    return CifarSplits(train_split, test_split, names, tuple(warnings))


def read_cifar_archive(path: str | Path) -> CifarSplits:
    """Both splits and the class names from ``cifar-10-binary.tar.gz`` (or the ``.tar``)."""
    path = Path(path)
    wanted = {f"{FOLDER}/{n}": n for n in (*TRAIN_FILES, TEST_FILE, META_FILE)}
    found, other_folders = _read_known_members(path, wanted)  # batches parsed, the meta as bytes
    missing = [n for n in (*TRAIN_FILES, TEST_FILE) if n not in found]
    if missing:
        hint = (
            f"it holds {PYTHON_FOLDER}/, the Python (pickle) version, which ganplay does not "
            f"read: download the binary version, {ARCHIVE}"
            if PYTHON_FOLDER in other_folders else
            f"it is not the complete CIFAR-10 binary archive: {_REDOWNLOAD}"
        )
        raise DataError(
            f"{path} has no member {', '.join(f'{FOLDER}/{n}' for n in missing)}; {hint}"
        )
    counts = {n: len(found[n][1]) for n in (*TRAIN_FILES, TEST_FILE)}
    names, warnings = CLASS_NAMES, []
    if META_FILE in found:
        names, warning = parse_class_names(found[META_FILE], f"{path}: member {FOLDER}/{META_FILE}")
        warnings += [warning] if warning else []
    warnings += count_warnings(counts)
    return CifarSplits(
        _join([found[n] for n in TRAIN_FILES]), found[TEST_FILE], names, tuple(warnings)
    )


def parse_class_names(data: bytes, where: str) -> tuple[tuple[str, ...], str | None]:
    """The ten class names of ``batches.meta.txt`` (one a line; blank lines ignored), and a
    warning (with the standard names instead) when the file does not list exactly ten."""
    try:
        names = tuple(line.strip() for line in data.decode("utf-8").splitlines() if line.strip())
    except UnicodeDecodeError:
        names = ()
    if len(names) == len(CLASS_NAMES):
        return names, None
    return CLASS_NAMES, (
        f"{where} does not list ten class names, one a line; using the standard ones "
        f"({', '.join(CLASS_NAMES)})"
    )


def count_warnings(counts: dict[str, int]) -> list[str]:
    """One sentence when batch files do not hold the official 10,000 records each."""
    odd = {n: c for n, c in counts.items() if c != RECORDS_PER_FILE}
    if not odd:
        return []
    if len(set(counts.values())) == 1:
        held = f"these hold {next(iter(counts.values())):,} each"
    else:
        held = "but " + ", ".join(f"{n} holds {c:,}" for n, c in odd.items())
    return [
        f"not the complete CIFAR-10: the official batch files hold {RECORDS_PER_FILE:,} records "
        f"each, {held}"
    ]


def _join(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = zip(*parts)
    if len(images) == 1:
        return images[0], labels[0]
    return np.concatenate(images), np.concatenate(labels)


def _member_name(archive: Path, name: str) -> str:
    """A member's name with any leading ``./``; an absolute one or one with ``..`` is refused."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise DataError(
            f"{archive} holds a member with an unsafe path, {name!r} (absolute or with '..'); "
            f"the CIFAR-10 archive has none, so this file is refused: {_REDOWNLOAD}"
        )
    return "/".join(p for p in parts if p != ".")


def _read_known_members(path: Path, wanted: dict[str, str]) -> tuple[dict, set[str]]:
    """The members named in ``wanted`` (member name -> key), read in one pass, by key (batch
    files parsed as they arrive, so only one is held as bytes); and the top-level folders of the
    other members."""
    found: dict = {}
    other_folders: set[str] = set()
    seen_member = False
    with _open_archive(path) as f:
        try:
            with tarfile.open(fileobj=f, mode="r|") as tar:
                for count, member in enumerate(tar, 1):
                    seen_member = True
                    if count > MAX_MEMBERS:  # the archive holds 8; millions of empty ones take minutes
                        raise DataError(f"{path} holds more than {MAX_MEMBERS:,} members; it is not the "
                                        f"CIFAR-10 binary archive: {_REDOWNLOAD}")
                    name = _member_name(path, member.name)
                    if name not in wanted:
                        other_folders.add(name.split("/", 1)[0])
                        continue
                    if not member.isfile():
                        raise DataError(
                            f"{path}: member {name} is not a regular file; it is not the "
                            f"CIFAR-10 binary archive: {_REDOWNLOAD}"
                        )
                    data = _read_member(path, tar, member, name)
                    if name.endswith(".bin"):
                        data = parse_batch(data, f"{path}: member {name}")
                    found[wanted[name]] = data
            # The tar stops at its end-of-archive blocks, which a download cut at a member's
            # end fakes; reading to the end of the gzip stream checks its end marker and CRC.
            while f.read(1 << 20):
                pass
        except tarfile.ReadError as exc:
            what = "a truncated or corrupt tar archive" if seen_member else "not a tar archive"
            raise DataError(f"{path} is {what} ({exc}); {_REDOWNLOAD}") from None
        except (EOFError, zlib.error, OSError) as exc:
            # EOFError: the gzip stream ends early (a cut download); zlib.error, BadGzipFile
            # (an OSError: bad CRC or header): damaged bytes.
            raise DataError(f"{path} is truncated or corrupt ({exc}); {_REDOWNLOAD}") from None
    return found, other_folders


def _read_member(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> bytes:
    if name.endswith(".bin"):  # from the member's header: a bad size is reported before reading
        check_batch_size(member.size, f"{archive}: member {name}")
    handle = tar.extractfile(member)
    data = handle.read() if handle is not None else b""
    if len(data) != member.size:
        raise DataError(
            f"{archive} is truncated inside member {name} ({len(data):,} of {member.size:,} "
            f"bytes); {_REDOWNLOAD}"
        )
    return data


def _open_archive(path: Path) -> BinaryIO:
    """The tar stream in ``path``: decompressed when it is gzip (by its signature), as it is
    when it is a plain tar; anything else is refused."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
        if head.startswith(_GZIP_SIGNATURE):
            return gzip.open(path, "rb")
        if head[257:262] == b"ustar":
            return open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    raise DataError(
        f"{path} is not a gzip-compressed tar archive (it starts with {head[:16]!r}); "
        f"{_REDOWNLOAD}"
    )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
