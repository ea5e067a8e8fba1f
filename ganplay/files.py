"""File helpers every layer may use (data, engine, ui): they import nothing of ganplay's but errors."""
from __future__ import annotations

import contextlib
import os
import secrets
import tokenize
from collections.abc import Mapping
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ganplay.errors import GanplayError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``: never half-written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open with mode 0o666 honours the umask (mkstemp would leave the file 0600).
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise GanplayError(f"cannot write {path}: {exc.strerror or exc}; choose a writable folder") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise GanplayError(f"cannot write {path}: {exc.strerror or exc}; free some space or choose another folder") from None
    _remove_orphaned_temporaries(path)


def _remove_orphaned_temporaries(path: Path) -> None:
    """Delete the temporary files of earlier writes of ``path`` whose process has died (a kill -9
    or a power cut mid-write leaves one; the file itself was never touched). A live process's
    are left alone: it may be writing the same file right now."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            tmp.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (numpy's and scipy's can span several)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# -- .npz archives, read without trusting their sizes ---------------------------------------------
# Deflate cannot expand data by more than about 1,032 times: a member that claims more is lying.
DEFLATE_MAX_RATIO = 1032
NPY_HEADER_MAX = 10_000  # numpy's own limit for an array header
ZIP_MAX_MEMBERS = 4096


def check_zip_sizes(infos, archive_bytes: int, max_bytes: int, shown, error=GanplayError,
                    max_ratio: int = DEFLATE_MAX_RATIO) -> None:
    """Refuse an archive whose members could not hold what they claim, would unpack to more than
    ``max_ratio`` times their packed size, or to more than ``max_bytes`` in all, before anything
    is read (a zip bomb, a member declaring 100 GB)."""
    if len(infos) > ZIP_MAX_MEMBERS:
        raise error(f"{shown} holds {len(infos):,} members; this format holds far fewer")
    names = [i.filename for i in infos]
    duplicated = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) < len(names) else []
    if duplicated:
        raise error(f"{shown} is corrupt: member {duplicated[0]!r} appears more than once")
    total = 0
    for info in infos:
        stored = info.compress_type == zipfile.ZIP_STORED
        limit = info.compress_size if stored else max_ratio * info.compress_size + 1024
        if info.compress_size > archive_bytes or info.file_size > limit:
            raise error(f"{shown} is corrupt: member {info.filename!r} claims {info.file_size:,} bytes "
                        f"in {info.compress_size:,} (the file has {archive_bytes:,})")
        total += info.file_size
    if total > max_bytes:
        raise error(f"{shown} would unpack to {total:,} bytes, more than the {max_bytes:,} this format allows")


class NpzArchive(Mapping):
    """An ``.npz`` file (no pickle) whose arrays are read when first asked for, after checks
    that need nothing read: every member's npy header must declare exactly the bytes the member
    holds, and all of them at most ``max_bytes`` (checked on opening); ``declared(key)`` gives
    an array's shape and dtype, so a caller can refuse an array that does not fit before it is
    read.

    Every problem is one ``error`` naming ``shown`` (default: ``path``) and saying it is not a
    readable ``what``.
    """

    def __init__(self, path, max_bytes: int, shown=None, error=GanplayError, what: str = ".npz archive"):
        self.path = Path(path)
        self.shown = self.path if shown is None else shown
        self.error, self.what = error, what
        self._declared: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        self._read: dict[str, np.ndarray] = {}
        with self._reading() as z:
            infos = z.infolist()
            check_zip_sizes(infos, self.path.stat().st_size, max_bytes, self.shown, error)
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise error(f"{self.shown} is not a readable {what} (member {info.filename!r})")
                with z.open(info) as f:
                    shape, _, dtype, _ = self._npy_header(f, info)
                self._declared[info.filename[:-4]] = (shape, dtype)

    def declared(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """The shape and dtype array ``key`` declares (nothing read)."""
        return self._declared[key]

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._read:
            if key not in self._declared:
                raise KeyError(key)
            with self._reading() as z:
                info = z.getinfo(key + ".npy")
                with z.open(info) as f:
                    self._read[key] = self._npy_array(f, info)
        return self._read[key]

    def __contains__(self, key) -> bool:  # (Mapping's would read the array)
        return key in self._declared

    def __iter__(self):
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)

    @contextlib.contextmanager
    def _reading(self):
        shown, error = self.shown, self.error
        try:
            with zipfile.ZipFile(self.path) as z:
                yield z
        except GanplayError:
            raise
        except FileNotFoundError:
            raise error(f"{shown}: no such file") from None
        except IsADirectoryError:
            raise error(f"{shown} is a folder, not a file") from None
        except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, NotImplementedError,
                RuntimeError, KeyError, tokenize.TokenError) as exc:
            # BadZipFile: not a zip, or a CRC mismatch; NotImplementedError: an unknown compression;
            # RuntimeError: an encrypted member; KeyError: the file changed since it was opened;
            # TokenError: numpy's parser of an npy header with unbalanced brackets (found by fuzzing).
            raise error(f"{shown} is not a readable {self.what} ({first_line(exc)})") from None

    def _npy_header(self, f, info: zipfile.ZipInfo):
        shown, error, name = self.shown, self.error, info.filename
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=NPY_HEADER_MAX)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=NPY_HEADER_MAX)
        else:
            raise error(f"{shown}: member {name!r} has npy format version {version}; 1.0 and 2.0 are read")
        if dtype.hasobject or dtype.itemsize == 0:
            raise error(f"{shown}: member {name!r} holds {dtype} values, which are not read (no pickle)")
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise error(f"{shown} is corrupt: member {name!r} declares {dtype}{list(shape)} ({nbytes:,} bytes) "
                        f"but holds {info.file_size - f.tell():,}")
        return shape, fortran, dtype, nbytes

    def _npy_array(self, f, info: zipfile.ZipInfo) -> np.ndarray:
        shape, fortran, dtype, nbytes = self._npy_header(f, info)
        buf = bytearray(nbytes)
        view, got = memoryview(buf), 0
        while got < nbytes:
            n = f.readinto(view[got:])
            if not n:
                raise self.error(f"{self.shown} is truncated inside member {info.filename!r}")
            got += n
        if f.read(1):  # also reads to the member's end, where zipfile checks its CRC
            raise self.error(f"{self.shown} is corrupt: member {info.filename!r} holds more than it declares")
        array = np.frombuffer(buf, dtype)
        return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def read_npz(path, max_bytes: int, shown=None, error=GanplayError, what: str = ".npz archive") -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read with :class:`NpzArchive`'s checks."""
    archive = NpzArchive(path, max_bytes, shown, error, what)
    return {k: archive[k] for k in archive}
