"""`python -m benchmarks`: the suite covers what the speed issue asks, and the tool runs end to end.

The tool is run as a user runs it (a subprocess in the repository root) on one small case with
one timed call, and its JSON is checked for every field the README table is built from;
unknown case names, a repeat below 1 and fewer than one process are refused with a usage error
before any timing. The targets summary and the merge of several processes' results are checked
on hand-made results.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import pathlib
import subprocess
import sys

import jax
import pytest

from localconv.cost_model import candidate_strategies
from localconv.machine import MachineRates

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_suite():
    """benchmarks/suite.py as a module, without putting the repository root on sys.path."""
    spec = importlib.util.spec_from_file_location("benchmark_suite", ROOT / "benchmarks" / "suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


CASES = load_suite().CASES


def load_runner():
    """benchmarks/run.py, imported as the `benchmarks` package's module without sys.path."""
    if "benchmarks" not in sys.modules:
        init = ROOT / "benchmarks" / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            "benchmarks", init, submodule_search_locations=[str(init.parent)]
        )
        sys.modules["benchmarks"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["benchmarks"])
    return importlib.import_module("benchmarks.run")


def run_benchmarks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_suite_spans_the_parameter_space() -> None:
    specs = {case.name: case.spec() for case in CASES}
    assert len(specs) >= 12
    assert {s.num_spatial for s in specs.values()} == {1, 2, 3}
    assert {1, 256} <= {s.batch for s in specs.values()}
    assert {(1, 1), (3, 3), (5, 5), (7, 7), (9, 9)} <= {s.filter_shape for s in specs.values()}
    assert any(s.filter_shape == s.window_strides for s in specs.values() if s.num_spatial == 2)
    assert any(any(d > 1 for d in s.lhs_dilation) for s in specs.values())
    assert any(any(d > 1 for d in s.rhs_dilation) for s in specs.values())
    layouts = {case.dimension_numbers for case in CASES}
    assert ("NCHW", "OIHW", "NCHW") in layouts and ("NHWC", "HWIO", "NHWC") in layouts and len(layouts) >= 5


@pytest.mark.xla
def test_one_case_end_to_end(tmp_path) -> None:
    out = tmp_path / "results.json"
    run = run_benchmarks(
        "--cases",
        "odd_layout_5x5_b4",
        "--repeat",
        "1",
        "--json",
        str(out),
        "--plot",
        "",
        "--every-strategy",
        "--keep-freed-memory",
    )
    assert run.returncode == 0, run.stderr
    assert "| odd_layout_5x5_b4 | accumulate_loop |" in run.stdout
    results = json.loads(out.read_text())
    assert results["machine"]["read_bandwidth"] > 0 and results["machine"]["matmul_flops"] > 0
    assert results["machine"]["keep_freed_memory"] is True
    assert results["machine"]["backend"] == "cpu" and results["machine"]["queued_calls"] == 1
    assert results["machine"]["device"] == jax.devices("cpu")[0].device_kind
    assert results["machine"]["jax"] == jax.__version__
    (result,) = results["results"]
    assert result["max_abs_error"] < 1e-4
    for field in ("jax_ms", "localconv_ms", "prepacked_ms", "roofline_ms", "passes_ms", "xla_compile_ms"):
        assert result[field] > 0, field
    assert result["torch_ms"] is None  # torch's unfold does not express this layout
    assert result["speedup"] == pytest.approx(result["jax_ms"] / result["localconv_ms"])
    assert result["x_roofline"] == pytest.approx(result["localconv_ms"] / result["roofline_ms"])
    assert result["temp_bytes"] > 0 and result["jax_temp_bytes"] > 0
    assert all(result[f"{s}_ms"] > 0 for s in candidate_strategies("cpu"))
    assert "multiply_reduce_ms" not in result  # not a candidate on CPU


def test_targets_summary_of_hand_made_results() -> None:
    """Each number of the summary, from results whose side of the roofline is known by hand."""
    rates = MachineRates("cpu", read_bandwidth=1e11, matmul_flops=1e12)

    def result(name, min_bytes, flops, jax_ms, localconv_ms, prepacked_ms) -> dict:
        timings = {"jax_ms": jax_ms, "localconv_ms": localconv_ms, "prepacked_ms": prepacked_ms}
        sizes = {"case": name, "min_bytes": min_bytes, "flops": flops}
        return load_runner().with_ratios(sizes | timings, rates)

    # 1 GB and 1 GFLOP: 10 ms of memory against 1 ms of FLOPs; 10 MB and 10 GFLOP: 0.1 ms against 10.
    memory = result("memory", 10**9, 10**9, jax_ms=80.0, localconv_ms=20.0, prepacked_ms=15.0)
    compute = result("compute", 10**7, 10**10, jax_ms=100.0, localconv_ms=50.0, prepacked_ms=25.0)
    summary = load_runner().target_summary([memory, compute], rates)
    assert summary["geomean_speedup"] == pytest.approx(math.sqrt(4.0 * 2.0))
    assert summary["slowest_speedup"] == pytest.approx(2.0) and summary["slower_than_jax"] == []
    slower = result("slower", 10**9, 10**9, jax_ms=10.0, localconv_ms=20.0, prepacked_ms=15.0)
    assert load_runner().target_summary([memory, slower], rates)["slower_than_jax"] == ["slower"]
    assert "; below: slower)" in load_runner().format_summary(
        load_runner().target_summary([memory, slower], rates), 2
    )
    assert summary["median_x_roofline"] == pytest.approx((20.0 / 10.0 + 50.0 / 10.0) / 2)
    assert summary["memory_bound_prepacked_median_x_roofline"] == pytest.approx(15.0 / 10.0)
    assert summary["sgemm_fraction"] == {"compute": [pytest.approx(0.2), pytest.approx(0.4)]}


@pytest.mark.xla
def test_targets_summary_end_to_end(tmp_path) -> None:
    """The tool prints the summary and stores the one its own results and rates give."""
    out = tmp_path / "results.json"
    cases = ("odd_layout_5x5_b4", "explicit_7x7_b64")
    run = run_benchmarks("--cases", *cases, "--repeat", "1", "--json", str(out), "--plot", "")
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    machine = results["machine"]
    rates = MachineRates("cpu", machine["read_bandwidth"], machine["matmul_flops"])
    summary = load_runner().target_summary(results["results"], rates)
    assert results["summary"] == summary  # JSON keeps floats exactly
    assert f"median case: {summary['median_x_roofline']:.1f}x its roofline (target 3x)" in run.stdout
    assert "geomean speedup over JAX: " in run.stdout and " over 2 cases (target 4x)" in run.stdout


def hand_made_run(bandwidth: float, localconv_ms: float, jax_ms: float, error: float, torch_ms=None) -> dict:
    """One process's results file with one case, as `python -m benchmarks` writes it."""
    result = {
        "case": "odd_layout_5x5_b4",
        "strategy": "accumulate_loop",
        "flops": 2 * 10**9,
        "min_bytes": 10**9,
        "jax_ms": jax_ms,
        "localconv_ms": localconv_ms,
        "prepacked_ms": localconv_ms / 2,
        "torch_ms": torch_ms,
        "roofline_ms": 1.0,
        "passes_ms": 10.0,
        "xla_compile_ms": 100.0,
        "temp_bytes": 4096,
        "max_abs_error": error,
    }
    return {"machine": {"read_bandwidth": bandwidth, "matmul_flops": 1e12}, "results": [result]}


def test_runs_of_several_processes_merge_to_medians() -> None:
    """Each timing is its median over the processes; the roofline and ratios follow the medians."""
    runs = [
        hand_made_run(1e11, localconv_ms=20.0, jax_ms=90.0, error=1e-6),
        hand_made_run(2e11, localconv_ms=10.0, jax_ms=100.0, error=3e-6, torch_ms=50.0),
        hand_made_run(4e11, localconv_ms=12.0, jax_ms=60.0, error=2e-6),
    ]
    rates, (merged,) = load_runner().merge_runs(runs, "cpu")
    assert (rates.read_bandwidth, rates.matmul_flops) == (2e11, 1e12)
    assert (merged["localconv_ms"], merged["jax_ms"], merged["prepacked_ms"]) == (12.0, 90.0, 6.0)
    assert merged["torch_ms"] == 50.0  # only one process had torch
    assert merged["max_abs_error"] == 3e-6
    # 1 GB at the median 200 GB/s: 5 ms, above 2 GFLOP at 1 TFLOP/s.
    assert merged["roofline_ms"] == pytest.approx(5.0)
    assert merged["speedup"] == pytest.approx(90.0 / 12.0)
    assert merged["x_roofline"] == pytest.approx(12.0 / 5.0)
    assert merged["packed_x_roofline"] == pytest.approx(6.0 / 5.0)
    assert merged["runs"]["localconv_ms"] == [20.0, 10.0, 12.0]
    assert (merged["strategy"], merged["temp_bytes"]) == ("accumulate_loop", 4096)


def test_runs_of_different_cases_are_not_merged() -> None:
    other = hand_made_run(1e11, 1.0, 2.0, 0.0)
    other["results"][0]["case"] = "explicit_7x7_b64"
    with pytest.raises(ValueError, match="the runs timed different cases"):
        load_runner().merge_runs([hand_made_run(1e11, 1.0, 2.0, 0.0), other], "cpu")


@pytest.mark.xla
def test_several_processes_end_to_end(tmp_path) -> None:
    out = tmp_path / "results.json"
    run = run_benchmarks(
        "--cases", "odd_layout_5x5_b4", "--repeat", "1", "--processes", "2", "--json", str(out), "--plot", ""
    )
    assert run.returncode == 0, run.stderr
    assert all(f"[process {i}/2] odd_layout_5x5_b4 " in run.stdout for i in (1, 2))
    assert run.stdout.count("| odd_layout_5x5_b4 | accumulate_loop |") == 1
    results = json.loads(out.read_text())
    assert results["machine"]["processes"] == 2
    (result,) = results["results"]
    times = result["runs"]["localconv_ms"]
    assert len(times) == 2 and result["localconv_ms"] == pytest.approx(sum(times) / 2)


def test_random_layers_are_reproducible_valid_and_bounded() -> None:
    """`--random N --seed S`: the same seed draws the same layers, each a valid spec within the
    sweep's bounds; different seeds draw different layers."""
    load_runner()
    random_layers = importlib.import_module("benchmarks.random_layers")
    cases = random_layers.random_cases(40, seed=3)
    assert cases == random_layers.random_cases(40, seed=3) != random_layers.random_cases(40, seed=4)
    for case in cases:
        spec = case.spec()
        rhs_bytes = 4 * math.prod(spec.rhs_shape)
        assert random_layers.MIN_RHS_BYTES <= rhs_bytes <= random_layers.MAX_RHS_BYTES, case.name
        assert 2 * math.prod(spec.out_shape) * spec.patch_size <= random_layers.MAX_FLOPS, case.name
        assert math.prod(spec.out_spatial) > 0
    assert {case.dimension_numbers for case in cases} == set(random_layers.LAYOUTS)


@pytest.mark.xla
def test_random_layers_end_to_end(tmp_path) -> None:
    out = tmp_path / "random.json"
    run = run_benchmarks("--random", "1", "--seed", "0", "--repeat", "1", "--json", str(out))
    assert run.returncode == 0, run.stderr
    results = json.loads(out.read_text())
    assert results["machine"]["random"] == {"layers": 1, "seed": 0}
    (result,) = results["results"]
    assert result["case"].startswith("r0_b")
    assert result["max_abs_error"] < 1e-3 and result["speedup"] > 0
    assert f"| {result['case']} |" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cases", "no_such_case"), "unknown case no_such_case; the cases are: face_9x9_b1"),
        (("--random", "2", "--cases", "face_9x9_b1"), "--random and --cases exclude each other"),
        (("--random", "-1"), "--random must be a number of layers (0: the suite), got -1"),
        (("--seed", "3"), "--seed needs --random"),
        (("--repeat", "0"), "--repeat must be at least 1, got 0"),
        (("--processes", "0"), "--processes must be at least 1, got 0"),
    ],
)
def test_bad_arguments_are_usage_errors(args, message) -> None:
    run = run_benchmarks(*args)
    assert run.returncode == 2 and message in run.stderr, run.stderr
