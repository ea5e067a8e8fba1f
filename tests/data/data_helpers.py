"""Helpers for the data tests: real-data paths, IDX and CIFAR-10 writers, a local file server."""
from __future__ import annotations

import gzip
import http.server
import io
import re
import tarfile
import threading
from pathlib import Path

import numpy as np

# The offline MNIST test set lives beside the project (../shared/data/mnist), never inside it;
# a test that reads it calls require_mnist() (a fresh machine has no shared folder).
from shared_data import MNIST_DIR, require_mnist  # noqa: E402,F401
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) as an IDX file: magic 00 00 08 <ndim>, big-endian dims, data."""
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_fake_mnist(directory: Path, n: int = 20, split: str = "t10k", seed: int = 0) -> Path:
    """A tiny MNIST-layout pair ``<split>-images-idx3-ubyte.gz`` / ``-labels-idx1-ubyte.gz``."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    write_idx(directory / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
    write_idx(directory / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return directory


class FileServer:
    """A local HTTP server for download tests, with ``Range`` support and scripted misbehaviour.

    ``files`` maps URL paths to bytes; ``truncate_next`` makes that many responses close the
    connection halfway; ``ignore_range`` answers 200 with the whole file even to a Range
    request; ``ranges`` records the Range header of every request (None when absent).
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate_next = 0
        self.ignore_range = False
        self.ranges: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                range_header = self.headers.get("Range")
                server.ranges.append(range_header)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
                if match and not server.ignore_range:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if server.truncate_next > 0:
                    server.truncate_next -= 1
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


CIFAR_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def cifar_batch_bytes(images: np.ndarray, labels) -> bytes:
    """CIFAR-10 binary records: per image one label byte, then its R, G and B planes row-major."""
    records = []
    for image, label in zip(np.asarray(images, np.uint8), labels):
        planes = [np.ascontiguousarray(image[:, :, c]).tobytes() for c in range(3)]
        records.append(bytes([int(label)]) + b"".join(planes))
    return b"".join(records)


def fake_cifar10(n: int = 20, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Batch file name -> (uint8 images [n, 32, 32, 3], labels [n]): five data batches, a test
    batch."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    return {
        name: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), (np.arange(n) + i) % 10)
        for i, name in enumerate(names)
    }


def cifar10_members(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, bytes]:
    """Archive member name -> bytes, as in cifar-10-binary.tar.gz (cifar-10-batches-bin/...)."""
    members = {f"cifar-10-batches-bin/{n}": cifar_batch_bytes(*b) for n, b in batches.items()}
    members["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(CIFAR_NAMES) + "\n\n").encode()
    return members


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    """A tar archive (gzip-compressed by default) holding ``members`` (name -> bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_fake_cifar10(directory: Path, n: int = 20, seed: int = 0, extracted: bool = False):
    """A small CIFAR-10 in the binary distribution's layout: ``cifar-10-binary.tar.gz`` in
    ``directory`` (or, ``extracted``, the ``cifar-10-batches-bin`` folder it holds). Returns the
    batches as :func:`fake_cifar10` gives them."""
    batches = fake_cifar10(n, seed)
    members = cifar10_members(batches)
    if extracted:
        for name, data in members.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(data)
    else:
        write_tar(directory / "cifar-10-binary.tar.gz", members)
    return batches
