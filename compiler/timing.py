"""Timing several functions fairly on a shared machine: interleaved rounds, steady state, medians.

The benchmark and the autotuner both decide which of several compiled programs is fastest.
Timing each one's calls back to back lets a slow phase of a shared machine land on whichever
runs during it, and a program timed right after another one's long calls is not in its own
steady state: the allocator has handed the large freed blocks back to the OS and the cores
have idled (on the 2-core VM, a 1.5 ms layer measured 2.4 ms after 20 ms of sleep and one
warm-up call). So the contenders take turns in rounds; in each round a contender first runs
untimed for `WARM_SECONDS` (at least one call), then makes `BURST` timed calls, as in a loop
of calls to it.
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


def median_seconds(fns: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The median wall time in seconds of `repeat` calls of each function, timed in rounds.

    Each function is called once untimed first (compilation, first-touch allocation), and
    every call is waited for with `jax.block_until_ready`.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
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
                jax.block_until_ready(fn())
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples[:repeat]) for name, samples in times.items()}
