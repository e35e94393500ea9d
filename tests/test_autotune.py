"""compile(autotune=True): every strategy timed once, the winner cached on disk and reused."""

from __future__ import annotations

import json

import jax
import jaxlib
import numpy as np
import pytest
from fake_clock import FakeClock
from jax import lax

import localconv
from localconv import autotune, timing
from localconv.api import packed_order, packed_spec
from localconv.cost_model import candidate_strategies, choose_strategy

ARGS = ((1, 1), "SAME", (3, 3))


@pytest.fixture
def operands():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((2, 3, 8, 7)).astype(np.float32),
        rng.standard_normal((4, 27, 8, 7)).astype(np.float32),
    )


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALCONV_CACHE_DIR", str(tmp_path))
    return tmp_path


def record_pipelines(monkeypatch) -> list:
    """The pipeline of every `lower_spec` call from now on, in order."""
    pipelines = []
    lower_spec = localconv.api.lower_spec

    def recording_lower_spec(spec, **kwargs):
        pipelines.append(kwargs.get("pipeline"))
        return lower_spec(spec, **kwargs)

    monkeypatch.setattr(localconv.api, "lower_spec", recording_lower_spec)
    return pipelines


@pytest.mark.xla
def test_autotune_times_the_candidates_and_caches_the_winner(operands, cache_dir) -> None:
    lhs, rhs = operands
    lowered = localconv.lower(lhs, rhs, *ARGS)
    compiled = lowered.compile(autotune=True)
    np.testing.assert_allclose(
        np.asarray(compiled(lhs, rhs)),
        np.asarray(lax.conv_general_dilated_local(lhs, rhs, *ARGS)),
        rtol=1e-5,
        atol=1e-5,
    )
    data = json.loads((cache_dir / autotune.CACHE_FILE).read_text())
    entry = data[autotune.cache_key(lowered.spec, "cpu")]
    assert set(entry["seconds"]) == set(candidate_strategies("cpu"))
    assert entry["strategy"] == min(entry["seconds"], key=entry["seconds"].get)
    assert entry["environment"] == autotune.environment("cpu")
    assert entry["environment"]["jaxlib"] == jaxlib.__version__


@pytest.mark.xla
def test_autotune_keys_the_winner_by_the_compiler_options(operands, cache_dir) -> None:
    lhs, rhs = operands
    lowered = localconv.lower(lhs, rhs, *ARGS)
    options = {"xla_cpu_enable_fast_math": False}
    lowered.compile(autotune=True, compiler_options=options)
    data = json.loads((cache_dir / autotune.CACHE_FILE).read_text())
    assert list(data) == [autotune.cache_key(lowered.spec, "cpu", options)]
    assert autotune.cached_strategy(lowered.spec, "cpu") is None


@pytest.mark.xla
def test_a_cached_winner_is_compiled_without_timing(operands, monkeypatch) -> None:
    lhs, rhs = operands
    lowered = localconv.lower(lhs, rhs, *ARGS)
    autotune._write_entry(autotune.cache_key(lowered.spec, "cpu"), {"strategy": "position_loop"})

    def must_not_tune(*args, **kwargs):
        raise AssertionError("timed again although the cache has the winner")

    monkeypatch.setattr(autotune, "tune", must_not_tune)
    pipelines = record_pipelines(monkeypatch)
    compiled = lowered.compile(autotune=True)
    assert len(pipelines) == 1 and "strategy=position_loop" in pipelines[0]
    np.testing.assert_allclose(
        np.asarray(compiled(lhs, rhs)),
        np.asarray(lax.conv_general_dilated_local(lhs, rhs, *ARGS)),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.xla
@pytest.mark.parametrize("winner", ["row_loop", "position_loop", "batched_dot"])
def test_prepacked_weights_follow_the_autotuned_strategy(operands, winner, monkeypatch) -> None:
    lhs, rhs = operands
    lowered = localconv.lower(lhs, rhs, *ARGS)
    assert choose_strategy(lowered.spec).strategy == "accumulate_loop" != winner
    autotune._write_entry(autotune.cache_key(lowered.spec, "cpu"), {"strategy": winner})
    compiled = lowered.compile(autotune=True)
    assert compiled.strategy == winner
    packed = compiled.prepack(rhs)
    assert packed.spec == packed_spec(lowered.spec, winner)
    assert packed.array.shape == tuple(rhs.shape[p] for p in packed_order(lowered.spec, winner))
    pipelines = record_pipelines(monkeypatch)
    result = compiled(lhs, packed)
    assert len(pipelines) == 1 and f"strategy={winner}" in pipelines[0]
    np.testing.assert_allclose(
        np.asarray(result),
        np.asarray(lax.conv_general_dilated_local(lhs, rhs, *ARGS)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_tuning_times_strategies_in_turns_and_caches_the_fastest(operands, cache_dir, monkeypatch) -> None:
    """No strategy's calls run all in one stretch, where a slow phase would decide the winner."""
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    clock = FakeClock()
    monkeypatch.setattr(timing, "time", clock)
    calls = []
    strategies = candidate_strategies("cpu")
    seconds = dict(zip(strategies, (4.0, 1.0, 3.0, 2.0), strict=True))

    def run_strategy(strategy: str):
        def run() -> None:
            calls.append(strategy)
            clock.now += seconds[strategy]

        return run

    assert autotune.tune(spec, "cpu", run_strategy, repeat=4, strategies=strategies) == strategies[1]
    # One untimed call each, then two rounds: a warm-up call and two timed ones each.
    a_round = [strategy for strategy in strategies for _ in range(1 + timing.BURST)]
    assert calls == [*strategies, *a_round, *a_round]
    entry = json.loads((cache_dir / autotune.CACHE_FILE).read_text())[autotune.cache_key(spec, "cpu")]
    assert entry["strategy"] == strategies[1] and entry["seconds"] == seconds


@pytest.mark.xla
@pytest.mark.parametrize("stored", ["bogus", 5, None])
def test_a_cache_entry_naming_no_strategy_is_ignored(operands, stored) -> None:
    lhs, rhs = operands
    lowered = localconv.lower(lhs, rhs, *ARGS)
    autotune._write_entry(autotune.cache_key(lowered.spec, "cpu"), {"strategy": stored})
    assert autotune.cached_strategy(lowered.spec, "cpu") is None
    assert lowered.compile(autotune=True).strategy in candidate_strategies("cpu")


def test_strategies_over_the_memory_budget_are_not_tuned(operands, monkeypatch) -> None:
    """Forced strategies skip the budget, so tuning must not run one that would exhaust memory."""
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    monkeypatch.setattr(localconv.cost_model, "default_memory_budget", lambda: 1)
    tuned = []

    def fake_tune(spec, backend, run_strategy, strategies, compiler_options=None):
        tuned.extend(strategies)
        return "position_loop"

    monkeypatch.setattr(autotune, "tune", fake_tune)
    assert localconv.api.autotune_strategy(spec, "cpu") == "position_loop"
    # With a 1-byte budget only the loops that cut patch rows in the loop fit (this layer's
    # accumulate loop does not build patches first).
    assert tuned == ["accumulate_loop", "position_loop"]


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        # With a 1-byte budget only position_loop fits: nothing to time.
        ("cpu", "position_loop"),
        # On GPU neither candidate fits: the cost model's choice (the fused reduce for this
        # small OIHW layer), as compile() without autotune would run, whatever the budget.
        ("gpu", "multiply_reduce"),
    ],
)
def test_with_fewer_than_two_candidates_nothing_is_timed(operands, cache_dir, monkeypatch, backend, expected):
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    monkeypatch.setattr(localconv.cost_model, "default_memory_budget", lambda: 1)
    monkeypatch.setattr(localconv.cost_model, "accumulate_loop_builds_patches", lambda spec: True)
    monkeypatch.setattr(autotune, "tune", lambda *args, **kwargs: pytest.fail("timed"))
    monkeypatch.setattr(localconv.runner, "get_client", lambda backend: pytest.fail("asked for a device"))
    assert localconv.api.autotune_strategy(spec, backend) == expected


def test_the_source_fingerprint_follows_python_sources_only(tmp_path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("anything")
    before = autotune.source_fingerprint([str(tmp_path)])
    (tmp_path / "notes.txt").write_text("something else")
    assert autotune.source_fingerprint([str(tmp_path)]) == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert autotune.source_fingerprint([str(tmp_path)]) != before


@pytest.mark.parametrize("text", ["{not json", "[" * 100_000 + "]" * 100_000])
def test_a_corrupt_cache_is_ignored(operands, cache_dir, text) -> None:
    """Unparsable, or nested past the JSON decoder's recursion limit."""
    (cache_dir / autotune.CACHE_FILE).write_text(text)
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    assert autotune.cached_strategy(spec, "cpu") is None


def test_cache_keys_depend_on_signature_and_backend(operands) -> None:
    lhs, rhs = operands
    spec = localconv.lower(lhs, rhs, *ARGS, pipeline=None).spec
    other = localconv.lower(jax.ShapeDtypeStruct((3, 3, 8, 7), np.float32), rhs, *ARGS, pipeline=None).spec
    keys = {
        autotune.cache_key(spec, "cpu"),
        autotune.cache_key(spec, "gpu"),
        autotune.cache_key(other, "cpu"),
    }
    assert len(keys) == 3
    assert autotune.cache_key(spec, "cpu") == autotune.cache_key(
        localconv.lower(lhs, rhs, *ARGS, pipeline=None).spec, "cpu"
    )


def test_cache_keys_depend_on_options_and_environment(operands, monkeypatch) -> None:
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    plain = autotune.cache_key(spec, "cpu")
    assert autotune.cache_key(spec, "cpu", {}) == plain
    assert autotune.cache_key(spec, "cpu", {"xla_cpu_enable_fast_math": True}) != plain
    real = autotune.environment
    for field in ("device", "host", "avx512", "jaxlib", "localconv", "code"):
        monkeypatch.setattr(autotune, "environment", lambda backend, f=field: {**real(backend), f: "other"})
        assert autotune.cache_key(spec, "cpu") != plain, field


def test_a_winner_tuned_in_another_environment_is_not_used(operands, monkeypatch) -> None:
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    real = autotune.environment
    monkeypatch.setattr(autotune, "environment", lambda backend: {**real(backend), "device": "another GPU"})
    autotune._write_entry(autotune.cache_key(spec, "cpu"), {"strategy": "position_loop"})
    assert autotune.cached_strategy(spec, "cpu") == "position_loop"
    monkeypatch.setattr(autotune, "environment", real)
    assert autotune.cached_strategy(spec, "cpu") is None


def test_an_unwritable_cache_leaves_no_temporary_files(operands, cache_dir) -> None:
    """A cache path that is a directory cannot be replaced: tuning still answers, and cleans up."""
    (cache_dir / autotune.CACHE_FILE).mkdir()
    spec = localconv.lower(*operands, *ARGS, pipeline=None).spec
    autotune._write_entry(autotune.cache_key(spec, "cpu"), {"strategy": "row_loop"})
    assert sorted(p.name for p in cache_dir.iterdir()) == [autotune.CACHE_FILE]
    assert autotune.cached_strategy(spec, "cpu") is None
