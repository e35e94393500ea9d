"""A stand-in for the `time` module of `localconv.timing` in tests that time made-up calls."""

from __future__ import annotations


class FakeClock:
    """`time` for the timing module: `perf_counter` reads a clock only the test advances."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now
