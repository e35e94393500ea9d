"""The opt-in allocator tuning keeps freed buffers for reuse on glibc.

Each case runs in its own process, since the tuning is process-wide. A buffer is allocated,
written, freed and allocated and written again; the page faults of the second round show
whether the first round's pages were kept.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

SCRIPT = """
import ctypes, json, resource, sys, threading
from localconv import allocator

size, tuning = int(sys.argv[1]), json.loads(sys.argv[2])
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
tuned = allocator.keep_freed_memory(*tuning) if tuning is not None else None


def fill_and_free():
    pointer = libc.malloc(size)
    libc.memset(pointer, 1, size)
    libc.free(pointer)


def faults_of_reuse(faults):
    fill_and_free()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    fill_and_free()
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)


faults = []
faults_of_reuse(faults)
thread = threading.Thread(target=faults_of_reuse, args=(faults,))
thread.start()
thread.join()
print(json.dumps({"tuned": tuned, "main": faults[0], "thread": faults[1]}))
"""

PAGE = 4096


def reuse_faults(size: int, tuning: list | None) -> dict:
    """Faults of the second fill of a `size`-byte buffer, in the main thread and in another."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(size), json.dumps(tuning)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the tuning is for glibc")


def test_untuned_glibc_faults_a_large_buffer_in_again() -> None:
    faults = reuse_faults(128 << 20, None)
    assert faults["main"] > (128 << 20) // PAGE // 2
    assert faults["thread"] > (128 << 20) // PAGE // 2


def test_default_keeps_buffers_of_every_size_in_every_thread() -> None:
    faults = reuse_faults(128 << 20, [])
    assert faults["tuned"] is True
    assert faults["main"] < 64
    assert faults["thread"] < 64


def test_threshold_keeps_buffers_up_to_it() -> None:
    assert reuse_faults(8 << 20, None)["main"] > (8 << 20) // PAGE // 2
    assert reuse_faults(8 << 20, [16 << 20])["main"] < 64
    assert reuse_faults(48 << 20, [16 << 20])["main"] > (48 << 20) // PAGE // 2


@pytest.mark.parametrize("threshold", [0, -1])
def test_a_threshold_below_one_byte_is_refused(threshold: int) -> None:
    from localconv import allocator

    message = f"threshold_bytes must be None or a positive number of bytes, got {threshold}"
    with pytest.raises(ValueError, match=message):
        allocator.keep_freed_memory(threshold)
