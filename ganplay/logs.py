"""The log file: errors from training (with the config that caused them) land in the user log dir.

``GANPLAY_LOG_DIR`` overrides the folder (tests use it); otherwise it is the platform's user log
directory (``~/.local/state/ganplay/log`` on Linux). The file rotates at 1 MB, keeping three.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_NAME = "ganplay.log"
_handler: logging.Handler | None = None
_handler_dir: Path | None = None

log = logging.getLogger("ganplay")


def log_dir() -> Path:
    env = os.environ.get("GANPLAY_LOG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_log_dir("ganplay", appauthor=False))


def log_file() -> Path:
    return log_dir() / LOG_NAME


def setup_file_logging() -> Path | None:
    """Attach the rotating log file to the ``ganplay`` logger (idempotent); None if unwritable."""
    global _handler, _handler_dir
    directory = log_dir()
    if _handler is not None and _handler_dir == directory:
        return directory / LOG_NAME
    if _handler is not None:  # the folder changed (tests): move to the new one
        log.removeHandler(_handler)
        _handler.close()
        _handler = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            directory / LOG_NAME, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True)
    except OSError as exc:
        print(f"ganplay: warning: cannot write the log in {directory}: {exc.strerror or exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET or log.level > logging.INFO:
        log.setLevel(logging.INFO)
    _handler, _handler_dir = handler, directory
    return directory / LOG_NAME


def log_failure(message: str, config=None, exc: BaseException | None = None) -> Path | None:
    """Log an error with its config (and traceback when ``exc`` is given); returns the log path."""
    path = setup_file_logging()
    cfg = config.to_json() if config is not None else "(none)"
    log.error("%s\nconfig: %s", message, cfg, exc_info=(type(exc), exc, exc.__traceback__) if exc else None)
    if _handler is not None:
        _handler.flush()
    return path
