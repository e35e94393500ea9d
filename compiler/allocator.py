"""Opt-in glibc malloc tuning that keeps large freed buffers mapped between calls.

XLA on the CPU allocates an executable's temporaries and outputs per call. glibc serves large
requests with mmap and returns them to the OS when freed, and it gives back the freed tops of
its per-thread heaps too, so every call page-faults those buffers in again: on the benchmark
machine a fresh 134 MB output costs 33 ms of faults, a third of b256_tall_c8_3x3's call.
Keeping the pages in the process for reuse removes that, at the price of a resident set that
stays at its peak. This is process-wide, so localconv never does it by itself: call
`keep_freed_memory()` once at start-up, before the first computation starts XLA's threads
(threads that already have a malloc arena keep it), if you want it.

Starting the process with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (transparent huge pages:
512x fewer faults) is the other lever; no code can switch it on after start-up.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_NEVER_TRIM = 2**31 - 1

# glibc's cap on the mmap threshold on 64-bit machines.
MAX_MMAP_THRESHOLD = 32 << 20


def keep_freed_memory(threshold_bytes: int | None = None) -> bool:
    """Keep freed buffers in the process, so that later calls reuse them without page faults.

    With `threshold_bytes` None (the default), buffers of every size come from one heap that
    is never trimmed: mmap is off, and all threads share the main arena, since glibc caps the
    heaps of its per-thread arenas at 64 MiB and gives their freed memory back. With a number,
    only buffers up to it (at most `MAX_MMAP_THRESHOLD`) come from the heap, which keeps
    up to that much free memory before trimming. Returns False (and changes nothing) where
    the C library is not glibc.
    """
    if threshold_bytes is not None and threshold_bytes < 1:
        raise ValueError(f"threshold_bytes must be None or a positive number of bytes, got {threshold_bytes}")
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if threshold_bytes is None:
        settings = ((_M_TRIM_THRESHOLD, _NEVER_TRIM), (_M_MMAP_MAX, 0), (_M_ARENA_MAX, 1))
    else:
        threshold = min(threshold_bytes, MAX_MMAP_THRESHOLD)
        settings = ((_M_MMAP_THRESHOLD, threshold), (_M_TRIM_THRESHOLD, threshold))
    return all(mallopt(option, value) for option, value in settings)
