"""The C heap under a long run: glibc's own account of it, and handing its free memory back.

glibc's malloc keeps memory that XLA, numpy and Qt have freed in its arenas, to reuse it, and
returns it to the system only when the free space sits at the very top of an arena. During a
long run in the window the rest piles up in the middle: the 14-minute soak of 2026-12-05
(toy-mlp, grid25, every overlay) held 200 MB in use and 87-110 MB *free but kept*, which is what
made its resident size wander by ±20 MB from minute to minute and creep upward. ``malloc_trim``
gives those free pages back; the training loop calls :func:`trim_if_due` after each chunk, so
it runs at most once a minute (a few milliseconds) wherever training runs: the window, Compare,
sweeps and ``ganplay train``.

The trim cannot return free pieces smaller than a page, and those pile up between large blocks
kept for long, such as the timeline's frames: glibc raises its mmap threshold (from 128 KiB up to
32 MiB) every time a mapped block is freed, so later large blocks come from the heap and leave
holes when freed. :func:`fix_mmap_threshold` pins the threshold at 128 KiB: every block that size
or larger gets a mapping of its own, handed back whole when freed (and the top of the heap is
given back past twice that, glibc's own ratio). The gia-mlp window with the threshold set this way
from start-up (``MALLOC_MMAP_THRESHOLD_=131072``) held ~40 MB free instead of ~140 MB, at an RSS
of ~710 MB instead of ~780 (2026-12-05); the training loop sets it when it is built.

Elsewhere than glibc (macOS, Windows, musl) these functions do nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
import time

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
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    if hasattr(libc, "mallinfo2"):  # glibc 2.33 and later
        libc.mallinfo2.restype = _MallInfo2
    return libc


_LIBC = _glibc()
_last_trim = float("-inf")
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value
_threshold_fixed = False


def fix_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Give every block of ``nbytes`` or more a mapping of its own, and stop glibc from raising
    that threshold (once per process; the training loop calls it). True if glibc took it."""
    global _threshold_fixed
    if _LIBC is None or _threshold_fixed:
        return _threshold_fixed
    # The top of the heap is given back past twice the threshold (glibc's own ratio, which raising
    # the threshold had raised too): a large block finds no room at the top and gets its mapping.
    _threshold_fixed = bool(_LIBC.mallopt(M_MMAP_THRESHOLD, int(nbytes))
                            and _LIBC.mallopt(M_TRIM_THRESHOLD, 2 * int(nbytes)))
    trim()  # and the room at the top that the raised thresholds kept, now
    return _threshold_fixed


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
