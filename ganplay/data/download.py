"""Download dataset files: known sources, resumable transfers, checksums, atomic placement.

Uses only ``urllib``. A transfer streams into ``<dest>.part``; an interrupted or cancelled one
leaves that file, and the next attempt resumes it with an HTTP ``Range`` request (starting over
when the server ignores the range). A finished file must match its md5 before it is moved into
place with ``os.replace``, so ``dest`` either does not exist or is complete and verified.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ganplay.errors import DataError, GanplayError

# progress(done_bytes, total_bytes or None when unknown, file name)
ProgressFn = Callable[[int, "int | None", str], None]

USER_AGENT = "ganplay-dataset-downloader/0.1 (+python-urllib)"
CHUNK_BYTES = 1 << 16
PROGRESS_INTERVAL_S = 0.1  # report at most this often (plus once at the start and the end)


class DownloadCancelled(GanplayError):
    """The user cancelled a download; the ``.part`` file stays so a later download resumes."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str
    size: int | None = None  # bytes, where known (a progress total when the server sends none)


@dataclass(frozen=True)
class Source:
    """Where a dataset's files can be downloaded: mirrors (base URLs, tried in order) and files."""

    title: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]

    def urls(self, file: RemoteFile) -> list[str]:
        return [mirror + file.name for mirror in self.mirrors]


SOURCES: dict[str, Source] = {
    "mnist": Source(
        title="MNIST",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
            RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881),
            RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542),
        ),
    ),
    "fashion-mnist": Source(
        title="Fashion-MNIST",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
            RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29515),
            RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4422102),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5148),
        ),
    ),
    "svhn": Source(
        title="SVHN (cropped digits)",
        mirrors=("http://ufldl.stanford.edu/housenumbers/",),
        files=(
            RemoteFile("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
            RemoteFile("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
        ),
    ),
    "cifar10": Source(
        title="CIFAR-10 (binary version)",
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(
            RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", 170052171),
        ),
    ),
}


def source_for(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise DataError(
            f"there is no download source for dataset {name!r}; known: {', '.join(SOURCES)}"
        ) from None


def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manual_download_hint(name: str, directories: Iterable[str | Path]) -> str:
    """A sentence telling the user which files to fetch by hand and where they may put them."""
    source = source_for(name)
    names = ", ".join(f.name for f in source.files)
    dirs = "\n  ".join(str(d) for d in dict.fromkeys(str(d) for d in directories))
    them = "them" if len(source.files) > 1 else "it"
    gz = " (gzip-compressed or not)" if any(f.name.endswith(".gz") for f in source.files) else ""
    return (
        f"To install {source.title} by hand, download {names} from {source.mirrors[0]} and put "
        f"{them}{gz} in one of these folders:\n  {dirs}"
    )


def download_file(
    urls: str | Sequence[str],
    dest: str | Path,
    md5: str,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
    *,
    size: int | None = None,
    retries: int = 3,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that gives a file with the right md5.

    A connection that closes early is resumed (up to ``retries`` times per mirror) from the
    ``.part`` file; a checksum mismatch deletes the ``.part`` and moves on to the next mirror.
    Raises :class:`DownloadCancelled` when ``cancel`` is set, :class:`DataError` when every
    mirror fails (the message names the file and what each mirror did).
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the folder {dest.parent} for {dest.name}: {exc}") from None

    failures: list[str] = []
    for url in url_list:
        truncations = 0
        fresh_retry_done = False
        while True:
            try:
                resumed = _transfer(url, part, dest.name, size, progress, cancel, timeout)
            except _Truncated as exc:
                truncations += 1
                if truncations > retries:
                    failures.append(
                        f"{url}: the connection kept closing early (last after {exc.done} bytes); "
                        f"the partial download in {part} will be resumed next time"
                    )
                    break
                continue
            except _MirrorFailed as exc:
                failures.append(f"{url}: {exc}")
                break
            got = file_md5(part)
            if got == md5:
                os.replace(part, dest)
                return dest
            part.unlink(missing_ok=True)
            if resumed and not fresh_retry_done:
                fresh_retry_done = True  # the old .part may have been the bad half: start over
                continue
            failures.append(
                f"{url}: checksum mismatch (md5 {got}, expected {md5}); the download was deleted"
            )
            break
    raise DataError(f"could not download {dest.name}: " + "; ".join(failures or ["no URL given"]))


def fetch_dataset(
    name: str,
    dest_dir: str | Path,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    *,
    timeout: float = 30.0,
    hint_dirs: Iterable[str | Path] = (),
) -> Path:
    """Download every file of dataset ``name`` that ``dest_dir`` lacks; returns ``dest_dir``.

    A file counts as present under its own name or, for ``.gz`` files, its uncompressed name.
    On failure the :class:`DataError` lists the files needed and the folders (``dest_dir`` and
    ``hint_dirs``) where the user can put them by hand.
    """
    source = source_for(name)
    dest_dir = Path(dest_dir)
    for file in source.files:
        if _present(dest_dir, file.name):
            continue
        try:
            download_file(
                source.urls(file), dest_dir / file.name, file.md5, progress, cancel, timeout,
                size=file.size,
            )
        except DataError as exc:
            hint = manual_download_hint(name, [dest_dir, *hint_dirs])
            raise DataError(f"{exc}\n{hint}") from None
    return dest_dir


def _present(directory: Path, filename: str) -> bool:
    names = [filename] + ([filename[: -len(".gz")]] if filename.endswith(".gz") else [])
    return any((directory / n).is_file() for n in names)


# -- one HTTP transfer --------------------------------------------------------------------------
class _Truncated(Exception):
    def __init__(self, done: int):
        super().__init__(f"connection closed after {done} bytes")
        self.done = done


class _MirrorFailed(Exception):
    """This mirror cannot deliver the file (HTTP error, unreachable, bad response)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _transfer(
    url: str,
    part: Path,
    name: str,
    size_hint: int | None,
    progress: ProgressFn | None,
    cancel: threading.Event | None,
    timeout: float,
) -> bool:
    """Bring ``part`` up to the whole file from ``url``; returns whether it resumed old bytes.

    Raises ``_Truncated`` (``part`` keeps what arrived), ``_MirrorFailed`` or
    ``DownloadCancelled``.
    """
    _check_cancel(cancel, name, part)
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            return True  # the part already holds the whole file (or more): the checksum decides
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _MirrorFailed(f"cannot connect ({reason})") from None

    with response:
        total: int | None = None
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if offset and response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)  # a range we did not ask for: start over next time
                raise _Truncated(0)
            total = int(match.group(3)) if match.group(3) != "*" else None
            mode = "ab"
        else:
            offset, mode = 0, "wb"  # no range asked, or the server ignored it: start over
        expected_end = offset + length if length is not None else None
        total = total or expected_end or size_hint
        done = offset
        resumed = offset > 0
        last_report = 0.0
        if progress:
            progress(done, total, name)
            last_report = time.monotonic()
        with open(part, mode) as f:
            while True:
                _check_cancel(cancel, name, part, flush=f)
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (OSError, http.client.HTTPException):
                    # reset, timeout, or IncompleteRead of a chunked body: keep what arrived
                    raise _Truncated(done) from None
                if not chunk:
                    break
                f.write(chunk)
                done += len(chunk)
                if progress and time.monotonic() - last_report >= PROGRESS_INTERVAL_S:
                    progress(done, total, name)
                    last_report = time.monotonic()
    if expected_end is not None and done < expected_end:
        raise _Truncated(done)
    if progress:
        progress(done, total if total is not None else done, name)
    return resumed


def _check_cancel(cancel: threading.Event | None, name: str, part: Path, flush=None) -> None:
    if cancel is not None and cancel.is_set():
        if flush is not None:
            flush.flush()
        raise DownloadCancelled(
            f"download of {name} cancelled; the {part.stat().st_size if part.exists() else 0} "
            f"bytes received are kept in {part} and the next download resumes from there"
        )
