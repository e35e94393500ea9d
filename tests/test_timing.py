"""localconv.timing: contenders timed in interleaved rounds, each after its own warm-up, by median.

A fake clock stands in for `time` in the module: each call of a contender advances it by that
call's made-up duration, so the rounds' order, the warm-up and the medians are exact.
"""

from __future__ import annotations

import pytest
from fake_clock import FakeClock

from localconv import timing


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def contender(name: str, durations: list[float], clock: FakeClock, calls: list[str]):
    """A function that logs `name` and takes the next of `durations` (the last one repeats)."""
    remaining = list(durations)

    def call() -> None:
        calls.append(name)
        clock.now += remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return call


def test_contenders_take_turns_in_rounds_and_the_median_of_the_first_timed_calls_counts(clock) -> None:
    calls: list[str] = []
    # b's calls: first untimed call, then per round one warm-up call and two timed ones.
    fns = {
        "a": contender("a", [1.0], clock, calls),
        "b": contender("b", [9.0, 9.0, 3.0, 5.0, 9.0, 4.0, 100.0], clock, calls),
    }
    medians = timing.median_seconds(fns, repeat=3)
    round_of = ["a"] * (1 + timing.BURST) + ["b"] * (1 + timing.BURST)
    assert calls == ["a", "b"] + round_of * 2
    # b's timed calls took 3, 5, 4 and 100: the median of the first three is 4.
    assert medians == {"a": 1.0, "b": 4.0}


def test_a_short_contender_warms_up_for_the_warm_up_time(clock) -> None:
    calls: list[str] = []
    step = timing.WARM_SECONDS / 3.5
    timing.median_seconds({"short": contender("short", [step], clock, calls)}, repeat=timing.BURST)
    # The first untimed call, then calls until WARM_SECONDS have passed (4 of 1/3.5 of it),
    # then the timed ones.
    assert len(calls) == 1 + 4 + timing.BURST


def test_repeat_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="repeat must be at least 1, got 0"):
        timing.median_seconds({"a": lambda: None}, repeat=0)


def test_a_queued_sample_makes_queue_calls_and_counts_their_mean(clock) -> None:
    calls: list[str] = []
    # After the untimed first call and a round's warm-up call, each sample is three calls.
    durations = [50.0, 50.0, 1.0, 2.0, 6.0, 4.0, 4.0, 4.0]
    medians = timing.median_seconds({"q": contender("q", durations, clock, calls)}, repeat=2, queue=3)
    assert len(calls) == 1 + 1 + 2 * 3
    # Samples: mean(1, 2, 6) = 3 and mean(4, 4, 4) = 4; the median of the two is 3.5.
    assert medians == {"q": 3.5}


def test_only_accelerators_queue_calls() -> None:
    assert timing.queued_calls("cpu") == 1
    assert timing.queued_calls("gpu") > 1 and timing.queued_calls("tpu") > 1


def test_queue_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="queue must be at least 1, got 0"):
        timing.median_seconds({"a": lambda: None}, repeat=1, queue=0)
