"""Image datasets: MNIST, Fashion-MNIST, SVHN, CIFAR-10 and a folder of your own images.

The images stay uint8 on the device (a quarter of the float32 size); ``sample`` gathers a batch,
scales it to [-1, 1] and, for 28x28 data feeding a 32x32 model, pads a -1 (black) border, all
inside the jitted training step.
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ganplay.data import cifar10
from ganplay.data.base import DATASETS, DatasetSpec
from ganplay.data.download import ProgressFn
from ganplay.data.idx import read_idx_pair
from ganplay.data.image_folder import read_image_folder
from ganplay.data.locate import archive_file, find_dataset_dir, split_files
from ganplay.data.svhn import read_svhn_mat
from ganplay.errors import DataError

TITLES = {
    "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "svhn": "SVHN", "cifar10": "CIFAR-10",
    "image-folder": "image folder",
}
FILE_DATASETS = ("mnist", "fashion-mnist", "svhn", "cifar10")  # found by ganplay.data.locate
DEFAULT_FOLDER_SIZE = 28
# (data size, model size) pairs bridged by padding with a -1 border on the device.
PADDABLE = {(28, 32)}
# (data size, model size) pairs bridged by resizing once on loading (bilinear, as seed 003's
# tf.image.resize_images of MNIST to 64x64); the resized images stay uint8.
RESIZABLE = {(28, 64), (32, 64)}
# Without a test split, this fraction of a labelled dataset is held out (a fixed permutation),
# wherever a held-out test set is needed (semi-supervised accuracy, the evaluation classifier).
HELD_OUT_FRACTION = 0.2
HELD_OUT_SEED = 0


@dataclass(eq=False)
class ImageDataset:
    """uint8 images ``[N, H, W, C]`` (the training split), optional labels and held-out split."""

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None
    split_note: str = ""  # one sentence for the user: which split trains, what is held out
    pad_to: int | None = None  # pad samples to pad_to x pad_to (set when the model needs more)
    source: str = ""  # the folder the files came from
    warnings: tuple[str, ...] = field(default=())
    class_names: tuple[str, ...] = field(default=())  # label -> name, where the files give them
    kind: str = "images"

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or len(self.images) == 0:
            raise ValueError(
                f"images must be a non-empty uint8 [N, H, W, C] array, got "
                f"{self.images.dtype} {self.images.shape}"
            )
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.labels)} labels for {len(self.images)} images")
        if self.pad_to is not None and self.pad_to < max(self.images.shape[1:3]):
            raise ValueError(f"pad_to={self.pad_to} is smaller than the images {self.images.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """One sample's shape as ``sample`` returns it (after padding)."""
        _, h, w, c = self.images.shape
        if self.pad_to is not None:
            h = w = self.pad_to
        return (h, w, c)

    def __len__(self) -> int:
        return len(self.images)

    def device_arrays(self) -> dict[str, jax.Array]:
        """``images`` (uint8) and, when known, ``labels`` (int32), placed on the default device."""
        arrays = {"images": jax.device_put(self.images)}
        if self.labels is not None:
            arrays["labels"] = jax.device_put(self.labels.astype(np.int32))
        return arrays

    @property
    def n_classes(self) -> int:
        """Classes in the labels (0 without labels): one more than the largest label seen."""
        if self.labels is None:
            return 0
        top = int(self.labels.max())
        if self.test_labels is not None and len(self.test_labels):
            top = max(top, int(self.test_labels.max()))
        return top + 1

    def with_test_split(self) -> "ImageDataset":
        """This dataset when it has a test split; otherwise a copy that holds out a fixed
        ``HELD_OUT_FRACTION`` of it as the test split (the same images every time, and the same
        ones the evaluation classifier holds out), with a note that says so."""
        if self.test_images is not None and self.test_labels is not None:
            return self
        if self.labels is None:
            raise DataError(
                f"{TITLES.get(self.name, self.name)} has no labels, so it has no test split; "
                "choose a labelled dataset (mnist, fashion-mnist, svhn, cifar10)"
            )
        train, test = held_out_indices(len(self.images))
        title = TITLES.get(self.name, self.name)
        note = (
            f"offline {title}: only {len(self.images):,} labelled images were found, so they are "
            f"split deterministically: {len(train):,} train, {len(test):,} held out as the test set"
        )
        return dataclasses.replace(
            self, images=self.images[train], labels=self.labels[train],
            test_images=self.images[test], test_labels=self.labels[test], split_note=note,
        )

    def sample_labelled(self, arrays: dict[str, jax.Array], key: jax.Array, n: int):
        """Pure and jittable: ``n`` random training images (as ``sample``) and their int32 labels."""
        images = arrays["images"]
        index = jax.random.randint(key, (n,), 0, images.shape[0])
        x = (jnp.take(images, index, axis=0).astype(jnp.float32) - 127.5) / 127.5
        return self._pad(x, jnp), jnp.take(arrays["labels"], index)

    def sample(self, arrays: dict[str, jax.Array], key: jax.Array, n: int) -> jax.Array:
        """Pure and jittable: ``n`` random training images as float32 ``[n, *shape]`` in [-1, 1]."""
        images = arrays["images"]
        index = jax.random.randint(key, (n,), 0, images.shape[0])
        # (x - 127.5) / 127.5 rather than x / 127.5 - 1: XLA turns the division into a
        # multiplication by the reciprocal, and only this form still maps 255 to exactly 1.0.
        x = (jnp.take(images, index, axis=0).astype(jnp.float32) - 127.5) / 127.5
        return self._pad(x, jnp)

    def real_grid_source(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` training images as float32 ``[n, *shape]`` in [-1, 1], the same ones every call."""
        rng = np.random.default_rng(seed)
        index = rng.choice(len(self.images), size=n, replace=n > len(self.images))
        x = (self.images[np.sort(index)].astype(np.float32) - 127.5) / 127.5
        return self._pad(x, np)

    def _pad(self, x, xp):
        if self.pad_to is None:
            return x
        _, h, w, _ = x.shape
        top, left = (self.pad_to - h) // 2, (self.pad_to - w) // 2
        widths = ((0, 0), (top, self.pad_to - h - top), (left, self.pad_to - w - left), (0, 0))
        return xp.pad(x, widths, constant_values=-1.0)


# -- loading ------------------------------------------------------------------------------------
def load_idx_dataset(name: str, directory: str | Path) -> ImageDataset:
    """MNIST or Fashion-MNIST from the IDX files in ``directory``.

    The training pair trains and the t10k pair is held out; with only the t10k pair (the
    offline MNIST copy) all of it trains and the note says so.
    """
    return _load_split_dataset(name, directory, read_idx_pair)


def load_svhn(directory: str | Path) -> ImageDataset:
    """SVHN from ``train_32x32.mat`` and/or ``test_32x32.mat`` in ``directory``."""
    return _load_split_dataset("svhn", directory, read_svhn_mat)


def load_cifar10(directory: str | Path) -> ImageDataset:
    """CIFAR-10 from the binary batch files in ``directory`` (or its ``cifar-10-batches-bin``),
    else from ``cifar-10-binary.tar.gz`` there.

    The extracted files win when they hold the whole training set, so a folder holding both
    reads the faster way; the archive always holds both splits.
    """
    directory = Path(directory)
    splits = split_files("cifar10", directory)
    archive = archive_file("cifar10", directory)
    warnings = []
    if archive is not None and "train" not in splits:
        data = cifar10.read_cifar_archive(archive)
    elif splits:
        train, test = splits.get("train"), splits.get("test", (None,))[0]
        folder = (train or (test,))[0].parent
        data = cifar10.read_cifar_folder(train, test, folder / cifar10.META_FILE)
        partial = [n for n in cifar10.TRAIN_FILES if train is None and (folder / n).is_file()]
        if partial:
            warnings.append(
                f"{', '.join(partial)} found in {folder} without all five training batches, "
                "so not used"
            )
    else:
        raise DataError(f"{directory} holds no complete CIFAR-10 split")
    warnings += data.warnings
    dataset = _split_dataset("cifar10", directory, data.train, data.test)
    note = "; ".join([dataset.split_note, *warnings])
    return dataclasses.replace(
        dataset, split_note=note, warnings=tuple(warnings), class_names=data.class_names
    )


def load_image_folder(folder: str | Path, size: int, channels: int = 0) -> ImageDataset:
    """Every PNG/JPEG under ``folder``, centre-cropped and resized to ``size`` x ``size``."""
    if not str(folder).strip():
        raise DataError(
            "the image-folder dataset reads the folder named by data_dir, which is empty; "
            "set data_dir to a folder of PNG or JPEG images"
        )
    images, warnings = read_image_folder(folder, size, channels)
    colour = "RGB" if images.shape[-1] == 3 else "grayscale"
    note = f"image folder {folder}: training on all {len(images):,} images ({size}x{size} {colour})"
    return ImageDataset(
        name="image-folder", images=images, split_note=note, source=str(folder),
        warnings=tuple(warnings),
    )


def load_dataset_files(
    name: str,
    data_dir: str | Path = "",
    image_size: int | None = None,
    *,
    channels: int = 0,
    allow_download: bool = False,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> ImageDataset:
    """Load image dataset ``name`` for a model that makes ``image_size`` images (None: any).

    For mnist / fashion-mnist / svhn / cifar10, finds the files (see :mod:`ganplay.data.locate`)
    and, with ``allow_download``, downloads missing ones (``progress``, ``cancel`` as in
    :func:`ganplay.data.download.download_file`). For image-folder, ``data_dir`` is the folder
    and ``channels`` picks grayscale (1), RGB (3) or the files' own (0).
    """
    if name == "image-folder":
        return load_image_folder(data_dir, image_size or DEFAULT_FOLDER_SIZE, channels)
    if name not in FILE_DATASETS:
        raise DataError(f"{name!r} is not an image dataset read from files")
    directory = find_dataset_dir(name, data_dir, allow_download, progress, cancel)
    if name == "svhn":
        dataset = load_svhn(directory)
    elif name == "cifar10":
        dataset = load_cifar10(directory)
    else:
        dataset = load_idx_dataset(name, directory)
    return _fit_to_model(dataset, image_size)


def _load_split_dataset(name: str, directory: str | Path, read) -> ImageDataset:
    splits = split_files(name, directory)
    if not splits:
        raise DataError(f"{directory} holds no complete {TITLES[name]} split")
    train = read(*splits["train"]) if "train" in splits else None
    test = read(*splits["test"]) if "test" in splits else None
    return _split_dataset(name, directory, train, test)


def _split_dataset(name: str, source: str | Path, train, test) -> ImageDataset:
    """The dataset from its (images, labels) splits, either of which may be None (not both):
    the training split trains; without one, the test split trains and the note says so."""
    title = TITLES[name]
    if train is not None:
        images, labels = train
        test_images, test_labels = test if test is not None else (None, None)
        note = f"{title}: training on the {len(images):,}-image training set"
        note += (
            f"; the {len(test_images):,}-image test set is held out"
            if test_images is not None else "; no test set was found"
        )
    else:
        images, labels = test
        test_images = test_labels = None
        note = (
            f"offline {title}: only the {len(images):,}-image test set was found; "
            f"training on all {len(images):,}"
        )
    return ImageDataset(
        name=name, images=images, labels=labels, test_images=test_images,
        test_labels=test_labels, split_note=note, source=str(source),
    )


def held_out_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) sorted indices of a fixed ``HELD_OUT_FRACTION`` split of ``n`` items."""
    order = np.random.default_rng(HELD_OUT_SEED).permutation(n)
    n_test = max(1, round(HELD_OUT_FRACTION * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` resized bilinearly to ``size`` x ``size`` (in chunks: bounded memory)."""
    out = np.empty((len(images), size, size, images.shape[3]), np.uint8)
    resize = jax.jit(lambda x: jnp.clip(jnp.round(jax.image.resize(
        x.astype(jnp.float32), (x.shape[0], size, size, x.shape[3]), "bilinear")), 0, 255).astype(jnp.uint8))
    for i in range(0, len(images), 2000):
        out[i:i + 2000] = np.asarray(resize(images[i:i + 2000]))
    return out


def _fit_to_model(dataset: ImageDataset, image_size: int | None) -> ImageDataset:
    """Resize a dataset for a 64x64 model once on loading; other sizes are padded on the device."""
    _, h, w, _ = dataset.images.shape
    if image_size is None or h != w or (h, image_size) not in RESIZABLE:
        dataset.pad_to = _pad_for_model(dataset, image_size)
        return dataset
    test = None if dataset.test_images is None else resize_images(dataset.test_images, image_size)
    note = f"{dataset.split_note}; images resized from {h}x{w} to {image_size}x{image_size}"
    return dataclasses.replace(
        dataset, images=resize_images(dataset.images, image_size), test_images=test, split_note=note,
    )


def _pad_for_model(dataset: ImageDataset, image_size: int | None) -> int | None:
    _, h, w, _ = dataset.images.shape
    if image_size is None or (h, w) == (image_size, image_size):
        return None
    if h == w and (h, image_size) in PADDABLE:
        return image_size
    title = TITLES.get(dataset.name, dataset.name)
    hint = (
        "choose a model that makes 32x32 images, or a 28x28 dataset (mnist, fashion-mnist)"
        if h > image_size else f"choose a model that makes {h}x{w} images"
    )
    raise DataError(
        f"{title} has {h}x{w} images but the model makes {image_size}x{image_size} images; "
        f"these do not fit together: {hint}"
    )


# -- registry -------------------------------------------------------------------------------------
def _file_dataset_loader(name: str):
    def load(config: Any, image_size: int | None) -> ImageDataset:
        return load_dataset_files(name, config.data_dir, image_size)

    return load


def _load_image_folder_config(config: Any, image_size: int | None) -> ImageDataset:
    return load_dataset_files(
        "image-folder", config.data_dir, image_size, channels=config.image_channels
    )


for _name, _description in (
    ("mnist", "MNIST handwritten digits, 28x28 grayscale (IDX files)"),
    ("fashion-mnist", "Fashion-MNIST clothing, 28x28 grayscale (IDX files)"),
    ("svhn", "SVHN house-number digits, 32x32 colour (train_32x32.mat / test_32x32.mat)"),
    ("cifar10", "CIFAR-10 photos in 10 classes, 32x32 colour (cifar-10-binary.tar.gz)"),
):
    DATASETS.register(
        _name,
        DatasetSpec(_name, _description, "images", _file_dataset_loader(_name), needs_files=True),
    )
DATASETS.register(
    "image-folder",
    DatasetSpec(
        "image-folder",
        "your own PNG/JPEG images from the folder in data_dir, centre-cropped and resized",
        "images",
        _load_image_folder_config,
        needs_files=True,
    ),
)
