import hashlib
import threading

import numpy as np
import pytest

from data_helpers import require_mnist
from ganplay.data import download
from ganplay.data.download import DownloadCancelled, download_file, fetch_dataset
from ganplay.errors import DataError

BODY = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
BODY_MD5 = hashlib.md5(BODY).hexdigest()


def test_good_download_reports_progress_and_leaves_no_part(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY
    calls = []
    dest = tmp_path / "sub" / "f.bin"
    download_file(file_server.url("/f.bin"), dest, BODY_MD5, progress=lambda *a: calls.append(a))
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "sub" / "f.bin.part").exists()
    assert calls[0] == (0, len(BODY), "f.bin") and calls[-1] == (len(BODY), len(BODY), "f.bin")


def test_checksum_mismatch_deletes_everything(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY[:-1] + b"X"
    dest = tmp_path / "f.bin"
    with pytest.raises(DataError, match=r"f\.bin.*127\.0\.0\.1.*checksum mismatch"):
        download_file(file_server.url("/f.bin"), dest, BODY_MD5)
    assert list(tmp_path.iterdir()) == []


def test_next_mirror_is_tried(tmp_path, file_server):
    file_server.files["/good/f.bin"] = BODY
    dest = tmp_path / "f.bin"
    mirrors = [file_server.url("/missing/f.bin"), file_server.url("/good/f.bin")]
    download_file(mirrors, dest, BODY_MD5)
    assert dest.read_bytes() == BODY


def test_truncated_transfer_resumes_with_range(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY
    file_server.truncate_next = 1
    dest = tmp_path / "f.bin"
    download_file(file_server.url("/f.bin"), dest, BODY_MD5)
    assert dest.read_bytes() == BODY
    assert file_server.ranges == [None, f"bytes={len(BODY) // 2}-"]


def test_truncated_transfer_without_retries_keeps_part_for_later(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY
    file_server.truncate_next = 1
    dest = tmp_path / "f.bin"
    with pytest.raises(DataError, match="resumed next time"):
        download_file(file_server.url("/f.bin"), dest, BODY_MD5, retries=0)
    part = tmp_path / "f.bin.part"
    assert part.stat().st_size == len(BODY) // 2 and not dest.exists()
    download_file(file_server.url("/f.bin"), dest, BODY_MD5)
    assert dest.read_bytes() == BODY and not part.exists()
    assert file_server.ranges[-1] == f"bytes={len(BODY) // 2}-"


def test_server_ignoring_range_restarts(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY
    file_server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes that must not be kept")
    download_file(file_server.url("/f.bin"), tmp_path / "f.bin", BODY_MD5)
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert file_server.ranges[0].startswith("bytes=")


def test_bad_old_part_is_replaced_by_a_fresh_download(tmp_path, file_server):
    file_server.files["/f.bin"] = BODY
    (tmp_path / "f.bin.part").write_bytes(b"\0" * 1000)  # wrong bytes: resuming gives a bad md5
    download_file(file_server.url("/f.bin"), tmp_path / "f.bin", BODY_MD5)
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert file_server.ranges == ["bytes=1000-", None]


def test_cancel_keeps_part_and_a_later_call_resumes(tmp_path, file_server, monkeypatch):
    monkeypatch.setattr(download, "PROGRESS_INTERVAL_S", 0.0)
    file_server.files["/f.bin"] = BODY
    cancel = threading.Event()

    def progress(done, total, name):
        if done > 0:
            cancel.set()

    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadCancelled, match=r"f\.bin cancelled"):
        download_file(file_server.url("/f.bin"), dest, BODY_MD5, progress=progress, cancel=cancel)
    kept = (tmp_path / "f.bin.part").stat().st_size
    assert 0 < kept < len(BODY) and not dest.exists()
    download_file(file_server.url("/f.bin"), dest, BODY_MD5)
    assert dest.read_bytes() == BODY
    assert file_server.ranges[-1] == f"bytes={kept}-"


def test_fetch_dataset_downloads_missing_files_only(tmp_path, file_server, monkeypatch):
    files = (download.RemoteFile("a.gz", hashlib.md5(b"AAA").hexdigest()),
             download.RemoteFile("b.mat", hashlib.md5(b"BBB").hexdigest()))
    file_server.files.update({"/m/a.gz": b"AAA", "/m/b.mat": b"BBB"})
    source = download.Source("Test", (file_server.url("/m/"),), files)
    monkeypatch.setitem(download.SOURCES, "testset", source)
    (tmp_path / "a").write_bytes(b"already here, uncompressed")
    fetch_dataset("testset", tmp_path)
    assert (tmp_path / "b.mat").read_bytes() == b"BBB" and not (tmp_path / "a.gz").exists()
    assert file_server.ranges == [None]


def test_offline_error_lists_files_and_folders(tmp_path, monkeypatch):
    # port 9 on localhost: nothing listens there, so the connection is refused at once
    source = download.Source("MNIST", ("http://127.0.0.1:9/",), download.SOURCES["mnist"].files)
    monkeypatch.setitem(download.SOURCES, "mnist", source)
    with pytest.raises(DataError) as info:
        fetch_dataset("mnist", tmp_path / "cache", hint_dirs=[tmp_path / "elsewhere"], timeout=5)
    message = str(info.value)
    assert "cannot connect" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert str(tmp_path / "cache") in message and str(tmp_path / "elsewhere") in message


def test_known_md5s_match_the_offline_mnist_copy():
    MNIST_DIR = require_mnist()
    known = {f.name: f for f in download.SOURCES["mnist"].files}
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert download.file_md5(MNIST_DIR / name) == known[name].md5
        assert (MNIST_DIR / name).stat().st_size == known[name].size
