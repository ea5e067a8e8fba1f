"""File helpers every layer may use (data, engine, ui): they import nothing of ganplay's but errors."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

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
