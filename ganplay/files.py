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
