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
    monkeypatch.setattr(heap, "fix_mmap_threshold", lambda: True)  # (which trims once, too)
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


@glibc_only
def test_a_fixed_mmap_threshold_gives_large_blocks_their_own_mapping():
    """glibc raises its threshold (up to 32 MiB) after a mapped block is freed, so later large
    blocks come from the heap and leave holes there; fixed, each gets a mapping of its own. In a
    fresh interpreter: a long-lived one may have a free piece that large in its heap to reuse."""
    code = textwrap.dedent("""
        import ctypes
        from ganplay import heap
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
        heap._LIBC.mallopt(heap.M_MMAP_THRESHOLD, 32 << 20)  # where glibc's own raising can end up
        heap._LIBC.mallopt(heap.M_TRIM_THRESHOLD, 64 << 20)  # ... with the trim threshold twice that
        mapped = heap._LIBC.mallinfo2().hblks
        block = libc.malloc(8 << 20)
        raised = heap._LIBC.mallinfo2().hblks - mapped
        libc.free(block)
        assert heap.fix_mmap_threshold()
        block = libc.malloc(8 << 20)
        print(raised, heap._LIBC.mallinfo2().hblks - mapped)
        libc.free(block)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]  # from the heap while raised; its own mapping once fixed


def test_the_training_loop_fixes_the_threshold(monkeypatch):
    from tests.engine.test_loop import make_loop

    calls = []
    monkeypatch.setattr(heap, "fix_mmap_threshold", lambda: calls.append(1) or True)
    make_loop()
    assert calls == [1]
