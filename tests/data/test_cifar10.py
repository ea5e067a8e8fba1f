"""CIFAR-10 from its binary distribution: the archive, the extracted folder, errors, download."""
import gzip
import hashlib
from types import SimpleNamespace

import numpy as np
import pytest

from data_helpers import (
    CIFAR_NAMES, cifar10_members, cifar_batch_bytes, fake_cifar10, write_fake_cifar10, write_tar,
)
from ganplay.data import DATASETS, download
from ganplay.data.cifar10 import parse_batch, read_cifar_archive
from ganplay.data.images import load_dataset_files
from ganplay.data.locate import dataset_cache_dir, find_dataset_dir
from ganplay.errors import DataError

TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
ARCHIVE = "cifar-10-binary.tar.gz"
MEMBER = "cifar-10-batches-bin/"


def config(data_dir):
    return SimpleNamespace(dataset="cifar10", data_dir=str(data_dir), image_channels=0, seed=0)


def test_archive_and_extracted_folder_give_the_same_arrays(tmp_path):
    batches = write_fake_cifar10(tmp_path / "archive")
    write_fake_cifar10(tmp_path / "extracted", extracted=True)
    from_archive = DATASETS.get("cifar10").load(config(tmp_path / "archive"), 32)
    from_folder = load_dataset_files("cifar10", tmp_path / "extracted", 32)
    # the .bin files given directly (data_dir is the extracted folder itself)
    direct = load_dataset_files("cifar10", tmp_path / "extracted" / "cifar-10-batches-bin", 32)
    train_images = np.concatenate([batches[n][0] for n in TRAIN])
    train_labels = np.concatenate([batches[n][1] for n in TRAIN])
    for ds in (from_archive, from_folder, direct):
        assert ds.shape == (32, 32, 3) and ds.pad_to is None and ds.images.dtype == np.uint8
        np.testing.assert_array_equal(ds.images, train_images)
        np.testing.assert_array_equal(ds.labels, train_labels)
        np.testing.assert_array_equal(ds.test_images, batches["test_batch.bin"][0])
        np.testing.assert_array_equal(ds.test_labels, batches["test_batch.bin"][1])
        assert ds.labels.dtype == np.int32 and ds.n_classes == 10
        assert ds.class_names == CIFAR_NAMES
        assert "training on the 100-image training set; the 20-image test set is held out" in (
            ds.split_note)
        assert "official batch files hold 10,000 records" in ds.split_note  # a small copy: said


def test_pixel_layout_label_then_red_green_blue_planes_row_major():
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0] = np.arange(1024).reshape(32, 32) % 256  # red: the index of the pixel
    image[..., 1] = 255 - image[..., 0]
    image[..., 2] = 7
    record = bytes([3]) + image[..., 0].tobytes() + image[..., 1].tobytes() + bytes([7] * 1024)
    assert cifar_batch_bytes(image[None], [3]) == record
    images, labels = parse_batch(record * 2, "t.bin")
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 3]
    assert tuple(images[0, 0, 1]) == (1, 254, 7)  # row 0, column 1
    assert tuple(images[0, 1, 0]) == (32, 223, 7)  # row 1, column 0
    np.testing.assert_array_equal(images[1], image)


def test_test_batch_alone_trains_and_partial_training_batches_are_named(tmp_path):
    write_fake_cifar10(tmp_path, extracted=True)
    folder = tmp_path / "cifar-10-batches-bin"
    for name in TRAIN[2:]:
        (folder / name).unlink()
    ds = load_dataset_files("cifar10", tmp_path, 32)
    assert len(ds) == 20 and ds.test_images is None
    assert "only the 20-image test set was found" in ds.split_note
    assert "data_batch_1.bin, data_batch_2.bin found" in ds.split_note
    assert ds.with_test_split().test_images.shape == (4, 32, 32, 3)


@pytest.mark.parametrize("in_archive", [True, False])
def test_truncated_batch_names_the_file_and_its_size(tmp_path, in_archive):
    members = cifar10_members(fake_cifar10(n=4))
    members[MEMBER + "data_batch_3.bin"] = members[MEMBER + "data_batch_3.bin"][:-100]
    if in_archive:
        where = rf"{ARCHIVE}: member {MEMBER}data_batch_3\.bin"
        write_tar(tmp_path / ARCHIVE, members)
    else:
        where = rf"{MEMBER}data_batch_3\.bin"
        for name, data in members.items():
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=rf"{where} has 12,192 bytes, not a multiple of the 3,073"):
        load_dataset_files("cifar10", tmp_path, 32)


@pytest.mark.parametrize("in_archive", [True, False])
def test_bad_label_byte_names_the_file_record_and_value(tmp_path, in_archive):
    batches = fake_cifar10(n=4)
    batches["test_batch.bin"][1][2] = 12
    if in_archive:
        write_tar(tmp_path / ARCHIVE, cifar10_members(batches))
        where = rf"{ARCHIVE}: member {MEMBER}test_batch\.bin"
    else:
        write_fake_cifar10(tmp_path, n=4, extracted=True)
        bad = cifar_batch_bytes(*batches["test_batch.bin"])
        (tmp_path / MEMBER / "test_batch.bin").write_bytes(bad)
        where = rf"{MEMBER}test_batch\.bin"
    message = rf"{where}: record 2 \(counting from 0\) has label byte 12"
    with pytest.raises(DataError, match=message):
        load_dataset_files("cifar10", tmp_path, 32)


def test_missing_member(tmp_path):
    members = cifar10_members(fake_cifar10(n=2))
    del members[MEMBER + "data_batch_5.bin"]
    write_tar(tmp_path / ARCHIVE, members)
    with pytest.raises(DataError, match=rf"{ARCHIVE} has no member {MEMBER}data_batch_5\.bin"):
        read_cifar_archive(tmp_path / ARCHIVE)


def test_python_version_is_recognised_and_refused(tmp_path):
    write_tar(tmp_path / ARCHIVE, {"cifar-10-batches-py/data_batch_1": b"\x80\x02pickle"})
    with pytest.raises(DataError, match="the Python \\(pickle\\) version"):
        read_cifar_archive(tmp_path / ARCHIVE)


def test_not_a_tar_nor_gzip(tmp_path):
    (tmp_path / ARCHIVE).write_bytes(b"<html>404 Not Found</html>" * 40)
    with pytest.raises(DataError, match=rf"{ARCHIVE} is not a gzip-compressed tar archive.*<html>"):
        load_dataset_files("cifar10", tmp_path, 32)
    (tmp_path / ARCHIVE).write_bytes(gzip.compress(b"plain text, not a tar" * 100))
    with pytest.raises(DataError, match=rf"{ARCHIVE} is not a tar archive"):
        load_dataset_files("cifar10", tmp_path, 32)


@pytest.mark.parametrize("kept", [0.1, 0.5, 0.999])
def test_truncated_download(tmp_path, kept):
    """Wherever the download stopped, even at a member's end (which looks like a short tar)."""
    write_fake_cifar10(tmp_path, n=20)
    data = (tmp_path / ARCHIVE).read_bytes()
    (tmp_path / ARCHIVE).write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(DataError, match=rf"{ARCHIVE} is truncated or corrupt"):
        load_dataset_files("cifar10", tmp_path, 32)


def test_uncompressed_tar_and_odd_class_names(tmp_path):
    members = cifar10_members(fake_cifar10(n=2))
    members[MEMBER + "batches.meta.txt"] = b"cat\ndog\n"
    write_tar(tmp_path / "cifar-10-binary.tar", members, mode="w")
    ds = load_dataset_files("cifar10", tmp_path, 32)
    assert len(ds) == 10 and ds.class_names == CIFAR_NAMES
    assert "batches.meta.txt does not list ten class names" in ds.split_note


@pytest.mark.parametrize("name", ["../data_batch_1.bin", "/tmp/cifar-10-batches-bin/x.bin"])
def test_unsafe_member_paths_are_refused(tmp_path, name):
    members = cifar10_members(fake_cifar10(n=2))
    write_tar(tmp_path / ARCHIVE, {name: b"x", **members})
    with pytest.raises(DataError, match="unsafe path"):
        read_cifar_archive(tmp_path / ARCHIVE)
    assert sorted(p.name for p in tmp_path.iterdir()) == [ARCHIVE]  # nothing was written


def test_found_through_data_dir_and_ganplay_data(tmp_path, monkeypatch):
    write_fake_cifar10(tmp_path / "mine" / "cifar10")
    assert find_dataset_dir("cifar10", tmp_path / "mine") == tmp_path / "mine" / "cifar10"
    write_fake_cifar10(tmp_path / "env", extracted=True)
    monkeypatch.setenv("GANPLAY_DATA", str(tmp_path / "env"))
    assert find_dataset_dir("cifar10") == tmp_path / "env"
    monkeypatch.delenv("GANPLAY_DATA")
    with pytest.raises(DataError) as info:
        find_dataset_dir("cifar10", tmp_path / "nothing")
    message = str(info.value)
    assert ARCHIVE in message and "cifar-10-batches-bin" in message and "170 MB" in message


def test_download_into_cache_then_load(tmp_path, file_server, monkeypatch):
    write_fake_cifar10(tmp_path, n=3)
    body = (tmp_path / ARCHIVE).read_bytes()
    file_server.files["/kriz/" + ARCHIVE] = body
    official = download.SOURCES["cifar10"].files[0]
    assert (official.name, official.size) == (ARCHIVE, 170052171)
    assert official.md5 == "c32a1d4ab5d03f1284b67883e8d87530"
    source = download.Source(
        "CIFAR-10", (file_server.url("/kriz/"),),
        (download.RemoteFile(ARCHIVE, hashlib.md5(body).hexdigest(), len(body)),),
    )
    monkeypatch.setitem(download.SOURCES, "cifar10", source)
    ds = load_dataset_files("cifar10", tmp_path / "empty", 32, allow_download=True)
    assert (dataset_cache_dir("cifar10") / ARCHIVE).read_bytes() == body
    assert ds.images.shape == (15, 32, 32, 3) and ds.test_images.shape == (3, 32, 32, 3)


def test_a_28x28_model_is_refused(tmp_path):
    write_fake_cifar10(tmp_path, n=2)
    with pytest.raises(DataError, match="CIFAR-10 has 32x32 images but the model makes 28x28"):
        load_dataset_files("cifar10", tmp_path, 28)


def test_dcgan32_trains_and_the_evaluation_split_fits(tmp_path):
    from ganplay.config import Config
    from ganplay.engine import Trainer, fetch_metrics
    from ganplay.engine.evaluator import evaluation_split

    write_fake_cifar10(tmp_path, n=8)
    t = Trainer(Config.for_model("dcgan32", dataset="cifar10", data_dir=str(tmp_path),
                                 width=0.0625, batch_size=8))
    state, metrics = t.run(t.init(), 3)
    m = fetch_metrics(metrics)
    assert int(state.step) == 3 and m["d_loss"].shape == (3,)
    assert all(np.isfinite(v).all() for v in m.values())
    x = np.asarray(t.generate(state, t.fixed_noise(2)))
    assert x.shape == (2, 32, 32, 3) and np.isfinite(x).all()
    split = evaluation_split(t.dataset)  # what FID / IS train their classifier on
    assert split.n_classes == 10 and split.test_images.shape == (8, 32, 32, 3)
