import gzip
import hashlib

import numpy as np
import pytest

from data_helpers import idx_bytes, write_fake_mnist
from ganplay.data import download, locate
from ganplay.data.images import load_dataset_files
from ganplay.data.locate import dataset_cache_dir, find_dataset_dir, has_dataset, split_files
from ganplay.errors import DataError


@pytest.fixture
def four_places(tmp_path, monkeypatch):
    """MNIST in an explicit dir, under $GANPLAY_DATA/mnist, in the cache and in a system dir."""
    places = {k: tmp_path / k for k in ("explicit", "env", "cache", "system")}
    write_fake_mnist(places["explicit"])
    write_fake_mnist(places["env"] / "mnist")
    monkeypatch.setenv("GANPLAY_DATA", str(places["env"]))
    monkeypatch.setenv("GANPLAY_CACHE_DIR", str(places["cache"]))
    write_fake_mnist(places["cache"] / "datasets" / "mnist")
    write_fake_mnist(places["system"])
    monkeypatch.setitem(locate.SYSTEM_DIRS, "mnist", (places["system"],))
    return places


def test_search_order(four_places):
    p = four_places
    assert find_dataset_dir("mnist", p["explicit"]) == p["explicit"]
    assert find_dataset_dir("mnist") == p["env"] / "mnist"
    for f in (p["env"] / "mnist").iterdir():
        f.unlink()
    assert find_dataset_dir("mnist") == p["cache"] / "datasets" / "mnist"
    for f in (p["cache"] / "datasets" / "mnist").iterdir():
        f.unlink()
    assert find_dataset_dir("mnist") == p["system"]


def test_explicit_dir_without_the_files_falls_through(four_places, tmp_path):
    (tmp_path / "photos").mkdir()
    assert find_dataset_dir("mnist", tmp_path / "photos") == four_places["env"] / "mnist"


def test_data_dir_may_be_a_parent_of_the_dataset_folder(tmp_path):
    write_fake_mnist(tmp_path / "mnist")
    assert find_dataset_dir("mnist", tmp_path) == tmp_path / "mnist"


def test_splits_and_file_names(tmp_path):
    assert not has_dataset("mnist", tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")  # uncompressed name counts too
    assert not has_dataset("mnist", tmp_path)  # half a pair is not a split
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    assert list(split_files("mnist", tmp_path)) == ["train"]
    (tmp_path / "test_32x32.mat").write_bytes(b"")
    assert list(split_files("svhn", tmp_path)) == ["test"]


def test_not_found_lists_files_and_places(tmp_path):
    with pytest.raises(DataError) as info:
        find_dataset_dir("svhn", tmp_path / "mine")
    message = str(info.value)
    assert "train_32x32.mat" in message and "test_32x32.mat" in message
    assert str(tmp_path / "mine") in message and str(dataset_cache_dir("svhn")) in message
    assert "download" in message


def test_download_into_cache_then_load(tmp_path, file_server, monkeypatch):
    """allow_download fetches every file into the cache; the loader then reads them."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3),
    }
    files = []
    for name, array in arrays.items():
        body = gzip.compress(idx_bytes(array))
        file_server.files["/mnist/" + name] = body
        files.append(download.RemoteFile(name, hashlib.md5(body).hexdigest(), len(body)))
    source = download.Source("MNIST", (file_server.url("/mnist/"),), tuple(files))
    monkeypatch.setitem(download.SOURCES, "mnist", source)
    seen = []
    ds = load_dataset_files("mnist", allow_download=True, progress=lambda *a: seen.append(a[2]))
    assert ds.source == str(dataset_cache_dir("mnist"))
    assert ds.images.shape == (6, 28, 28, 1) and ds.test_images.shape == (3, 28, 28, 1)
    assert set(seen) == set(arrays)
