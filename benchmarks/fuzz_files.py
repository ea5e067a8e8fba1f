"""Fuzz every file format ganplay opens: mutate small valid files and open each the way the window
and the CLI do.

    python benchmarks/fuzz_files.py --per-format 10000 --seed 0 --json counts.json
    python benchmarks/fuzz_files.py --formats run,points-csv --per-format 200

Each input is written into its own folder and opened in a worker process (restarted after a
crash or a hang). The outcome of each input is one of:

- ``opened``: it opened (a mutation that left the file valid, or changed only values);
- ``refused``: a GanplayError whose message is one line naming the file;
- ``other``: anything else, reported with the input's seed so it can be replayed:
  ``traceback`` (another exception), ``unnamed`` (a GanplayError that does not name the file or
  spans lines), ``hang`` (more than 5 s of CPU, or 300 s of wall time), ``memory`` (the worker's
  peak RSS rose by more than 256 MB) or ``write`` (a file appeared or changed outside the input's
  folder, or inside it).

Inputs are deterministic: input ``i`` of format ``f`` is built from ``random.Random(f"{seed}:{f}:{i}")``.
The trainer a run file's config builds is compiled once per config (and its compile time is not
counted against the 5 s): what is fuzzed is the reading of the file, not XLA's compiler. Compare
sets open with ``vmap=False``: the vmapped program is compiled per set, and the reading is the same.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import io
import json
import os
import random
import resource
import select
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HANG_CPU_S = 5.0
HANG_WALL_S = 300.0  # a backstop only: on a loaded machine a niced worker may wait long for the CPU
WARM_UP_S = 900.0  # a fresh worker's first open: imports and compiles, on a loaded machine
MEMORY_MB = 256
TOY = dict(hidden=8, batch_size=16)


# -- valid seed files ------------------------------------------------------------------------------
def _toy_config(seed: int = 0):
    from ganplay.config import Config

    return Config.for_model("toy-mlp", dataset="ring8", seed=seed, **TOY)


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes() + array.tobytes()


def _cifar_batch(n: int, rng: np.random.Generator) -> bytes:
    records = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
    records[:, 0] = rng.integers(0, 10, n)
    return records.tobytes()


def _png(rng: np.random.Generator, size=(12, 9), mode="RGB", fmt="PNG") -> bytes:
    from PIL import Image

    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    a = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    im = Image.fromarray(a[..., 0] if channels == 1 else a, mode)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def build_seeds(folder: Path, formats) -> dict[str, dict[str, bytes]]:
    """Per format, the valid files of one input (name -> bytes), built small, here, offline."""
    folder.mkdir(parents=True, exist_ok=True)
    return {fmt: SEED_BUILDERS[fmt](folder, np.random.default_rng(0)) for fmt in formats}


def _run_seed(folder: Path, rng) -> dict[str, bytes]:
    from ganplay.engine import checkpoint
    from ganplay.engine.history import MetricHistory
    from ganplay.engine.train import build_trainer

    t = build_trainer(_toy_config())
    history = MetricHistory(t.metric_names, capacity=8)
    history.extend(1, {k: np.linspace(0, 1, 3) for k in t.metric_names})
    checkpoint.save_run(folder / "run.npz", t.config, t.init(), history=history,
                        extra={"quality": {"step": [1, 2], "modes": [1.0, None]}})
    return {"run.npz": (folder / "run.npz").read_bytes()}


def _compare_seed(folder: Path, as_folder: bool) -> dict[str, bytes]:
    from ganplay.engine.compare import Comparison

    c = Comparison([_toy_config(), _toy_config()], vmap=False)  # one config: one compile
    try:
        if as_folder:
            c.save_folder(folder / "set")
            return {p.name: p.read_bytes() for p in sorted((folder / "set").iterdir())}
        c.save(folder / "set.ganplay-compare")
        return {"set.ganplay-compare": (folder / "set.ganplay-compare").read_bytes()}
    finally:
        c.close()


def _idx_seed(gz: bool, rng) -> dict[str, bytes]:
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 6, dtype=np.uint8)
    if gz:
        return {"t10k-images-idx3-ubyte.gz": gzip.compress(_idx(images), mtime=0),
                "t10k-labels-idx1-ubyte.gz": gzip.compress(_idx(labels), mtime=0)}
    return {"t10k-images-idx3-ubyte": _idx(images), "t10k-labels-idx1-ubyte": _idx(labels)}


def _cifar_seed(archive: bool, rng) -> dict[str, bytes]:
    batches = {f"data_batch_{i}.bin": _cifar_batch(2, rng) for i in range(1, 6)}
    batches["test_batch.bin"] = _cifar_batch(2, rng)
    meta = "\n".join(("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                      "truck")).encode() + b"\n"
    if not archive:
        return {**batches, "batches.meta.txt": meta}
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as tar:
        for name, data in [*batches.items(), ("batches.meta.txt", meta)]:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return {"cifar-10-binary.tar.gz": gzip.compress(tar_buf.getvalue(), mtime=0)}


def _svhn_seed(rng) -> dict[str, bytes]:
    from scipy.io import savemat

    mat = io.BytesIO()
    savemat(mat, {"X": rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8),
                  "y": rng.integers(1, 11, (4, 1)).astype(np.uint8)}, do_compression=False)
    return {"test_32x32.mat": mat.getvalue()}


def _classifier_seed(folder: Path) -> dict[str, bytes]:
    from ganplay.engine.evaluator import EvaluationClassifier, init_params, save_classifier

    params = init_params(EvaluationClassifier(10), (28, 28, 1), 0)
    save_classifier(folder / "classifier.npz", params, {"version": 1, "fingerprint": "f00d", "test_accuracy": 0.5})
    return {"mnist-f00d.npz": (folder / "classifier.npz").read_bytes()}


SEED_BUILDERS = {
    "run": _run_seed,
    "compare-zip": lambda folder, rng: _compare_seed(folder, as_folder=False),
    "compare-folder": lambda folder, rng: _compare_seed(folder, as_folder=True),
    "config-json": lambda folder, rng: {"config.json": (_toy_config().to_json() + "\n").encode()},
    "points-csv": lambda folder, rng: {"points.csv": b"x,y\n" + b"".join(
        f"{x:.6g},{y:.6g}\n".encode() for x, y in rng.normal(size=(12, 2)))},
    "idx-gz": lambda folder, rng: _idx_seed(True, rng),
    "idx-raw": lambda folder, rng: _idx_seed(False, rng),
    "cifar-tar-gz": lambda folder, rng: _cifar_seed(True, rng),
    "cifar-bin": lambda folder, rng: _cifar_seed(False, rng),
    "svhn-mat": lambda folder, rng: _svhn_seed(rng),
    "image-folder": lambda folder, rng: {"a.png": _png(rng), "b.jpg": _png(rng, (10, 10), fmt="JPEG"),
                                         "c.png": _png(rng, (9, 14), "RGBA")},
    "classifier-cache": lambda folder, rng: _classifier_seed(folder),
}


# -- mutations -------------------------------------------------------------------------------------
def _bitflips(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(r.choice((1, 1, 2, 4, 16))):
        if b:
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
    return bytes(b)


def _truncate(data: bytes, r: random.Random) -> bytes:
    return data[:r.randrange(len(data) + 1)] if data else data


def _bytes_set(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(r.randint(1, 8)):
        if b:
            i = r.randrange(len(b))
            b[i:i + r.randint(1, 8)] = bytes([r.choice((0, 0xFF, 0x7F, 0x80, r.randrange(256)))]) * r.randint(1, 8)
    return bytes(b)


def _splice(data: bytes, r: random.Random) -> bytes:
    if len(data) < 2:
        return data + data
    i, j = sorted(r.sample(range(len(data)), 2))
    k = r.randrange(len(data))
    if r.random() < 0.5:
        return data[:k] + data[i:j] + data[k:]  # a chunk duplicated
    return data[:i] + data[j:]  # a chunk dropped


def _append(data: bytes, r: random.Random) -> bytes:
    return data + bytes(r.randrange(256) for _ in range(r.randint(1, 64)))


BYTE_MUTATORS = (_bitflips, _bitflips, _truncate, _bytes_set, _splice, _append)


def _json_mutate(text: bytes, r: random.Random) -> bytes:
    """Structural JSON changes: keys dropped, values of the wrong type, deep nesting, huge and
    non-finite numbers, non-UTF-8 bytes."""
    try:
        value = json.loads(text)
    except ValueError:
        return _bitflips(text, r)
    choice = r.randrange(7)
    if choice == 0:
        return b"[" * r.choice((100, 5000, 200_000)) + b"]" * r.choice((0, 100, 200_000))
    if choice == 1:
        return text[:r.randrange(len(text))] + bytes([r.choice((0x80, 0xFF, 0xC3, 0xED))]) + text[r.randrange(len(text)):]
    paths = list(_json_paths(value))
    if not paths:
        return json.dumps(_weird(r)).encode()
    path = r.choice(paths)
    if choice == 2 and path:
        _delete(value, path)
    else:
        value = _set(value, path, _weird(r))
    return json.dumps(value, allow_nan=True).encode()


def _weird(r: random.Random):
    return r.choice([None, True, -1, 0, 2**64, 1e308 * 10, float("nan"), -1e-320, "", "x" * 10_000,
                     "é\u202e", [], {}, [[[[[]]]]], {"a": {"b": {}}}, [1, 2, 3], "1e9", 3.5,
                     json.loads("[" * 50 + "]" * 50)])


def _json_paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _json_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            yield from _json_paths(v, (*prefix, i))


def _set(value, path, new):
    if not path:
        return new
    node = value
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = new
    return value


def _delete(value, path):
    node = value
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]


@functools.lru_cache(maxsize=8)  # most inputs start from the same valid file
def _zip_members(data: bytes) -> tuple[tuple[zipfile.ZipInfo, bytes], ...]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return tuple((i, z.read(i)) for i in z.infolist())


def _zip_bytes(members, compress=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are the point
            for name, data in members:
                z.writestr(name, data)
    return buf.getvalue()


def _zip_mutate(data: bytes, r: random.Random, inner: Callable[[str, bytes, random.Random], bytes] | None) -> bytes:
    """Archive-level changes: members duplicated, dropped, renamed, re-compressed, their sizes
    in the central directory made huge, or one member's content mutated by ``inner``."""
    members = [(i.filename, d) for i, d in _zip_members(data)]
    choice = r.randrange(8)
    if choice == 0 and members:
        m = r.choice(members)
        members.insert(r.randrange(len(members) + 1), (m[0], r.choice((m[1], _bitflips(m[1], r)))))
    elif choice == 1 and members:
        members.pop(r.randrange(len(members)))
    elif choice == 2 and members:
        i = r.randrange(len(members))
        members[i] = (r.choice(("../evil.npy", "/abs.npy", "a/b.npy", ".hidden.npy", "x.txt", "C:evil.npy",
                                members[i][0] + ".npy", "")), members[i][1])
    elif choice == 3:
        return _zip_bytes(members, zipfile.ZIP_DEFLATED)
    elif choice == 4:
        return _huge_sizes(_zip_bytes(members), r)
    elif choice == 5:
        return _zip_bomb(r)
    elif members and inner is not None:
        i = r.randrange(len(members))
        members[i] = (members[i][0], inner(members[i][0], members[i][1], r))
    return _zip_bytes(members)


def _huge_sizes(data: bytes, r: random.Random) -> bytes:
    """The central directory's sizes of one member set to a huge value (a lying archive)."""
    b = bytearray(data)
    starts = [i for i in range(len(b) - 4) if b[i:i + 4] == b"PK\x01\x02"]
    if not starts:
        return data
    at = r.choice(starts)
    field = r.choice((20, 24))  # compressed size, uncompressed size
    b[at + field:at + field + 4] = struct.pack("<I", r.choice((0xFFFFFFF0, 0x7FFFFFFF, 10**9)))
    return bytes(b)


BOMB_BYTES = 1 << 30  # what a zip or gzip bomb unpacks to (a multiple of 16 MB)
_BOMB: dict[int, bytes] = {}


def _zip_bomb(r: random.Random) -> bytes:
    """A deflated member of ``BOMB_BYTES`` of zeros (1 GB: about 1 MB on disk)."""
    if not _BOMB:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("bomb.npy", "w", force_zip64=True) as f:
                f.write(np.lib.format.magic(1, 0))
                header = {"descr": "|u1", "fortran_order": False, "shape": (BOMB_BYTES,)}
                np.lib.format.write_array_header_1_0(f, header)
                chunk = bytes(1 << 24)
                for _ in range(BOMB_BYTES >> 24):
                    f.write(chunk)
        _BOMB[0] = buf.getvalue()
    return _BOMB[0]


def _npy_mutate(name: str, data: bytes, r: random.Random) -> bytes:
    """One array of an npz: its header lies (huge shape, other dtype, object dtype, Fortran
    order), or its values are NaN/inf, of another dtype or shape."""
    if not name.endswith(".npy"):
        return _bitflips(data, r)
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception:  # noqa: BLE001 (already broken: mutate the bytes)
        return _bitflips(data, r)
    choice = r.randrange(8)
    if choice == 0:
        return _npy_header(data, {"shape": r.choice(((10**11,), (2**31, 2**31), (-1,), (1, 0, 5), ()))})
    if choice == 1:
        return _npy_header(data, {"descr": r.choice(("<f8", "|O", "<U10", "|V0", "<c16", ">f4", "|b1", "|S0"))})
    if choice == 2:
        return _npy_header(data, {"fortran_order": True})
    buf = io.BytesIO()
    if choice == 3 and a.dtype.kind == "f":
        a = a.copy()
        if a.size:
            a.reshape(-1)[r.randrange(a.size)] = r.choice((np.nan, np.inf, -np.inf))
    elif choice == 4:
        a = a.astype(r.choice((np.float64, np.int32, np.uint8, np.float16, np.bool_)))
    elif choice == 5:
        a = np.zeros(r.choice(((3,), (2, 2), (0,), (1,) * 6)), a.dtype)
    elif choice == 6 and name == "header.npy":
        a = np.frombuffer(_json_mutate(a.tobytes(), r), np.uint8)
    else:
        return _bitflips(data, r)
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _npy_header(data: bytes, changes: dict) -> bytes:
    """``data`` with its npy header rewritten (the array's bytes left as they were)."""
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
    rest = f.read()
    d = {"shape": header[0], "fortran_order": header[1], "descr": np.lib.format.dtype_to_descr(header[2]), **changes}
    text = repr(d).encode() + b" "
    text += b" " * ((-(len(text) + 11)) % 64) + b"\n"
    return np.lib.format.magic(1, 0) + struct.pack("<H", len(text)) + text + rest


def _idx_mutate(data: bytes, r: random.Random) -> bytes:
    """IDX: the magic, the dimension count and the sizes changed (huge ones included)."""
    b = bytearray(data)
    choice = r.randrange(3)
    if choice == 0 and len(b) >= 4:
        b[r.choice((2, 3))] = r.choice((0, 1, 3, 8, 9, 0x0D, 0xFF))
    elif choice == 1 and len(b) >= 8:
        dims = (len(b) - 4) // 4
        i = 4 + 4 * r.randrange(max(1, min(dims, b[3] if len(b) > 3 else 1)))
        b[i:i + 4] = struct.pack(">I", r.choice((0, 1, 2**31, 0xFFFFFFFF, 60000, 28 * 28)))
    else:
        return _splice(data, r)
    return bytes(b)


def _gzip_bomb() -> bytes:
    if 1 not in _BOMB:
        # An IDX header declaring 2,000 x 28 x 28 images, then BOMB_BYTES of zeros (1 GB: 1 MB gzipped).
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
            g.write(bytes([0, 0, 8, 3]) + np.asarray((2000, 28, 28), ">u4").tobytes())
            chunk = bytes(1 << 24)
            for _ in range(BOMB_BYTES >> 24):
                g.write(chunk)
        _BOMB[1] = buf.getvalue()
    return _BOMB[1]


def _tar_mutate(data: bytes, r: random.Random) -> bytes:
    """CIFAR archive: members with unsafe paths, links, duplicates or huge declared sizes; a
    batch with labels out of range or a ragged length; a non-UTF-8 class list."""
    raw = gzip.decompress(data)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]
    choice = r.randrange(6)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for k, (m, content) in enumerate(members):
            if choice == 0 and k == 0:
                m.name = r.choice(("../../evil.bin", "/etc/evil.bin", "cifar-10-batches-bin/../../x.bin"))
            if choice == 1 and r.random() < 0.2:
                link = tarfile.TarInfo(m.name)
                link.type, link.linkname = r.choice(((tarfile.SYMTYPE, "/etc/passwd"), (tarfile.LNKTYPE, members[0][0].name),
                                                     (tarfile.DIRTYPE, ""), (tarfile.FIFOTYPE, "")))
                tar.addfile(link)
                continue
            if choice == 2 and r.random() < 0.3:
                tar.addfile(m, io.BytesIO(content))  # a duplicated member
            if choice == 3 and m.name.endswith(".bin") and r.random() < 0.3:
                content = bytearray(content)
                content[r.randrange(0, len(content), 3073) if content else 0:][:1] = bytes([r.choice((10, 255))])
                content = bytes(content)
            if choice == 4 and r.random() < 0.3:
                content = content[:r.randrange(len(content) + 1)] + (b"\xff\xfe" if r.random() < 0.5 else b"")
            m.size = len(content)
            tar.addfile(m, io.BytesIO(content))
    raw = out.getvalue()
    if choice == 5:  # a member's header declares a huge size (the checksum fixed up)
        b = bytearray(raw)
        at = 512 * r.randrange(max(1, len(b) // 512 - 2))
        if b[at:at + 1] not in (b"", b"\0"):
            b[at + 124:at + 136] = b"77777777777\0"
            b[at + 148:at + 156] = b" " * 8
            b[at + 148:at + 156] = f"{sum(b[at:at + 512]):06o}\0 ".encode()
        raw = bytes(b)
    return gzip.compress(raw, mtime=0)


def _mat_mutate(data: bytes, r: random.Random) -> bytes:
    """SVHN: X and y of other shapes, dtypes and values, or a matrix's declared dimensions huge."""
    from scipy.io import savemat

    choice = r.randrange(4)
    if choice == 0:  # the dimensions of a matrix header (after the 128-byte file header)
        b = bytearray(data)
        at = 128 + 8 + 16 + 8  # tag, array flags, dimensions tag
        if len(b) > at + 8:
            b[at + 4 * r.randrange(2):][:4] = struct.pack("<i", r.choice((2**31 - 1, -1, 0, 10**9)))
        return bytes(b)
    rng = np.random.default_rng(r.randrange(2**32))
    x = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    y = rng.integers(1, 11, (4, 1)).astype(np.uint8)
    if choice == 1:
        x = r.choice((x.astype(np.float64), x[:, :, :2], x.reshape(32, 32, 12), np.zeros((32, 32, 3, 0), np.uint8),
                      "text", x.astype(np.int16)))
    else:
        y = r.choice((y.astype(np.float64) + 0.5, np.full((4, 1), np.nan), np.full((4, 1), 11), y[:2],
                      np.full((4, 1), -1.0), np.full((4, 1), np.inf), "ten", y.reshape(2, 2), np.zeros((4, 1), bool)))
    buf = io.BytesIO()
    savemat(buf, {"X": x, "y": y}, do_compression=r.random() < 0.5)
    return buf.getvalue()


def _png_mutate(name: str, data: bytes, r: random.Random) -> bytes:
    """An image whose declared size is huge (a decompression bomb), or whose chunks are cut."""
    if name.endswith(".png") and r.random() < 0.5 and data[12:16] == b"IHDR":
        import zlib

        b = bytearray(data)
        b[16:24] = struct.pack(">II", r.choice((12000, 30000, 65535, 1, 2**31 - 1)), r.choice((12000, 30000, 65535, 1, 20000)))
        b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
        return bytes(b)
    if name.endswith(".jpg") and r.random() < 0.5:
        b = bytearray(data)
        sof = b.find(b"\xff\xc0")
        if sof > 0:
            b[sof + 5:sof + 9] = struct.pack(">HH", r.choice((65500, 1, 0)), r.choice((65500, 1, 0)))
        return bytes(b)
    return r.choice(BYTE_MUTATORS)(data, r)


def _csv_mutate(data: bytes, r: random.Random) -> bytes:
    lines = data.split(b"\n")
    choice = r.randrange(5)
    if choice == 0:
        i = r.randrange(len(lines))
        lines[i] = r.choice((b"1e400,0", b"nan,1", b"inf,-inf", b"1,2,3", b"1", b",", b"\xff\xfe,1",
                             b"0x10,1", b"1_000,2", b"  3 , 4 ", b"#", b"1" * 100_000 + b",1", b"\0,\0"))
    elif choice == 1:
        lines = lines[:r.randrange(len(lines) + 1)]
    elif choice == 2:
        return b"x,y\n" + b"1,2\n" * r.choice((1, 1000, 200_000))
    else:
        return r.choice(BYTE_MUTATORS)(data, r)
    return b"\n".join(lines)


def _image_folder_mutate(files: dict[str, bytes], r: random.Random) -> dict[str, bytes]:
    """One image spoiled (the folder opens without it), or all of them (nothing to train on)."""
    if r.random() < 0.7:
        return _one_file(_png_mutate)(files, r)
    return {name: _png_mutate(name, data, r) for name, data in files.items()}


# -- formats ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    name: str
    mutate: Callable[[dict[str, bytes], random.Random], dict[str, bytes]]
    target: Callable[[Path], Path]  # what the user opens: the file or the folder


def _one_file(mutator):
    """Mutate one randomly chosen file of the input with ``mutator(name, data, r)``."""
    def mutate(files: dict[str, bytes], r: random.Random) -> dict[str, bytes]:
        files = dict(files)
        name = r.choice(sorted(files))
        files[name] = mutator(name, files[name], r)
        return files
    return mutate


def _generic(structured):
    """Half the time bytes-level noise, half the time ``structured``."""
    def mutate(name, data, r):
        if r.random() < 0.5:
            return r.choice(BYTE_MUTATORS)(data, r)
        return structured(name, data, r)
    return mutate


def _compare_folder_mutate(files: dict[str, bytes], r: random.Random) -> dict[str, bytes]:
    files = dict(files)
    choice = r.randrange(4)
    if choice == 0 and len(files) > 1:
        del files[r.choice(sorted(files))]  # a dropped run file (or the index)
        return files
    name = r.choice(sorted(files))
    if name.endswith(".json"):
        files[name] = _json_mutate(files[name], r) if choice == 1 else r.choice(BYTE_MUTATORS)(files[name], r)
    else:
        files[name] = _zip_mutate(files[name], r, _npy_mutate) if choice == 1 else r.choice(BYTE_MUTATORS)(files[name], r)
    return files


def _compare_zip_inner(name: str, data: bytes, r: random.Random) -> bytes:
    if name.endswith(".json"):
        return _json_mutate(data, r)
    return _zip_mutate(data, r, _npy_mutate) if r.random() < 0.7 else r.choice(BYTE_MUTATORS)(data, r)


def _idx_one(name, data, r):
    if name.endswith(".gz"):
        if r.random() < 0.01:
            return _gzip_bomb()
        if r.random() < 0.5:
            return gzip.compress(_idx_mutate(gzip.decompress(data), r), mtime=0)
    return _idx_mutate(data, r) if r.random() < 0.5 else r.choice(BYTE_MUTATORS)(data, r)


def _cifar_bin_one(name, data, r):
    if name.endswith(".txt"):
        return r.choice((b"\xff\xfe\x00", b"a\nb\n", b"", data * 3, _bitflips(data, r)))
    b = bytearray(data)
    if r.random() < 0.4 and b:
        b[r.randrange(0, len(b), 3073)] = r.choice((10, 11, 255))
        return bytes(b)
    return r.choice(BYTE_MUTATORS)(data, r)


FORMATS = {f.name: f for f in (
    Format("run", _one_file(_generic(lambda n, d, r: _zip_mutate(d, r, _npy_mutate))), lambda d: d / "run.npz"),
    Format("compare-zip", _one_file(_generic(lambda n, d, r: _zip_mutate(d, r, _compare_zip_inner))),
           lambda d: d / "set.ganplay-compare"),
    Format("compare-folder", _compare_folder_mutate, lambda d: d),
    Format("config-json", _one_file(_generic(lambda n, d, r: _json_mutate(d, r))), lambda d: d / "config.json"),
    Format("points-csv", _one_file(_generic(lambda n, d, r: _csv_mutate(d, r))), lambda d: d / "points.csv"),
    Format("idx-gz", _one_file(_idx_one), lambda d: d),
    Format("idx-raw", _one_file(_idx_one), lambda d: d),
    Format("cifar-tar-gz", _one_file(_generic(lambda n, d, r: _tar_mutate(d, r))), lambda d: d),
    Format("cifar-bin", _one_file(_cifar_bin_one), lambda d: d),
    Format("svhn-mat", _one_file(_generic(lambda n, d, r: _mat_mutate(d, r))), lambda d: d),
    Format("image-folder", _image_folder_mutate, lambda d: d),
    Format("classifier-cache", _one_file(_generic(lambda n, d, r: _zip_mutate(d, r, _npy_mutate))),
           lambda d: d / "mnist-f00d.npz"),
)}


# -- opening, as the app does -------------------------------------------------------------------------
_COMPILE_S = [0.0]


def _memoize_trainers() -> None:
    """Build (and compile) each config's trainer once: the fuzz is of the files, not of XLA."""
    from ganplay.engine import compare, session, train

    original = train.build_trainer

    @functools.lru_cache(maxsize=32)
    def build(config):
        start = time.process_time()
        trainer = original(config)
        trainer.init()  # compiled here, once
        _COMPILE_S[0] += time.process_time() - start
        return trainer

    train.build_trainer = session.build_trainer = compare.build_trainer = build


@functools.lru_cache(maxsize=1)
def _classifier_template():
    """What ``Evaluator.for_dataset`` checks a 28x28, 10-class cache file against."""
    from ganplay.engine.evaluator import EvaluationClassifier, param_shapes

    return param_shapes(EvaluationClassifier(10), (28, 28, 1))


def open_input(fmt: str, target: Path) -> None:
    """Open ``target`` through the code path the window and the CLI use for this format."""
    if fmt == "run":
        from ganplay.engine.session import Session

        Session.open(target)  # the window's Open; --resume runs checkpoint.open_run, its first half
    elif fmt in ("compare-zip", "compare-folder"):
        from ganplay.engine.compare import Comparison

        Comparison.open(target, vmap=False).close()
    elif fmt == "config-json":
        from ganplay.config import load_config

        load_config(target)
    elif fmt == "points-csv":
        from ganplay.data.points_file import read_points_csv

        read_points_csv(target)
    elif fmt in ("idx-gz", "idx-raw"):
        from ganplay.data.images import load_dataset_files

        load_dataset_files("mnist", target, 28)
    elif fmt in ("cifar-tar-gz", "cifar-bin"):
        from ganplay.data.images import load_dataset_files

        load_dataset_files("cifar10", target, 32)
    elif fmt == "svhn-mat":
        from ganplay.data.images import load_dataset_files

        load_dataset_files("svhn", target, 32)
    elif fmt == "image-folder":
        from ganplay.data.images import load_dataset_files

        load_dataset_files("image-folder", target, 32)
    elif fmt == "classifier-cache":
        from ganplay.engine.evaluator import load_classifier

        load_classifier(target, _classifier_template(), "f00d")
    else:
        raise ValueError(f"unknown format {fmt!r}")


def classify(fmt: str, target: Path, folder: Path) -> dict:
    """Open one input and judge the result (without the checks only the parent can make)."""
    import warnings

    from ganplay.errors import GanplayError

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu, compiled = time.process_time(), _COMPILE_S[0]
    result = {"outcome": "opened", "kind": "", "message": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            open_input(fmt, target)
    except GanplayError as exc:
        msg = str(exc)
        names = {str(target), str(folder)} | {str(p) for p in folder.iterdir()}
        named = any(n in msg for n in names)
        one_line = "\n" not in msg.strip()
        result = {"outcome": "refused" if named and one_line else "other",
                  "kind": "" if named and one_line else "unnamed", "message": msg[:500]}
    except BaseException as exc:  # noqa: BLE001 (that is what is being counted)
        if isinstance(exc, KeyboardInterrupt):
            raise
        import traceback

        result = {"outcome": "other", "kind": "traceback",
                  "message": f"{type(exc).__name__}: {str(exc)[:300]}",
                  "where": traceback.format_exc()[-1500:]}
    cpu = time.process_time() - cpu - (_COMPILE_S[0] - compiled)
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss
    if cpu > HANG_CPU_S:
        result.update(outcome="other", kind="hang", message=f"{cpu:.1f} s of CPU; " + result["message"])
    elif grew > MEMORY_MB:
        result.update(outcome="other", kind="memory", message=f"peak RSS +{grew:.0f} MB; " + result["message"])
    result["cpu"] = round(cpu, 4)
    return result


def _worker() -> None:
    """Read ``{"format", "target", "folder"}`` lines, answer one JSON line each."""
    _memoize_trainers()
    for line in sys.stdin:
        job = json.loads(line)
        result = classify(job["format"], Path(job["target"]), Path(job["folder"]))
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


# -- the driver ------------------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in folder.rglob("*"):
        try:
            st = p.lstat()
        except OSError:
            continue
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


class Worker:
    """A worker process: one per format run, restarted after a crash or a hang."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.proc = None
        self.warm_up: dict | None = None  # a valid input opened after each (re)start
        for d in ("tmp", "cache", "data", "cwd"):
            (self.scratch / d).mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        env = {**os.environ, "TMPDIR": str(self.scratch / "tmp"), "GANPLAY_CACHE_DIR": str(self.scratch / "cache"),
               "GANPLAY_DATA": str(self.scratch / "data"), "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=self.scratch / "cwd", env=env, text=True, bufsize=1)

    def ask(self, job: dict, timeout: float) -> dict | None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            if self.warm_up is not None:  # imports and first compiles: not the input's time
                self._send(self.warm_up, WARM_UP_S)
        return self._send(job, timeout)

    def _send(self, job: dict, timeout: float) -> dict | None:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            return None
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _mutated(spec: Format, files: dict[str, bytes], r: random.Random) -> dict[str, bytes]:
    try:
        return spec.mutate(files, r)
    except Exception:  # noqa: BLE001 (a mutation that cannot be built, e.g. of an already odd file)
        return _one_file(lambda n, d, rr: _bitflips(d, rr))(files, r)


def _write_input(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def fuzz(formats, per_format, seed: int, root: Path, log=print, opener=None, save=None, start: int = 0) -> dict:
    """Mutate and open ``per_format`` inputs of each format (a number, or one per format), the
    formats taken in turn (an interrupted run has covered each alike); counts per format and the
    'other' inputs (at most 20 per format, with their index to replay them). ``opener``: a
    callable ``(format, target, folder) -> result`` (the test suite's in-process run); default,
    the worker process. ``save(results)`` is called every 500 inputs of a format and at the end.
    ``start``: the first input's index (runs over disjoint ranges add up)."""
    seeds = build_seeds(root / "seeds", formats)
    worker = Worker(root / "scratch") if opener is None else None
    wanted = {fmt: per_format if isinstance(per_format, int) else per_format[fmt] for fmt in formats}
    counts = {fmt: Counter() for fmt in formats}
    others: dict[str, list] = {fmt: [] for fmt in formats}
    seconds = Counter()

    def results(partial: bool) -> dict:
        out = {}
        for fmt in formats:
            c = counts[fmt]
            out[fmt] = {"inputs": sum(c[k] for k in ("opened", "refused", "other")),
                        **{k: c[k] for k in ("opened", "refused", "other")},
                        "kinds": {k: c[k] for k in ("traceback", "unnamed", "hang", "memory", "write") if c[k]},
                        "seconds": round(seconds[fmt], 1), "others": others[fmt], **({"partial": True} if partial else {})}
        return out

    try:
        for i in range(start, start + max(wanted.values())):
            for fmt in formats:
                if i >= start + wanted[fmt]:
                    continue
                began = time.monotonic()
                result = _one_input(fmt, i, seed, seeds[fmt], root, worker, opener)
                seconds[fmt] += time.monotonic() - began
                if i == 0 and result["outcome"] != "opened":
                    raise RuntimeError(f"the valid {fmt} seed did not open: {result}")
                c = counts[fmt]
                c[result["outcome"]] += 1
                if result["outcome"] == "other":
                    c[result["kind"]] += 1
                    if len(others[fmt]) < 20:
                        others[fmt].append({"input": i, **result})
                if (i + 1 - start) % 500 == 0:
                    log(f"{fmt}: inputs {start:,}-{i:,}: {dict(c)}")
                    if save is not None:  # a partial count survives an interrupted run
                        save(results(partial=True))
    finally:
        if worker is not None:
            worker.stop()
    final = results(partial=False)
    if save is not None:
        save(final)
    for fmt, r in final.items():
        log(f"{fmt}: {r['inputs']} inputs: {r['opened']} opened, {r['refused']} refused, "
            f"{r['other']} other {r['kinds'] or ''} ({r['seconds']:.0f} s)")
    return final


def _one_input(fmt: str, i: int, seed: int, valid: dict[str, bytes], root: Path, worker, opener) -> dict:
    """Build input ``i`` of ``fmt`` (input 0: the valid file), open it and judge the result."""
    spec = FORMATS[fmt]
    files = valid if i == 0 else _mutated(spec, valid, random.Random(f"{seed}:{fmt}:{i}"))
    folder = root / "in" / fmt
    _write_input(folder, files)
    job = {"format": fmt, "target": str(spec.target(folder)), "folder": str(folder)}
    inside = _snapshot(folder)
    if worker is None:
        result = opener(fmt, Path(job["target"]), folder)
        if _snapshot(folder) != inside:
            result.update(outcome="other", kind="write", message="the input's folder changed")
        return result
    if worker.warm_up is None or worker.warm_up["format"] != fmt:
        # A worker (re)started opens a valid file first: its imports and compiles are not the input's.
        warm = root / "warm" / fmt
        _write_input(warm, valid)
        worker.warm_up = {"format": fmt, "target": str(spec.target(warm)), "folder": str(warm)}
    outside = _snapshot(root / "scratch")
    result = worker.ask(job, HANG_WALL_S)
    if result is None:
        return {"outcome": "other", "kind": "hang", "message": f"no answer in {HANG_WALL_S:.0f} s (or the worker died)"}
    # Nothing may be left in the worker's temp, data or working folder (its cache folder is its
    # own), nor changed in the input's own folder.
    left = {k for k in set(_snapshot(root / "scratch")) - set(outside) if not k.startswith("cache")}
    if left or _snapshot(folder) != inside:
        result.update(outcome="other", kind="write", message=f"left {sorted(left)[:3]}")
    return result


def in_process_opener():
    """An opener for the test suite: the same judgement, in this process (trainers memoized)."""
    _memoize_trainers()
    return classify


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--formats", default=",".join(FORMATS), help="comma-separated (default: all)")
    p.add_argument("--per-format", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="index of the first input (to split a run)")
    p.add_argument("--root", help="work folder (default: a temporary one)")
    p.add_argument("--json", help="write the counts and the 'other' inputs here")
    args = p.parse_args(argv)
    if args.worker:
        _worker()
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        p.error(f"unknown format {unknown[0]!r}; formats: {', '.join(FORMATS)}")
    with tempfile.TemporaryDirectory(prefix="ganplay-fuzz-") as tmp:
        root = Path(args.root) if args.root else Path(tmp)
        def save(results):
            if args.json:
                Path(args.json).write_text(json.dumps({"seed": args.seed, "start": args.start, "results": results},
                                                      indent=2) + "\n")

        results = fuzz(formats, args.per_format, args.seed, root, log=lambda s: print(s, flush=True), save=save,
                       start=args.start)
    print("| format | inputs | opened | refused | other |")
    print("|---|---:|---:|---:|---:|")
    for fmt, r in results.items():
        print(f"| {fmt} | {r['inputs']:,} | {r['opened']:,} | {r['refused']:,} | {r['other']:,} |")
    return 1 if any(r["other"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
