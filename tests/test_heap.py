"""ganplay/heap.py: glibc's free memory goes back to the system, at most once per interval,
from the one training loop."""
import ctypes
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganplay import heap

glibc_only = pytest.mark.skipif(heap.usage_mb() is None, reason="needs glibc 2.33+ (mallinfo2, malloc_trim)")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture
def fresh_interval(monkeypatch):
    monkeypatch.setattr(heap, "_last_trim", float("-inf"))


def test_trim_if_due_trims_once_per_interval(monkeypatch, fresh_interval):
    trims = []
    monkeypatch.setattr(heap, "trim", lambda: trims.append(1) or True)
    now = [1000.0]
    due = [heap.trim_if_due(60.0, clock=lambda: now[0]) for now[0] in (1000.0, 1030.0, 1059.9, 1060.0, 1100.0, 1121.0)]
    assert due == [True, False, False, True, False, True] and len(trims) == 3


def test_an_infinite_interval_turns_trimming_off(monkeypatch, fresh_interval):
    monkeypatch.setattr(heap, "TRIM_EVERY_S", float("inf"))
    monkeypatch.setattr(heap, "trim", lambda: pytest.fail("trimmed with trimming off"))
    assert not heap.trim_if_due()


def test_the_training_loop_trims_after_its_chunks(monkeypatch, fresh_interval):
    from tests.engine.test_loop import make_loop

    trims = []
    monkeypatch.setattr(heap, "trim", lambda: trims.append(1) or True)
    loop, _ = make_loop()
    loop.advance(4)
    loop.advance(4)  # within the minute: no second trim
    assert len(trims) == 1
    monkeypatch.setattr(heap, "_last_trim", float("-inf"))
    loop.advance(4)
    assert len(trims) == 2


@glibc_only
def test_trim_returns_free_memory_held_in_the_middle_of_the_heap():
    """Memory freed below a block still in use stays in the process (glibc trims only the top of
    the heap by itself) until malloc_trim gives it back."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block, count = 64 * 1024, 2400  # 150 MiB in blocks under the mmap threshold: from the heap
    blocks = [libc.malloc(block) for _ in range(count)]
    pin = libc.malloc(block)  # above them all: their free space is not at the top
    try:
        assert all(blocks) and pin
        for b in blocks:
            ctypes.memset(b, 1, block)  # touched, so resident
        for b in blocks:
            libc.free(b)
        held = _rss_mb()
        used, free = heap.usage_mb()
        assert free > 100, f"glibc kept only {free:.0f} MiB free"
        heap.trim()
        assert _rss_mb() < held - 100, f"RSS {held:.0f} -> {_rss_mb():.0f} MiB"
    finally:
        libc.free(pin)


def _mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_off_heap_copies_a_large_array_into_a_mapping_of_its_own_and_frees_it_whole():
    import mmap

    import numpy as np

    source = np.arange(64 * 28 * 28, dtype=np.uint8).reshape(64, 28, 28, 1)
    before = _mappings()
    kept = heap.off_heap(source)
    np.testing.assert_array_equal(kept, source)
    assert kept.dtype == source.dtype and kept.flags.writeable
    base = kept
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base.obj if isinstance(base, memoryview) else base, mmap.mmap)  # its own mapping
    source[0] = 0
    assert kept[0].any()  # a copy
    assert _mappings() > before
    del kept, base
    assert _mappings() == before  # unmapped with the array


def test_off_heap_leaves_small_arrays_where_they_are():
    import numpy as np

    small = np.zeros(100, np.float16)
    assert heap.off_heap(small) is small


def test_the_timeline_keeps_large_frames_off_the_heap():
    """The recorder's frames are the long-lived arrays between a window's short-lived ones: a
    digit grid (50 KB) is kept in its own mapping, a toy run's 2 KB of points stays in the heap."""
    import numpy as np

    from ganplay.engine.recorder import Recorder

    recorder = Recorder()
    recorder.add(1, np.zeros((64, 28, 28, 1), np.float32))
    recorder.add(2, np.zeros((512, 2), np.float32))
    digits, points = recorder.frames[0].generated, recorder.frames[1].generated
    assert digits.dtype == np.uint8 and not digits.flags.owndata and digits.base is not None
    assert points.flags.owndata  # small: an ordinary heap array
