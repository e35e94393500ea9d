"""Timing several functions fairly on a shared machine: interleaved rounds, steady state, medians.

The benchmark and the autotuner both decide which of several compiled programs is fastest.
Timing each one's calls back to back lets a slow phase of a shared machine land on whichever
runs during it, and a program timed right after another one's long calls is not in its own
steady state: the allocator has handed the large freed blocks back to the OS and the cores
have idled (on the 2-core VM, a 1.5 ms layer measured 2.4 ms after 20 ms of sleep and one
warm-up call). So the contenders take turns in rounds; in each round a contender first runs
untimed for `WARM_SECONDS` (at least one call), then makes `BURST` timed calls, as in a loop
of calls to it.

On an accelerator a call returns before the device finishes, and a program's calls queue up
behind each other, as in a training loop: there one synchronous call measures the host's
launch latency more than the kernels (on an H100 every suite layer took 0.1-0.4 ms alone,
against rooflines of 0.001-0.1 ms). So there each timed sample is `queued_calls(backend)`
calls made back to back and waited for together, and counts as their mean: only the last
call's result is kept and waited for, as a device runs one program's calls in order, so a
sample holds no more memory than its calls in flight.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import jax

# Timed calls per contender per round.
BURST = 2
# Before its timed calls in a round, a contender runs untimed for at least this long.
WARM_SECONDS = 0.02
# Calls per timed sample on an accelerator (`queued_calls`).
ACCELERATOR_QUEUE = 20


def queued_calls(backend: str) -> int:
    """How many back-to-back calls one timed sample on `backend` makes: 1 on the CPU.

    The CPU's calls run for milliseconds and on the 2-core VM would only contend for its
    cores; an accelerator's are queued (`ACCELERATOR_QUEUE`), so a sample measures the
    program's throughput rather than its launch latency.
    """
    return 1 if backend == "cpu" else ACCELERATOR_QUEUE


def median_seconds(fns: Mapping[str, Callable[[], object]], repeat: int, queue: int = 1) -> dict[str, float]:
    """The median wall time in seconds per call of each function over `repeat` samples, in rounds.

    A sample is `queue` calls made back to back, of which the last is waited for with
    `jax.block_until_ready` (a device runs them in order), and counts as their mean
    (`queued_calls` says how many a backend wants). Each function is called once untimed
    first (compilation, first-touch allocation).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if queue < 1:
        raise ValueError(f"queue must be at least 1, got {queue}")
    for fn in fns.values():
        jax.block_until_ready(fn())
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(-(-repeat // BURST)):
        for name, fn in fns.items():
            warm_until = time.perf_counter() + WARM_SECONDS
            jax.block_until_ready(fn())
            while time.perf_counter() < warm_until:
                jax.block_until_ready(fn())
            for _ in range(BURST):
                start = time.perf_counter()
                for _ in range(queue - 1):
                    fn()
                jax.block_until_ready(fn())
                times[name].append((time.perf_counter() - start) / queue)
    return {name: statistics.median(samples[:repeat]) for name, samples in times.items()}
