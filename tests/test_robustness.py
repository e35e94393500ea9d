"""Robustness: bounded resources, deterministic IR, thread safety and IEEE special values.

- Resources: the cost model swaps in `position_loop` when the patch tensor would exceed the
  memory budget, `explain` reports the bytes it reasons about, loop counters become int64 when
  an extent reaches 2**31 (checked on IR lowered from `jax.ShapeDtypeStruct`s: nothing that
  large is ever allocated or compiled), and `localconv run` refuses arguments no machine holds.
- Determinism: the same convolution gives byte-identical IR from every tool and the API, in
  processes with different `PYTHONHASHSEED`s (so different dict orders and addresses).
- Concurrency: eight threads calling `conv_general_dilated_local` and `lower(...).compile()` at
  once, with one signature and with eight, all get JAX's results.
- Special values: NaN and +-Inf in lhs and rhs give the NaN/Inf pattern of the definition for
  every contraction strategy. Inputs are standard normal apart from the injected NaN, Inf and
  zeros, so no finite partial sum overflows and the pattern cannot depend on summation order:
  an output is NaN iff one of its terms is NaN (a NaN operand, or 0 * Inf, padding and dilation
  holes included) or it has both +Inf and -Inf terms, and +-Inf iff it has Inf terms of one
  sign only. JAX's own op deviates from that definition for Inf in lhs: it extracts patches
  with a convolution against a one-hot kernel, so an lhs Inf times the kernel's zeros turns
  every patch entry of that window into NaN. So the reference is the NumPy oracle (written
  from the definition), and JAX is compared wherever its result is not NaN.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import platform
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import jax
import numpy as np
import oracle
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from jaxlib.mlir import ir
from localconv_cases import spec_of

import localconv
from localconv.contraction import STRATEGIES, STRATEGY_ATTRIBUTE
from localconv.cost_model import (
    DOT_MATMUL_FLOPS,
    LARGE_BATCH,
    MATVEC_DOT_FLOPS,
    REDUCE_MAX_FLOPS,
    choose_strategy,
    estimate,
    few_positions_of_small_matmuls,
    few_positions_of_wide_matmuls,
    one_trip_across_rhs,
    row_patch_bytes,
)
from localconv.explain import explain
from localconv.lowering.pass_base import ops_where
from localconv.lowering.pipelines import default_pipeline

BIN = Path(sys.executable).parent
S = jax.ShapeDtypeStruct


def run_tool(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, timeout=300, check=False, **kwargs)


# --- resources: the memory budget ---------------------------------------------------------


@settings(max_examples=strategies.examples(200))
@given(case=strategies.cases(spatial_dims=st.sampled_from([1, 2, 3])), margin=st.integers(1, 1000))
def test_patches_over_the_budget_use_position_loop(case: strategies.Case, margin: int) -> None:
    """One byte over the budget means position_loop; at the budget the layout rule decides."""
    spec = spec_of(case)
    # N * C * prod(filter) * prod(out spatial) elements of the result dtype (the wider one).
    itemsize = max(jax.numpy.dtype(case.lhs_dtype).itemsize, jax.numpy.dtype(case.rhs_dtype).itemsize)
    batch = case.lhs_shape[case.layout.lhs[0]]
    expected = batch * case.contraction_length * math.prod(case.out_spatial) * itemsize
    assert estimate(spec).patch_bytes == expected
    assert batch < LARGE_BATCH  # so only the layout and the budget decide
    assert not few_positions_of_wide_matmuls(spec)  # its batch and O are below rule 0b's (test_strategies)
    rhs_spatial_leading = max(case.layout.rhs[2:]) < min(case.layout.rhs[:2])
    per_position = 2 * batch * case.contraction_length * case.rhs_shape[case.layout.rhs[0]]
    dot = (
        rhs_spatial_leading
        and (per_position >= DOT_MATMUL_FLOPS or batch == 1 and per_position >= MATVEC_DOT_FLOPS)
        or one_trip_across_rhs(spec)
    )
    # Few positions of small matmuls take the row loop, which holds one row of patches.
    rows = few_positions_of_small_matmuls(spec)
    fits = choose_strategy(spec, "cpu", memory_budget=expected)
    assert fits.strategy == ("row_loop" if rows else "batched_dot" if dot else "accumulate_loop")
    if expected:
        over = choose_strategy(spec, "cpu", memory_budget=expected - margin)
        if rows and row_patch_bytes(spec) <= expected - margin:
            assert over.strategy == "row_loop"
        else:
            assert over.strategy == "position_loop"
            assert f"{expected:,} bytes" in over.reason
    # Other backends ignore the host's memory budget: on GPU the fused reduce for small
    # layers whose rhs spatial dims do not lead, else the batched dot; on TPU the batched dot.
    reduce = not rhs_spatial_leading and estimate(spec).flops <= REDUCE_MAX_FLOPS
    on_gpu = "multiply_reduce" if reduce else "batched_dot"
    assert choose_strategy(spec, "gpu", memory_budget=0).strategy == on_gpu
    assert choose_strategy(spec, "tpu", memory_budget=0).strategy == "batched_dot"


# NCH, a 1-wide window, 2**31 output positions: 2**41 bytes of f32 patches.
HUGE_LHS = (16, 16, 2**31)
HUGE_RHS = (4, 16, 2**31)
HUGE_ARGS = ((1,), "VALID", (1,))


def report_numbers(text: str) -> dict[str, int]:
    """The byte and FLOP lines of an `explain` report as numbers."""
    found = re.findall(r"^\s+(lhs bytes|patch bytes|weight bytes|output bytes|FLOPs)\s+([\d,]+)$", text, re.M)
    return {name: int(value.replace(",", "")) for name, value in found}


def expected_numbers(lhs: tuple[int, ...], rhs: tuple[int, ...], itemsize: int) -> dict[str, int]:
    """The report's numbers for an NCH convolution with a 1-wide window and stride 1."""
    n, c, w = lhs
    o, k, s = rhs
    return {
        "lhs bytes": n * c * w * itemsize,
        "patch bytes": n * k * s * itemsize,
        "weight bytes": o * k * s * itemsize,
        "output bytes": n * o * s * itemsize,
        "FLOPs": 2 * n * o * k * s,
    }


def test_explain_reports_the_bytes_of_a_huge_convolution() -> None:
    """`explain` (and so `estimate`, which it prints) on a convolution far too big to run."""
    spec = localconv.lower(S(HUGE_LHS, "float32"), S(HUGE_RHS, "float32"), *HUGE_ARGS, pipeline=None).spec
    report = explain(spec)
    assert report_numbers(report) == expected_numbers(HUGE_LHS, HUGE_RHS, 4)
    # 2**41 bytes of patches: over the default budget (a quarter of memory) of any test machine.
    patches = expected_numbers(HUGE_LHS, HUGE_RHS, 4)["patch bytes"]
    assert re.search(rf"^  strategy: position_loop \(patches would take {patches:,} bytes", report, re.M)


@pytest.mark.parametrize(
    ("bytes_moved", "flops", "seconds", "memory_bound"),
    [(10e9, 100e9, 1.0, True), (10e9, 400e9, 4.0, False), (20e9, 200e9, 2.0, True)],
)
def test_roofline_bound_and_side(
    bytes_moved: float, flops: float, seconds: float, memory_bound: bool
) -> None:
    """10 GB/s of reads and 100 GFLOP/s: the slower of the two bounds, ties memory-bound."""
    from localconv.machine import MachineRates

    rates = MachineRates("cpu", read_bandwidth=10e9, matmul_flops=100e9)
    assert rates.bound_seconds(bytes_moved, flops) == pytest.approx(seconds)
    assert rates.memory_bound(bytes_moved, flops) is memory_bound


@pytest.mark.parametrize(("backend", "warned"), [("cpu", True), ("gpu", False)])
def test_explain_warns_of_an_output_glibc_maps_afresh_only_on_cpu(backend: str, warned: bool) -> None:
    """An output over glibc's 32 MiB mmap cap is faulted in on every CPU call (134 MB here)."""
    lhs, rhs = S((256, 128, 8, 8), "float32"), S((128, 8, 72, 128), "float32")
    args = ((1, 1), "SAME", (3, 3), None, None, ("NHWC", "HWIO", "NHWC"))
    report = explain(localconv.lower(lhs, rhs, *args, pipeline=None).spec, backend=backend)
    assert ("output over 32 MiB: glibc maps it afresh" in report) is (
        warned and platform.libc_ver()[0] == "glibc"
    )
    small = explain(localconv.lower(S((8, 128, 8, 8), "float32"), rhs, *args, pipeline=None).spec)
    assert "output over" not in small


def test_explain_tool_reports_the_bytes() -> None:
    flags = ["--window-strides", "1", "--padding", "VALID", "--filter-shape", "1"]
    lhs, rhs = "x".join(map(str, HUGE_LHS)) + "xf32", "x".join(map(str, HUGE_RHS)) + "xf32"
    result = run_tool([str(BIN / "localconv"), "explain", "--lhs", lhs, "--rhs", rhs, *flags], text=True)
    assert result.returncode == 0, result.stderr
    assert report_numbers(result.stdout) == expected_numbers(HUGE_LHS, HUGE_RHS, 4)
    assert "strategy: position_loop" in result.stdout


# --- resources: index arithmetic ----------------------------------------------------------


def loop_counters(lowered: localconv.Lowered) -> dict[str, set[str]]:
    """For each strategy loop in the module, the element types of its counters."""
    found: dict[str, set[str]] = {}
    for op in ops_where(lowered.module.operation, lambda op: op.name == "stablehlo.while"):
        if STRATEGY_ATTRIBUTE in op.attributes:
            strategy = ir.StringAttr(op.attributes[STRATEGY_ATTRIBUTE]).value
            counter = ir.RankedTensorType(op.results[0].type).element_type
            found.setdefault(strategy, set()).add(str(counter))
    return found


# (strategy, lhs, rhs, counter type): the deciding extent just below 2**31, then at 2**31.
INDEX_CASES = [
    ("accumulate_loop", (1, 2**31 - 1, 1), (1, 2**31 - 1, 1), "i32"),  # K = C
    ("accumulate_loop", (1, 2**31, 1), (1, 2**31, 1), "i64"),
    ("position_loop", (1, 1, 2**31 - 1), (1, 1, 2**31 - 1), "i32"),  # output positions
    ("position_loop", (1, 1, 2**31), (1, 1, 2**31), "i64"),
    ("position_loop", (2**31 - 1, 1, 1), (1, 1, 1), "i32"),  # an extent of the padded input
    ("position_loop", (2**31, 1, 1), (1, 1, 1), "i64"),
    ("row_loop", (1, 1, 2**31 - 1), (1, 1, 2**31 - 1), "i32"),  # rows
    ("row_loop", (1, 1, 2**31), (1, 1, 2**31), "i64"),
    ("row_loop", (2**31 - 1, 1, 1), (1, 1, 1), "i32"),  # an extent of the padded input
    ("row_loop", (2**31, 1, 1), (1, 1, 1), "i64"),
]


@pytest.mark.parametrize(("strategy", "lhs", "rhs", "index"), INDEX_CASES)
def test_loop_counters_are_int64_from_2_31(strategy: str, lhs: tuple, rhs: tuple, index: str) -> None:
    lowered = localconv.lower(
        S(lhs, "float32"), S(rhs, "float32"), *HUGE_ARGS, pipeline=default_pipeline(strategy=strategy)
    )
    assert loop_counters(lowered) == {strategy: {index}}


def test_default_pipeline_loops_over_positions_for_huge_patches() -> None:
    lowered = localconv.lower(S(HUGE_LHS, "float32"), S(HUGE_RHS, "float32"), *HUGE_ARGS, pipeline="default")
    assert loop_counters(lowered) == {"position_loop": {"i64"}}


def test_lowering_huge_shapes_allocates_nothing_large() -> None:
    """Lowering (IR only) of 2**31..2**40-element convolutions stays under 1 GiB of memory."""
    script = textwrap.dedent(
        f"""
        import jax, localconv
        S = jax.ShapeDtypeStruct
        for lhs, rhs in [({HUGE_LHS}, {HUGE_RHS}), ((2**20, 2**20, 1), (1, 2**20, 1))]:
            for pipeline in (None, "O0", "default", {default_pipeline(strategy="accumulate_loop")!r}):
                localconv.lower(S(lhs, "float32"), S(rhs, "float32"), (1,), "VALID", (1,), pipeline=pipeline)
        # VmHWM is this process's own peak; ru_maxrss would include the parent's (pytest)
        # RSS at fork time, which exec does not reset.
        print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
        """
    )
    result = run_tool([sys.executable, "-c", script], text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) < 1 << 20, f"peak RSS {result.stdout.split()[-1]} KiB"


@pytest.mark.xla
@pytest.mark.parametrize("strategy", [*STRATEGIES, "default"])
def test_a_stride_far_beyond_the_input_needs_no_large_buffer(strategy: str) -> None:
    """One output position per dim: the stride never applies, so it must not size any buffer.

    The accumulate loop's stride phases padded the input up to a whole stride along each dim,
    128 TB here.
    """
    rng = np.random.default_rng(0)
    lhs = rng.standard_normal((8, 2, 5, 5)).astype(np.float32)
    rhs = rng.standard_normal((3, 18, 1, 1)).astype(np.float32)
    args = ((10**6, 10**6), "VALID", (3, 3))
    pipeline = "default" if strategy == "default" else default_pipeline(strategy=strategy)
    compiled = localconv.lower(lhs, rhs, *args, pipeline=pipeline).compile()
    assert compiled.temp_bytes < 1 << 20
    expected = lax.conv_general_dilated_local(lhs, rhs, *args)
    np.testing.assert_allclose(np.asarray(compiled(lhs, rhs)), np.asarray(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.xla
@pytest.mark.parametrize("strategy", [*STRATEGIES, "default"])
def test_an_empty_output_with_a_window_dilation_past_int32(strategy: str) -> None:
    """Window offsets of 2**31 over an empty output: no loop index may have to hold them."""
    lhs, rhs = np.ones((1, 1, 5, 1), np.float32), np.ones((2, 2, 0, 1), np.float32)
    args = ((1, 1), "VALID", (2, 1), None, (2**31, 1))
    pipeline = "default" if strategy == "default" else default_pipeline(strategy=strategy)
    result = localconv.lower(lhs, rhs, *args, pipeline=pipeline).compile()(lhs, rhs)
    assert result.shape == lax.conv_general_dilated_local(lhs, rhs, *args).shape == (1, 2, 0, 1)


def test_run_refuses_arguments_no_machine_holds(tmp_path: Path) -> None:
    """`localconv run` on a 2**45-element argument (128 TiB) exits 1 with a diagnostic.

    The size is beyond x86-64's 128 TiB user address space, so the allocation fails at once
    whatever the kernel's overcommit policy.
    """
    path = tmp_path / "huge.mlir"
    size = 2**45
    path.write_text(
        f"module {{\n  func.func @main(%arg0: tensor<{size}xf32>) -> tensor<{size}xf32> {{\n"
        f"    return %arg0 : tensor<{size}xf32>\n  }}\n}}\n"
    )
    result = run_tool([str(BIN / "localconv"), "run", str(path), "--repeat", "1"], text=True)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert re.search(r"^localconv: error: \S", result.stderr, re.M), result.stderr[-2000:]


# --- determinism --------------------------------------------------------------------------

# Flag sets of `localconv lower` whose default lowering is each strategy: OIHW at batch 2
# (accumulate_loop), NHWC/HWIO (accumulate_loop: small matmuls) and batch 64 (row_loop).
LOWER_FLAGS = {
    "accumulate": "--lhs 2x3x6x5xf32 --rhs 4x27x6x5xf32 --window-strides 1,1 --padding SAME "
    "--filter-shape 3,3",
    "batched": "--lhs 2x5x4x3xf32 --rhs 5x4x12x5xf32 --window-strides 1,1 --padding 1,0;0,1 "
    "--filter-shape 2,2 --dimension-numbers NHWC,HWIO,NHWC --precision HIGH,HIGHEST",
    "positions": "--lhs 64x2x7xf16 --rhs 3x6x3xf16 --window-strides 2 --padding 1,2 --filter-shape 3 "
    "--rhs-dilation 2 --lhs-dilation 1",
}

API_SCRIPT = textwrap.dedent(
    """
    import sys, jax, localconv
    from jax import lax
    S = jax.ShapeDtypeStruct
    from localconv.lowering.pipelines import default_pipeline
    calls = [
        ((S((2, 3, 6, 5), "float32"), S((4, 27, 6, 5), "float32"), (1, 1), "SAME", (3, 3)), {}),
        ((S((2, 5, 4, 3), "bfloat16"), S((5, 4, 12, 5), "float32"), (1, 1), ((1, 0), (0, 1)), (2, 2)),
         {"dimension_numbers": ("NHWC", "HWIO", "NHWC"), "precision": ("high", "highest")}),
        ((S((1, 2, 5, 4, 3), "complex64"), S((2, 6, 2, 2, 3), "float32"), (2, 2, 1), "VALID", (3, 1, 1)),
         {"rhs_dilation": (1, 2, 1), "dimension_numbers": lax.ConvDimensionNumbers(
             (0, 1, 2, 3, 4), (0, 1, 2, 3, 4), (0, 1, 2, 3, 4))}),
        ((S((3, 2, 4), "float16"), S((2, 4, 8), "float16"), (1,), ((1, 1),), (2,)),
         {"lhs_dilation": (2,)}),
    ]
    for args, kwargs in calls:
        for pipeline in [None, "O0", "default", *(default_pipeline(strategy=s) for s in sys.argv[1:])]:
            lowered = localconv.lower(*args, **kwargs, pipeline=pipeline)
            sys.stdout.write(lowered.as_text())
            sys.stdout.write(lowered.as_text(debug_info=True))
    """
)


def determinism_outputs(directory: Path, hash_seed: str) -> dict[str, bytes]:
    """Every tool's and the API's output for the fixed inputs, in processes with `hash_seed`."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    script = directory / "api.py"
    script.write_text(API_SCRIPT)
    composite = directory / "composite.mlir"
    commands = {
        f"lower {name} {emit}": [str(BIN / "localconv"), "lower", *flags.split(), "--emit", emit]
        for name, flags in LOWER_FLAGS.items()
        for emit in ("composite", "stablehlo", "optimized")
    }
    commands["api"] = [sys.executable, str(script), *STRATEGIES]
    for emit in ("text", "bytecode"):
        commands[f"opt {emit}"] = [
            str(BIN / "localconv-opt"),
            str(composite),
            "--pipeline",
            "default",
            "--emit",
            emit,
        ]
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        results = dict(
            zip(commands, pool.map(lambda argv: run_tool(argv, env=env), commands.values()), strict=True)
        )
    for name, result in results.items():
        assert result.returncode == 0, f"{name}: {result.stderr.decode()[-2000:]}"
    return {name: result.stdout for name, result in results.items()}


@pytest.fixture(scope="module")
def composite_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `accumulate` convolution's composite, as the API writes it, in a file."""
    directory = tmp_path_factory.mktemp("determinism")
    lowered = localconv.lower(
        S((2, 3, 6, 5), "float32"), S((4, 27, 6, 5), "float32"), (1, 1), "SAME", (3, 3), pipeline=None
    )
    (directory / "composite.mlir").write_text(lowered.as_text())
    return directory


def test_ir_is_byte_identical_across_processes(composite_input: Path) -> None:
    first = determinism_outputs(composite_input, "0")
    second = determinism_outputs(composite_input, "2718281828")
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"outputs differ between PYTHONHASHSEED=0 and 2718281828: {different}"
    assert all(first.values())
    # One convolution, one IR: the tools and the API agree with each other too.
    lowered = localconv.lower(S((2, 3, 6, 5), "float32"), S((4, 27, 6, 5), "float32"), (1, 1), "SAME", (3, 3))
    assert first["lower accumulate optimized"] == lowered.as_text().encode()
    assert first["opt text"] == first["lower accumulate optimized"]
    assert first["lower accumulate composite"] == (composite_input / "composite.mlir").read_bytes()


def respelled(case: strategies.Case) -> tuple[Any, ...]:
    """`case`'s parameters in other spellings that mean the same convolution."""
    n = len(case.lhs_shape) - 2
    window_strides, padding, filter_shape, lhs_dilation, rhs_dilation, _, precision = case.params
    flip = lambda value: list(value) if isinstance(value, tuple) else tuple(value)  # noqa: E731
    if isinstance(padding, str):
        padding = padding.lower() if padding.isupper() else padding.upper()
    else:
        padding = flip([flip(pair) for pair in padding])
    layout = case.layout
    return (
        flip(window_strides),
        padding,
        np.array(filter_shape, np.int64),
        (1,) * n if lhs_dilation is None else flip(lhs_dilation),
        (1,) * n if rhs_dilation is None else flip(rhs_dilation),
        lax.ConvDimensionNumbers(layout.lhs, layout.rhs, layout.out),
        precision,
    )


@settings(max_examples=strategies.examples(40))
@given(case=strategies.cases())
def test_equivalent_spellings_give_identical_ir(case: strategies.Case) -> None:
    """Canonicalization leaves no trace of the spelling (nor of dict order or memory) in the IR."""
    operands = (S(case.lhs_shape, case.lhs_dtype), S(case.rhs_shape, case.rhs_dtype))
    first = localconv.lower(*operands, *case.params, pipeline=None).as_text()
    again = localconv.lower(*operands, *respelled(case), pipeline=None).as_text()
    assert first == again


# --- concurrency --------------------------------------------------------------------------

# Odd sizes no other test uses, so the first round starts with cold caches.
CONCURRENT_CASES = [
    strategies.make_case((2, 3, 9, 7), 4, (1, 1), "SAME", (3, 3)),
    strategies.make_case((1, 2, 11), 3, (2,), "VALID", (2,)),
    strategies.make_case(
        (2, 5, 6, 3), 2, (1, 2), ((1, 0), (0, 1)), (2, 2), dimension_numbers=("NHWC", "HWIO", "NHWC")
    ),
    strategies.make_case((3, 2, 5, 5), 2, (1, 1), "SAME", (3, 3), rhs_dilation=(2, 1)),
    strategies.make_case((1, 4, 9), 5, (1,), ((2, 2),), (3,), lhs_dilation=(2,)),
    strategies.make_case((2, 2, 4, 3, 4), 2, (1, 1, 1), "VALID", (2, 2, 2)),
    strategies.make_case((65, 3, 5, 5), 3, (2, 2), "SAME_LOWER", (3, 3)),
    strategies.make_case((2, 1, 5, 6), 2, (1, 1), "SAME", (1, 2), dimension_numbers=("NCHW", "HWIO", "NHWC")),
]
THREADS = 8


def jax_result(case: strategies.Case, lhs: jax.Array, rhs: jax.Array) -> np.ndarray:
    return np.asarray(lax.conv_general_dilated_local(lhs, rhs, *case.params[:-1], precision="highest"))


@pytest.mark.xla
@pytest.mark.parametrize("signatures", ["one", "eight"])
def test_concurrent_calls_match_jax(signatures: str) -> None:
    cases = [CONCURRENT_CASES[0]] * THREADS if signatures == "one" else CONCURRENT_CASES
    operands = [case.operands(seed) for seed, case in enumerate(cases)]
    barrier = threading.Barrier(THREADS, timeout=120)

    def work(index: int) -> tuple[np.ndarray, np.ndarray]:
        case, (lhs, rhs) = cases[index], operands[index]
        barrier.wait()
        eager = localconv.conv_general_dilated_local(lhs, rhs, *case.params[:-1], precision="highest")
        compiled = localconv.lower(lhs, rhs, *case.params[:-1], precision="highest").compile()
        return np.asarray(eager), np.asarray(compiled(lhs, rhs))

    for _ in range(2):  # cold caches, then warm ones
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS)))
        for index, (eager, compiled) in enumerate(results):
            expected = jax_result(cases[index], *operands[index])
            np.testing.assert_allclose(eager, expected, rtol=1e-5, atol=1e-5, err_msg=f"thread {index} eager")
            np.testing.assert_allclose(
                compiled, expected, rtol=1e-5, atol=1e-5, err_msg=f"thread {index} compiled"
            )


# --- special values -----------------------------------------------------------------------

SPECIALS = (np.nan, np.inf, -np.inf, 0.0)


def with_specials(rng: np.random.Generator, array: jax.Array, count: int) -> np.ndarray:
    """A copy of `array` with `count` entries replaced by NaN, +Inf, -Inf or zero."""
    values = np.array(array)
    flat = values.reshape(-1)
    for _ in range(count if flat.size else 0):
        flat[rng.integers(flat.size)] = SPECIALS[rng.integers(len(SPECIALS))]
    return values


def assert_same_specials(actual: np.ndarray, expected: np.ndarray, where: np.ndarray, what: str) -> None:
    """NaN positions, Inf positions and Inf signs agree on the entries in `where`."""
    actual, expected = actual.astype(np.float64)[where], expected.astype(np.float64)[where]
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), f"NaN positions differ from {what}"
    assert np.array_equal(np.isinf(actual), np.isinf(expected)), f"Inf positions differ from {what}"
    assert np.array_equal(actual[np.isinf(actual)], expected[np.isinf(expected)]), (
        f"Inf signs differ from {what}"
    )


def compiled_for(case: strategies.Case, strategy: str) -> Any:
    operands = (S(case.lhs_shape, case.lhs_dtype), S(case.rhs_shape, case.rhs_dtype))
    return localconv.lower(*operands, *case.params, pipeline=default_pipeline(strategy=strategy)).compile()


SPECIAL_DTYPES = strategies.dtype_pairs(("float32", "float16", "bfloat16"))


@pytest.mark.xla
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("strategy", [*STRATEGIES, "default"])
@settings(max_examples=strategies.examples(25))
@given(
    case=strategies.cases(dtypes=SPECIAL_DTYPES),
    seed=st.integers(0, 2**32 - 1),
    in_lhs=st.integers(0, 3),
    in_rhs=st.integers(0, 3),
)
def test_nan_and_inf_propagate_as_defined(
    strategy: str, case: strategies.Case, seed: int, in_lhs: int, in_rhs: int
) -> None:
    """Up to three NaN/+Inf/-Inf/0 entries in each operand; see the module docstring."""
    rng = np.random.default_rng(seed)
    lhs, rhs = case.operands(seed)
    lhs, rhs = with_specials(rng, lhs, in_lhs), with_specials(rng, rhs, in_rhs)
    if strategy == "default":
        result = localconv.conv_general_dilated_local(lhs, rhs, *case.params)
    else:
        result = compiled_for(case, strategy)(lhs, rhs)
    result = np.asarray(result)
    everywhere = np.ones(result.shape, bool)
    assert_same_specials(
        result, oracle.conv_general_dilated_local(lhs, rhs, *case.params), everywhere, "the definition"
    )
    # JAX agrees wherever its one-hot patch extraction did not turn an lhs Inf into NaN.
    expected = np.asarray(lax.conv_general_dilated_local(lhs, rhs, *case.params))
    assert_same_specials(result, expected, ~np.isnan(expected.astype(np.float64)), "JAX's non-NaN entries")
    assert not np.any(np.isnan(result.astype(np.float64)) & ~np.isnan(expected.astype(np.float64))), (
        "NaN where JAX has none"
    )
