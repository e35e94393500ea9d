"""Where a compiled program's time goes: XLA's per-op trace events, summed per HLO op.

XLA CPU records one trace event each time it runs an op of the optimized HLO when the
executable is compiled with `TRACE_OPTION`; jax's profiler collects them. Summed over a few
calls on every thread, they tell which op of `Compiled.as_text()` costs what. The sums are
thread time: an op that XLA splits over several threads can add up to more than the call's
wall time, which is reported beside them.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import os
import re
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import jax

from .runner import Executable

# The XLA CPU option that makes an executable record a trace event per op.
TRACE_OPTION = "xla_cpu_enable_xprof_traceme"


@dataclasses.dataclass(frozen=True)
class OpTime:
    """One HLO op's trace events per call: their summed duration and their number."""

    name: str
    ms_per_call: float
    events_per_call: float
    loop: bool  # a while op, whose events span its body's ops


@dataclasses.dataclass(frozen=True)
class Profile:
    """The ops of one traced executable, costliest first, and the wall time of a call."""

    calls: int
    wall_ms_per_call: float
    ops: tuple[OpTime, ...]


def profile_ops(executable: Executable, args: Sequence[Any], calls: int = 5) -> Profile:
    """Runs `executable` (compiled with `TRACE_OPTION`) `calls` times under jax's profiler."""
    if calls < 1:
        raise ValueError(f"calls must be at least 1, got {calls}")
    text = executable.hlo_text()
    names = set(re.findall(r"%([^\s=]+) = ", text))
    loops = set(re.findall(r"%([^\s=]+) = [^\n]*? while\(", text))
    jax.block_until_ready(executable(*args))  # compiled and warm before the trace starts
    with tempfile.TemporaryDirectory() as directory:
        with jax.profiler.trace(directory):
            start = time.perf_counter()
            for _ in range(calls):
                jax.block_until_ready(executable(*args))
            wall = time.perf_counter() - start
        (path,) = glob.glob(os.path.join(directory, "**", "*.xplane.pb"), recursive=True)
        data = jax.profiler.ProfileData.from_file(path)
    durations, counts = collections.Counter(), collections.Counter()
    for plane in data.planes:
        for line in plane.lines:
            for event in line.events:
                if event.name in names:
                    durations[event.name] += event.duration_ns
                    counts[event.name] += 1
    ops = tuple(
        OpTime(name, nanoseconds / calls / 1e6, counts[name] / calls, name in loops)
        for name, nanoseconds in durations.most_common()
    )
    return Profile(calls, wall / calls * 1e3, ops)


def format_profile(profile: Profile, top: int = 15) -> str:
    """The `top` costliest ops as lines of text, with what the numbers are."""
    lines = [
        f"profile: XLA thread time per call of the optimized HLO's ops, over {profile.calls} traced "
        f"calls (wall {profile.wall_ms_per_call:.3f} ms per call, tracing included)"
    ]
    lines += [
        f"  {op.ms_per_call:10.3f} ms {op.events_per_call:8g}x  {op.name}"
        + (" (loop: includes its body's ops)" if op.loop else "")
        for op in profile.ops[:top]
    ]
    if len(profile.ops) > top:
        rest = sum(op.ms_per_call for op in profile.ops[top:])
        lines.append(f"  {rest:10.3f} ms in {len(profile.ops) - top} more ops")
    return "\n".join(lines)
