from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from data_helpers import FASHION_DIR, require_mnist, write_fake_mnist
from ganplay.data import DATASETS
from ganplay.data.images import ImageDataset, load_dataset_files
from ganplay.errors import DataError


def config(dataset, data_dir="", image_channels=0):
    # load() reads only these fields of ganplay.config.Config
    return SimpleNamespace(
        dataset=dataset, data_dir=str(data_dir), image_channels=image_channels, seed=0
    )


@pytest.fixture(scope="module")
def mnist():
    return DATASETS.get("mnist").load(config("mnist", require_mnist()), 28)


def test_registered_image_datasets():
    for name in ("mnist", "fashion-mnist", "svhn", "image-folder"):
        spec = DATASETS.get(name)
        assert spec.kind == "images" and spec.needs_files


def test_offline_mnist_trains_on_the_test_set_and_says_so(mnist):
    assert mnist.shape == (28, 28, 1) and len(mnist) == 10_000 and mnist.pad_to is None
    assert mnist.labels.dtype == np.int32 and mnist.test_images is None
    assert "only the 10,000-image test set" in mnist.split_note


def test_sample_under_jit(mnist):
    arrays = mnist.device_arrays()
    assert arrays["images"].dtype == jnp.uint8 and isinstance(arrays["images"], jax.Array)
    sample = jax.jit(lambda a, k: mnist.sample(a, k, 64))
    x = sample(arrays, jax.random.key(0))
    assert x.shape == (64, 28, 28, 1) and x.dtype == jnp.float32
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0  # MNIST has pure black and white
    assert not np.array_equal(x, sample(arrays, jax.random.key(1)))
    np.testing.assert_array_equal(x, sample(arrays, jax.random.key(0)))


def test_padding_28_to_32_with_black_border(tmp_path):
    # Files the test writes (random pixels 0-255): padding needs no real digits.
    ds = load_dataset_files("mnist", write_fake_mnist(tmp_path, n=64), 32)
    assert ds.pad_to == 32 and ds.shape == (32, 32, 1)
    x = np.asarray(jax.jit(lambda a, k: ds.sample(a, k, 16))(ds.device_arrays(), jax.random.key(3)))
    assert x.shape == (16, 32, 32, 1)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert np.all(x[:, border] == -1.0)
    assert x[:, 2:30, 2:30].max() == 1.0
    grid = ds.real_grid_source(9)
    assert grid.shape == (9, 32, 32, 1) and np.all(grid[:, border] == -1.0)
    np.testing.assert_array_equal(grid, ds.real_grid_source(9))


def test_real_grid_source_matches_the_images():
    images = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2, 1) * 12
    ds = ImageDataset("t", images)
    grid = ds.real_grid_source(5)
    expected = np.sort(images.ravel() / 127.5 - 1)
    np.testing.assert_allclose(np.sort(grid.ravel()), expected, atol=1e-6)


def test_fashion_mnist_uses_train_and_holds_out_t10k():
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    ds = DATASETS.get("fashion-mnist").load(config("fashion-mnist"), 28)  # found in the system dir
    assert ds.source == str(FASHION_DIR)
    assert ds.images.shape == (60_000, 28, 28, 1) and ds.test_images.shape == (10_000, 28, 28, 1)
    assert "held out" in ds.split_note


def test_train_split_preferred(tmp_path):
    write_fake_mnist(tmp_path, n=7, split="train")
    write_fake_mnist(tmp_path, n=3, split="t10k")
    ds = load_dataset_files("mnist", tmp_path, 28)
    assert len(ds) == 7 and len(ds.test_labels) == 3


def test_svhn_into_a_28_model_is_refused(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    scipy_io.savemat(tmp_path / "test_32x32.mat", {
        "X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.array([[10], [1], [2], [3]], np.uint8)})
    ds = DATASETS.get("svhn").load(config("svhn", tmp_path), 32)
    assert ds.shape == (32, 32, 3) and ds.labels.tolist() == [0, 1, 2, 3]
    with pytest.raises(DataError, match="32x32 images but the model makes 28x28"):
        DATASETS.get("svhn").load(config("svhn", tmp_path), 28)


def test_image_folder_spec(tmp_path):
    for i in range(3):
        Image.new("RGB", (20, 20), (i * 100, 0, 0)).save(tmp_path / f"{i}.png")
    ds = DATASETS.get("image-folder").load(config("image-folder", tmp_path), 32)
    assert ds.shape == (32, 32, 3) and ds.labels is None and ds.pad_to is None
    ds1 = DATASETS.get("image-folder").load(config("image-folder", tmp_path, 1), None)
    assert ds1.shape == (28, 28, 1)
    with pytest.raises(DataError, match="data_dir"):
        DATASETS.get("image-folder").load(config("image-folder", ""), 28)
