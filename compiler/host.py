"""The host CPU: its model, for keys of cached timings, and the vector width it offers.

XLA CPU compiles for the host it runs on; what it can do there (512-bit vector registers or
not) decides which per-executable options pay (see `cost_model.xla_options`).
"""

from __future__ import annotations

import functools
import os
import platform

CPUINFO = "/proc/cpuinfo"


@functools.cache
def host_cpu() -> str:
    """The host's CPU model and core count, e.g. 'AMD EPYC x2'."""
    model = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo_lines() if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )
    return f"{model} x{os.cpu_count()}"


@functools.cache
def vector_bits() -> int:
    """The widest vector registers the host's code can use: 512 with AVX-512F, else 256."""
    return 512 if "avx512f" in cpu_flags() else 256


def cpu_flags() -> frozenset[str]:
    """The host CPU's feature flags as /proc/cpuinfo lists them (empty where it has none)."""
    line = next((line for line in _cpuinfo_lines() if line.startswith("flags")), "flags:")
    return frozenset(line.split(":", 1)[1].split())


def _cpuinfo_lines() -> list[str]:
    try:
        with open(CPUINFO, encoding="utf-8") as handle:
            return handle.readlines()
    except OSError:
        return []
