import numpy as np
import pytest

scipy_io = pytest.importorskip("scipy.io")

from ganplay.data.svhn import read_svhn_mat  # noqa: E402
from ganplay.errors import DataError  # noqa: E402


def write_svhn(path, n=6, x=None, y=None, **extra):
    rng = np.random.default_rng(0)
    if x is None:
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    if y is None:
        y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 1..10 as in the real file
    scipy_io.savemat(path, {"X": x, "y": y, **extra})
    return x, y


def test_good_file_and_label_10_means_zero(tmp_path):
    path = tmp_path / "train_32x32.mat"
    x, y = write_svhn(path, n=12)
    images, labels = read_svhn_mat(path)
    assert images.shape == (12, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int32 and labels.shape == (12,)
    np.testing.assert_array_equal(images[4], x[:, :, :, 4])  # N moved to the front, pixels intact
    assert labels.tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]


def test_missing_variable(tmp_path):
    path = tmp_path / "other.mat"
    scipy_io.savemat(path, {"images": np.zeros((2, 2), np.uint8)})
    with pytest.raises(DataError, match=r"other\.mat has no variable 'X' or 'y'.*found: images"):
        read_svhn_mat(path)


def test_wrong_image_shape(tmp_path):
    path = tmp_path / "extra_28.mat"
    write_svhn(path, x=np.zeros((28, 28, 3, 4), np.uint8), y=np.ones((4, 1), np.uint8))
    with pytest.raises(DataError, match=r"extra_28\.mat: X has shape \(28, 28, 3, 4\)"):
        read_svhn_mat(path)


def test_wrong_dtype(tmp_path):
    path = tmp_path / "f.mat"
    write_svhn(path, x=np.zeros((32, 32, 3, 2), np.float64), y=np.ones((2, 1)))
    with pytest.raises(DataError, match="dtype float64"):
        read_svhn_mat(path)


def test_label_count_mismatch(tmp_path):
    path = tmp_path / "m.mat"
    write_svhn(path, n=5, y=np.ones((4, 1), np.uint8))
    with pytest.raises(DataError, match="X holds 5 images"):
        read_svhn_mat(path)


def test_label_out_of_range(tmp_path):
    path = tmp_path / "l.mat"
    write_svhn(path, n=3, y=np.array([[1], [11], [2]], np.uint8))
    with pytest.raises(DataError, match="label 11"):
        read_svhn_mat(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "train_32x32.mat"
    path.write_bytes(b"<html>404 not found</html>" * 10)
    with pytest.raises(DataError, match=r"train_32x32\.mat is not a MATLAB v5"):
        read_svhn_mat(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "test_32x32.mat"
    write_svhn(path, n=8)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"test_32x32\.mat is truncated or corrupt"):
        read_svhn_mat(path)


def test_hdf5_v73_file(tmp_path):
    path = tmp_path / "v73.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(12)
    path.write_bytes(header.ljust(512, b"\0") + b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(DataError, match=r"v73\.mat is a MATLAB v7\.3 \(HDF5\)"):
        read_svhn_mat(path)
