"""The opt-in allocator tuning takes effect on glibc (in its own process: it is process-wide)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from localconv import allocator
print(allocator.keep_freed_memory())
print(allocator.keep_freed_memory(allocator.MAX_MMAP_THRESHOLD * 4))
"""


def test_keep_freed_memory_on_glibc() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
