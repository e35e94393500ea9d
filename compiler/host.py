"""The host CPU: its model, for keys of cached timings, and whether it has AVX-512.

XLA CPU compiles for the host it runs on; whether that host has 512-bit vector registers
decides which per-executable options pay (see `cost_model.xla_options`).
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
def has_avx512() -> bool:
    """Whether the host is an x86 CPU with AVX-512F, as Linux's /proc/cpuinfo lists it.

    False where that file or its x86 `flags` line is missing (other systems, other CPUs).
    """
    return "avx512f" in cpu_flags()


def cpu_flags() -> frozenset[str]:
    """The host CPU's x86 feature flags as /proc/cpuinfo lists them (empty where it has none)."""
    line = next((line for line in _cpuinfo_lines() if line.startswith("flags")), "flags:")
    return frozenset(line.split(":", 1)[1].split())


def _cpuinfo_lines() -> list[str]:
    try:
        with open(CPUINFO, encoding="utf-8") as handle:
            return handle.readlines()
    except OSError:
        return []
