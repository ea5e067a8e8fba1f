"""Defects found by fuzzing the files ganplay opens (benchmarks/fuzz_files.py), each pinned here:
a hostile file is refused with one line naming it, before its claimed sizes are allocated."""
from __future__ import annotations

import gzip
import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from ganplay.config import Config, load_config
from ganplay.data.idx import read_idx_images
from ganplay.engine import checkpoint
from ganplay.engine.compare import Comparison
from ganplay.engine.session import Session
from ganplay.engine.train import Trainer
from ganplay.errors import CheckpointError, ConfigError, DataError, GanplayError

TOY = dict(hidden=8, batch_size=16)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A valid toy run file's header and arrays."""
    path = tmp_path_factory.mktemp("run") / "run.npz"
    t = Trainer(Config.for_model("toy-mlp", dataset="ring8", **TOY))
    checkpoint.save_run(path, t.config, t.init())
    return checkpoint.read_run(path)


def _npy(shape, descr="<f4", payload=b"") -> bytes:
    """An npy member whose header declares ``shape`` whatever ``payload`` holds."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode() + b" "
    text += b" " * ((-(len(text) + 11)) % 64) + b"\n"
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(text)) + text + payload


def _run_file(path, header: dict, arrays: dict, raw: dict | None = None, deflate: bool = False):
    """Write a run file from arrays, plus members given as raw npy bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, a in {"header": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}.items():
            buf = io.BytesIO()
            np.save(buf, a)
            z.writestr(f"{name}.npy", buf.getvalue())
        for name, data in (raw or {}).items():
            z.writestr(f"{name}.npy", data)
    return path


def _peak_mb(fn) -> float:
    """Peak traced allocation while ``fn`` runs (numpy's buffers are traced too)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _refused(fn, error, path) -> str:
    with pytest.raises(error) as info:
        fn()
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    return message


def test_an_array_declaring_100_gb_is_refused_before_it_is_allocated(tmp_path, toy_run):
    # Was a MemoryError traceback: numpy allocated the declared shape before reading.
    header, arrays = toy_run
    name = next(k for k in arrays if k.startswith("state.g_params"))
    path = _run_file(tmp_path / "run.npz", header, {k: v for k, v in arrays.items() if k != name},
                     raw={name: _npy((25 * 10**9,), payload=bytes(64))})
    message = _refused(lambda: Session.open(path), CheckpointError, path)
    assert "declares float32[25000000000]" in message


def test_an_array_that_does_not_fit_the_model_is_never_read(tmp_path, toy_run):
    # A deflated member of 64 MB of zeros (64 KB on disk) was read whole, then found not to fit.
    header, arrays = toy_run
    name = next(k for k in arrays if k.startswith("state.g_params"))
    path = _run_file(tmp_path / "run.npz", header, {**arrays, name: np.zeros(16 << 20, np.float32)}, deflate=True)
    assert path.stat().st_size < 1 << 20
    peak = _peak_mb(lambda: _refused(lambda: checkpoint.open_run(path), CheckpointError, path))
    assert peak < 16, f"{peak:.0f} MB allocated to refuse it"


def test_a_compare_set_holding_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    path = tmp_path / "bomb.ganplay-compare"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("compare.json", json.dumps({"format": "ganplay-compare", "version": 1,
                                               "runs": [{"name": "A", "file": "A.npz"}]}))
        z.writestr("A.npz", bytes(64 << 20))
    message = _refused(lambda: Comparison.open(path), CheckpointError, path)
    assert "'A.npz' claims 67,108,864 bytes" in message  # was unpacked to disk, then read


@pytest.mark.parametrize("where", ["run header", "config.json", "classifier header"])
def test_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path, toy_run, where):
    nested = "[" * 100_000 + "]" * 100_000
    if where == "config.json":
        path = tmp_path / "config.json"
        path.write_text(nested)
        _refused(lambda: load_config(path), ConfigError, path)
        return
    path = tmp_path / "file.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("header.npy", _npy((len(nested),), "|u1", nested.encode()))
    if where == "run header":
        _refused(lambda: checkpoint.open_run(path), CheckpointError, path)
    else:
        from ganplay.engine.evaluator import EvaluationClassifier, load_classifier, param_shapes

        template = param_shapes(EvaluationClassifier(10), (28, 28, 1))
        _refused(lambda: load_classifier(path, template, "f00d"), GanplayError, path)


def test_numpys_multi_line_errors_are_cut_to_one_line(tmp_path, toy_run):
    header, arrays = toy_run
    name = next(iter(arrays))
    long_header = np.lib.format.magic(1, 0) + struct.pack("<H", 20_000) + b" " * 20_000
    path = _run_file(tmp_path / "run.npz", header, {k: v for k, v in arrays.items() if k != name},
                     raw={name: long_header})
    _refused(lambda: checkpoint.open_run(path), CheckpointError, path)


@pytest.mark.parametrize("history", [
    {"history/step": np.arange(3.0), "history/stride": np.asarray([1])},
    {"history/step": np.arange(3.0), "history/stride": np.asarray(1), "history/d_loss": np.zeros(5)},
    {"history/step": np.arange(3.0)},
], ids=["stride-shape", "length", "no-stride"])
def test_a_corrupt_metric_history_is_one_line(tmp_path, toy_run, history):
    # Was a TypeError / ValueError traceback from MetricHistory.load_state_dict.
    header, arrays = toy_run
    path = _run_file(tmp_path / "run.npz", header, {**arrays, **history})
    message = _refused(lambda: Session.open(path), CheckpointError, path)
    assert "metric history is corrupt" in message


def test_an_idx_gzip_bomb_is_not_unpacked(tmp_path):
    # 64 MB of zeros after a valid 6-image header, about 64 KB gzipped: was decompressed whole.
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.GzipFile(path, "wb", mtime=0) as g:
        g.write(bytes([0, 0, 8, 3]) + np.asarray((6, 28, 28), ">u4").tobytes() + bytes(6 * 28 * 28))
        for _ in range(64):
            g.write(bytes(1 << 20))
    peak = _peak_mb(lambda: _refused(lambda: read_idx_images(path), DataError, path))
    assert peak < 16, f"{peak:.0f} MB allocated to refuse it"


def test_an_idx_header_declaring_terabytes_is_refused_unread(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.asarray((2**31, 2**16, 2**16), ">u4").tobytes())
    message = _refused(lambda: read_idx_images(path), DataError, path)
    assert "declares shape (2147483648, 65536, 65536)" in message


def _png_declaring(path, side: int) -> None:
    """A grayscale PNG of ``side`` x ``side`` black pixels: a few hundred KB, ``side**2`` bytes decoded."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte + pixels
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_an_image_declaring_too_many_pixels_is_skipped_unread(tmp_path):
    # 12,000 x 12,000 (144 million pixels, under Pillow's error limit) was decoded: 432 MB as RGB.
    from PIL import Image

    from ganplay.data.image_folder import read_image_folder

    _png_declaring(tmp_path / "a.png", 12_000)
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    images, warnings = read_image_folder(tmp_path, 16)
    assert len(images) == 1
    assert "a.png (12000x12000 is more than 50,000,000 pixels)" in warnings[0]


def test_an_npy_header_with_unbalanced_brackets_is_one_line(tmp_path, toy_run):
    # numpy's header parser raised tokenize.TokenError (a traceback) for a bit-flipped header.
    header, arrays = toy_run
    name = next(iter(arrays))
    text = b"{'descr': '<f4', 'fortran_order': False, 'shape': (3,}"
    text += b" " * ((-(len(text) + 11)) % 64) + b"\n"
    member = np.lib.format.magic(1, 0) + struct.pack("<H", len(text)) + text + bytes(12)
    path = _run_file(tmp_path / "run.npz", header, {k: v for k, v in arrays.items() if k != name}, raw={name: member})
    _refused(lambda: checkpoint.open_run(path), CheckpointError, path)


@pytest.mark.parametrize("steps", [[float("inf"), 2], [10**400, 2]], ids=["infinity", "huge"])
def test_a_quality_history_with_an_infinite_step_is_one_line(tmp_path, toy_run, steps):
    # int(Infinity) raised OverflowError, a traceback from Session.open (JSON allows Infinity).
    header, arrays = toy_run
    path = _run_file(tmp_path / "run.npz", {**header, "quality": {"step": steps}}, arrays)
    message = _refused(lambda: Session.open(path), CheckpointError, path)
    assert "quality history is malformed" in message


def test_a_compare_index_listing_thousands_of_runs_is_refused_before_reading_them(tmp_path, toy_run, monkeypatch):
    # Each listed run file was read before the count was checked: 10,000 entries, 10,000 reads.
    from ganplay.engine import compare_sets

    header, arrays = toy_run
    _run_file(tmp_path / "A.npz", header, arrays)
    (tmp_path / "compare.json").write_text(json.dumps(
        {"format": "ganplay-compare", "version": 1, "runs": [{"name": "A", "file": "A.npz"}] * 10_000}))
    reads = []
    monkeypatch.setattr(compare_sets, "read_run_file", lambda *a, **k: reads.append(a) or checkpoint.read_run_file(*a, **k))
    message = _refused(lambda: Comparison.open(tmp_path), CheckpointError, tmp_path)
    assert "10,000 runs" in message and reads == []


def test_a_cifar_archive_of_countless_members_is_refused_early(tmp_path):
    # Every member of the tar stream was walked: a few MB of gzip can hold millions of empty ones.
    import tarfile

    from ganplay.data.cifar10 import read_cifar_archive

    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for i in range(1001):
            tar.addfile(tarfile.TarInfo(f"junk/{i}"), io.BytesIO(b""))
    message = _refused(lambda: read_cifar_archive(path), DataError, path)
    assert "more than 1,000 members" in message


def test_an_svhn_file_unpacking_to_gigabytes_is_refused_before_scipy_reads_it(tmp_path, monkeypatch):
    # scipy unpacks a compressed variable whole: a file of a few KB could ask for gigabytes.
    import zlib

    from ganplay.data import svhn

    monkeypatch.setattr(svhn, "MAX_BYTES", 32 << 20, raising=False)  # (1 GB in the app; the same check)
    z = zlib.compressobj(9)
    packed = b"".join(z.compress(bytes(1 << 20)) for _ in range(48)) + z.flush()
    header = b"MATLAB 5.0 MAT-file, fuzz".ljust(116) + bytes(8) + b"\x00\x01IM"
    path = tmp_path / "test_32x32.mat"
    path.write_bytes(header + struct.pack("<II", 15, len(packed)) + packed)
    peak = _peak_mb(lambda: _refused(lambda: svhn.read_svhn_mat(path), DataError, path))
    assert peak < 24, f"{peak:.0f} MB allocated to refuse it"
