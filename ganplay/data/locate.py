"""Find the folder that holds a file-based dataset (mnist, fashion-mnist, svhn, cifar10).

Search order, first folder that has the files wins:

1. the explicit ``data_dir`` (the folder itself, or ``<data_dir>/<name>``);
2. ``$GANPLAY_DATA`` (the folder itself, or ``$GANPLAY_DATA/<name>``);
3. the user cache, ``<cache root>/datasets/<name>``, where downloads go; the cache root is
   ``$GANPLAY_CACHE_DIR`` when set (tests, portable installs), else
   ``platformdirs.user_cache_dir("ganplay")``;
4. system folders from distribution packages (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist``);
5. with ``allow_download``, a download into the user cache.

CIFAR-10 is found as its archive (``cifar-10-binary.tar.gz``) in such a folder, or as the batch
files, in the folder itself or in the ``cifar-10-batches-bin`` folder the archive extracts to.

Otherwise a :class:`DataError` lists the files needed and the folders where they may go.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import platformdirs

from ganplay.data import cifar10
from ganplay.data.download import ProgressFn, fetch_dataset, manual_download_hint
from ganplay.errors import DataError

DATA_ENV = "GANPLAY_DATA"
CACHE_ENV = "GANPLAY_CACHE_DIR"

# split -> the files it needs (IDX stems may be ".gz" or uncompressed)
SPLIT_FILES: dict[str, dict[str, tuple[str, ...]]] = {
    "mnist": {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    },
    "svhn": {"train": ("train_32x32.mat",), "test": ("test_32x32.mat",)},
    "cifar10": {"train": cifar10.TRAIN_FILES, "test": (cifar10.TEST_FILE,)},
}
SPLIT_FILES["fashion-mnist"] = SPLIT_FILES["mnist"]
# A dataset's split files may also lie in the folder its archive extracts to, inside ``directory``.
SUBFOLDERS: dict[str, str] = {"cifar10": cifar10.FOLDER}
# An archive that holds every split (read as it is, never extracted), under any of these names;
# ``.tar`` is the archive gunzipped.
ARCHIVES: dict[str, tuple[str, ...]] = {
    "cifar10": (cifar10.ARCHIVE, cifar10.ARCHIVE.removesuffix(".gz")),
}

SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),
}


def cache_root() -> Path:
    """Where ganplay keeps downloads: ``$GANPLAY_CACHE_DIR`` or the platform's user cache dir."""
    override = os.environ.get(CACHE_ENV, "").strip()
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir("ganplay"))


def dataset_cache_dir(name: str) -> Path:
    return cache_root() / "datasets" / name


def candidate_dirs(name: str, data_dir: str | Path = "") -> list[Path]:
    """The folders searched for dataset ``name``, in order."""
    _check_known(name)
    dirs: list[Path] = []
    for root in (str(data_dir).strip(), os.environ.get(DATA_ENV, "").strip()):
        if root:
            root_path = Path(root).expanduser()
            dirs += [root_path, root_path / name]
    dirs.append(dataset_cache_dir(name))
    dirs += SYSTEM_DIRS.get(name, ())
    return list(dict.fromkeys(dirs))


def split_files(name: str, directory: str | Path) -> dict[str, tuple[Path, ...]]:
    """The complete splits found in ``directory``: split name -> its files' paths (in order)."""
    _check_known(name)
    directory = Path(directory)
    found: dict[str, tuple[Path, ...]] = {}
    folders = [directory] + ([directory / SUBFOLDERS[name]] if name in SUBFOLDERS else [])
    for split, names in SPLIT_FILES[name].items():
        paths = [_existing(folders, n) for n in names]
        if all(p is not None for p in paths):
            found[split] = tuple(paths)  # type: ignore[arg-type]
    return found


def archive_file(name: str, directory: str | Path) -> Path | None:
    """The archive of dataset ``name`` in ``directory`` (None when it has none there)."""
    for filename in ARCHIVES.get(name, ()):
        if (Path(directory) / filename).is_file():
            return Path(directory) / filename
    return None


def has_dataset(name: str, directory: str | Path) -> bool:
    return Path(directory).is_dir() and (
        bool(split_files(name, directory)) or archive_file(name, directory) is not None
    )


def find_dataset_dir(
    name: str,
    data_dir: str | Path = "",
    allow_download: bool = False,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The first folder (in the order above) that holds dataset ``name``; may download it."""
    searched = candidate_dirs(name, data_dir)
    for directory in searched:
        if has_dataset(name, directory):
            return directory
    cache = dataset_cache_dir(name)
    if allow_download:
        fetch_dataset(name, cache, progress, cancel, hint_dirs=searched)
        return cache
    raise DataError(
        f"dataset {name!r} was not found; looked in: {', '.join(str(d) for d in searched)}.\n"
        f"{_what_is_needed(name)}\n{manual_download_hint(name, searched)}\n"
        f"Or let ganplay download it (about {_download_size(name)}) into {cache}: "
        "add --download to ganplay train, or accept the offer in the window."
    )


def _download_size(name: str) -> str:
    return {"mnist": "12 MB", "fashion-mnist": "31 MB", "svhn": "250 MB", "cifar10": "170 MB"}[name]


def _what_is_needed(name: str) -> str:
    splits = SPLIT_FILES[name]
    if name == "svhn":
        return "It needs train_32x32.mat and/or test_32x32.mat."
    if name == "cifar10":
        return (
            f"It needs {cifar10.ARCHIVE} (the binary version; the Python one is not read), or the "
            f"folder it extracts to, {cifar10.FOLDER}, with {' + '.join(splits['train'])} and/or "
            f"{cifar10.TEST_FILE}."
        )
    train, test = (" + ".join(f"{n}[.gz]" for n in splits[s]) for s in ("train", "test"))
    return f"It needs the training pair ({train}) or the test pair ({test}), or both."


def _existing(folders: list[Path], filename: str) -> Path | None:
    """``filename`` in the first of ``folders`` that has it; IDX stems match with or without
    ``.gz`` (``.gz`` first)."""
    names = [filename] if filename.endswith((".mat", ".bin")) else [filename + ".gz", filename]
    for folder in folders:
        for n in names:
            if (folder / n).is_file():
                return folder / n
    return None


def _check_known(name: str) -> None:
    if name not in SPLIT_FILES:
        raise DataError(
            f"dataset {name!r} is not read from files; file datasets: {', '.join(SPLIT_FILES)}"
        )
