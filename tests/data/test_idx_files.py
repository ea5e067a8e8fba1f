import gzip

import numpy as np
import pytest

from data_helpers import FASHION_DIR, idx_bytes, require_mnist, write_idx
from ganplay.data.idx import read_idx_images, read_idx_labels, read_idx_pair
from ganplay.errors import DataError


def test_real_mnist_test_set():
    MNIST_DIR = require_mnist()
    images, labels = read_idx_pair(
        MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    )
    assert images.shape == (10_000, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.int32
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first MNIST test digits
    assert np.bincount(labels).tolist()[:2] == [980, 1135]
    assert images.max() == 255 and images.min() == 0


def test_real_fashion_mnist_training_labels():
    if not (FASHION_DIR / "train-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    labels = read_idx_labels(FASHION_DIR / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (60_000,)
    assert np.bincount(labels).tolist() == [6000] * 10
    images = read_idx_images(FASHION_DIR / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10_000, 28, 28, 1)


def test_uncompressed_and_gzip_read_the_same(tmp_path):
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = write_idx(tmp_path / "a-idx3-ubyte", x)
    gz = write_idx(tmp_path / "a-idx3-ubyte.gz", x)
    np.testing.assert_array_equal(read_idx_images(raw)[..., 0], x)
    np.testing.assert_array_equal(read_idx_images(gz)[..., 0], x)


def test_bad_magic_names_file(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(12 + 28 * 28))
    with pytest.raises(DataError, match=r"images\.idx.*not an IDX file"):
        read_idx_images(path)


def test_labels_file_given_as_images(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="swapped"):
        read_idx_images(path)


def test_non_byte_dtype_is_rejected(tmp_path):
    path = tmp_path / "floats"
    path.write_bytes(b"\x00\x00\x0d\x01" + np.asarray([1], ">u4").tobytes() + bytes(4))
    with pytest.raises(DataError, match="0x0d"):
        read_idx_labels(path)


def test_truncated_data(tmp_path):
    data = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"short-idx3-ubyte is truncated"):
        read_idx_images(path)


def test_extra_bytes(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros(4, np.uint8)) + b"junk")
    with pytest.raises(DataError, match="4 bytes beyond"):
        read_idx_labels(path)


def test_count_mismatch(tmp_path):
    images = write_idx(tmp_path / "x-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "x-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="3 images.*4 labels"):
        read_idx_pair(images, labels)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(5000, dtype=np.uint8) % 251))
    path = tmp_path / "cut-labels-idx1-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut-labels-idx1-ubyte\.gz is truncated"):
        read_idx_labels(path)


def test_not_gzip_despite_name(tmp_path):
    path = tmp_path / "fake.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match=r"fake\.gz is not a valid gzip file"):
        read_idx_labels(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_idx_labels(tmp_path / "nope.gz")
