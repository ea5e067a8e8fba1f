"""The C heap under a long run: glibc's own account of it, and handing its free memory back.

glibc's malloc keeps memory that XLA, numpy and Qt have freed in its arenas, to reuse it, and
returns it to the system only when the free space sits at the very top of an arena. During a
long run in the window the rest piles up in the middle: the 14-minute soak of 2026-12-05
(toy-mlp, grid25, every overlay) held 200 MB in use and 87-110 MB *free but kept*, which is what
made its resident size wander by ±20 MB from minute to minute and creep upward. ``malloc_trim``
gives those free pages back; the training loop calls :func:`trim_if_due` after each chunk, so
it runs at most once a minute (a few milliseconds) wherever training runs: the window, Compare,
sweeps and ``ganplay train``.

The trim cannot return free pieces smaller than a page, and those pile up between blocks kept
for long, such as the timeline's frames: in the 30-minute gia-mlp window soak glibc's free memory
grew 19 MB after minute 5. :func:`off_heap` copies such an array into a mapping of its own,
outside malloc's heap, which goes back to the system whole when the array is dropped; the
timeline recorder keeps its frames that way (the same soak then: glibc's free memory +8.1 MB,
RSS +19.96 MB of which the timeline 12.6 MB, at the speed of the run without it).

Pinning glibc's mmap threshold (``mallopt(M_MMAP_THRESHOLD)``, which also stops it from rising)
was tried first and is *not* done: it mapped and unmapped XLA's per-step buffers on every step
(1,029 page faults per gia-mlp step at 128 KiB), and training ran 37% slower on gia-mlp, 17% on
toy-mlp and 30% on dcgan28 (14% even at 4 MiB; 2026-12-05, one core each, interleaved).

Elsewhere than glibc (macOS, Windows, musl) these functions do nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import sys
import time

import numpy as np

TRIM_EVERY_S = 60.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    if hasattr(libc, "mallinfo2"):  # glibc 2.33 and later
        libc.mallinfo2.restype = _MallInfo2
    return libc


_LIBC = _glibc()
_last_trim = float("-inf")
OFF_HEAP_MIN_BYTES = 4 * mmap.PAGESIZE  # smaller arrays stay in the heap (a mapping is whole pages)


def off_heap(array, min_bytes: int = OFF_HEAP_MIN_BYTES) -> np.ndarray:
    """``array`` copied into an anonymous mapping of its own (freed whole with the array), for
    arrays kept long beside short-lived ones; below ``min_bytes`` it is returned as it is."""
    array = np.asarray(array)
    if array.nbytes < min_bytes:
        return array
    buffer = mmap.mmap(-1, array.nbytes)
    out = np.frombuffer(buffer, dtype=array.dtype, count=array.size).reshape(array.shape)
    out[...] = array
    return out


def usage_mb() -> tuple[float, float] | None:
    """(in use, free but kept) of the C heap in MiB, or None where glibc cannot say."""
    if _LIBC is None or not hasattr(_LIBC, "mallinfo2"):
        return None
    info = _LIBC.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def trim() -> bool:
    """Give the C heap's free pages back to the system now; True if glibc released any."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


def trim_if_due(every_s: float | None = None, clock=time.monotonic) -> bool:
    """:func:`trim` if the last trim (from any thread) was ``every_s`` (default
    :data:`TRIM_EVERY_S`; ``inf`` turns trimming off) or more ago; True if it trimmed."""
    global _last_trim
    every = TRIM_EVERY_S if every_s is None else every_s
    now = clock()
    if every == float("inf") or now - _last_trim < every:
        return False
    _last_trim = now
    trim()
    return True
