"""Opt-in glibc malloc tuning that keeps large freed buffers mapped between calls.

XLA on the CPU allocates an executable's temporaries per call. glibc serves large requests
with mmap and returns them to the OS when freed, so every call page-faults its temporaries in
again; on the benchmark machine that doubled the time of the largest cases. Raising glibc's
mmap and trim thresholds keeps those pages in the process for reuse, at the price of a larger
resident set. This is process-wide, so localconv never does it by itself: call
`keep_freed_memory()` once at start-up if you want it.

glibc caps the mmap threshold at 32 MiB on 64-bit machines; for larger temporaries, start the
process with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` (transparent huge pages: 512x fewer
faults), which no code can switch on after start-up.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


MAX_MMAP_THRESHOLD = 32 << 20


def keep_freed_memory(threshold_bytes: int = MAX_MMAP_THRESHOLD) -> bool:
    """Serve allocations up to `threshold_bytes` from the heap and never trim it back.

    Returns False (and changes nothing) where the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    threshold = min(threshold_bytes, MAX_MMAP_THRESHOLD)
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, threshold))
