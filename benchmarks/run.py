"""Runs the suite: JAX's lowering vs localconv (user layout and prepacked) vs the roofline."""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import jax
import numpy as np
from jax import lax

import localconv
from localconv.allocator import keep_freed_memory
from localconv.contraction import STRATEGIES
from localconv.cost_model import candidate_strategies, estimate
from localconv.lowering.pipelines import default_pipeline
from localconv.machine import MachineRates, measure
from localconv.timing import median_seconds, queued_calls

from .random_layers import random_cases
from .suite import CASES, Case

LOWERINGS = 5
# Largest difference from JAX's result at which the torch contender counts as the same layer.
TORCH_TOLERANCE = 1e-3
# The repository root, where `python -m benchmarks` finds this package.
ROOT = pathlib.Path(__file__).resolve().parents[1]


def torch_contender(case: Case, lhs: np.ndarray, rhs: np.ndarray) -> Callable[[], object] | None:
    """PyTorch unfold + einsum on the same layer, when torch is importable and expresses it.

    Its unfold takes NCHW input, OIHW-like weights and symmetric padding: VALID, or SAME at
    stride 1 with odd windows.
    """
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812
    except ImportError:
        return None
    if case.dimension_numbers[:2] != ("NCHW", "OIHW") or case.lhs_dilation or case.rhs_dilation:
        return None
    padding = case.padding.upper() if isinstance(case.padding, str) else None
    k = case.filter_shape
    same = padding == "SAME" and case.window_strides == (1, 1) and all(size % 2 for size in k)
    if padding != "VALID" and not same:
        return None
    pad = (k[0] // 2, k[1] // 2) if same else (0, 0)
    x, w = torch.from_numpy(lhs), torch.from_numpy(rhs)
    o, kk, h, ww = rhs.shape

    def run():
        with torch.no_grad():
            patches = F.unfold(x, k, padding=pad, stride=case.window_strides)  # N, K, L
            return torch.einsum("nkl,okl->nol", patches, w.reshape(o, kk, h * ww))

    return run


def bench_case(case: Case, rates, repeat: int, every_strategy: bool = False, backend: str = "cpu") -> dict:
    """Times one case every way and checks localconv against JAX."""
    spec = case.spec()
    rng = np.random.default_rng(0)
    lhs_np = rng.standard_normal(spec.lhs_shape).astype(np.float32)
    rhs_np = (rng.standard_normal(spec.rhs_shape) / math.sqrt(spec.patch_size)).astype(np.float32)
    device = jax.devices(backend)[0]
    lhs, rhs = jax.device_put(lhs_np, device), jax.device_put(rhs_np, device)
    args = case.arguments()

    reference = jax.jit(lambda a, b: lax.conv_general_dilated_local(a, b, *args))
    reference_compiled = reference.lower(lhs, rhs).compile()
    # Our passes per op: the median of a few lowerings (the process's first one also pays
    # one-time set-up, e.g. the MLIR context and pass registration: 20-90 ms here).
    lowering_ms = []
    for _ in range(LOWERINGS):
        start = time.perf_counter()
        lowered = localconv.lower(lhs, rhs, *args, backend=backend)
        lowering_ms.append((time.perf_counter() - start) * 1e3)
    passes_ms = statistics.median(lowering_ms)
    start = time.perf_counter()
    compiled = lowered.compile(backend)
    xla_ms = (time.perf_counter() - start) * 1e3
    packed = compiled.prepack(rhs)
    expected = np.asarray(reference(lhs, rhs))
    error = float(np.max(np.abs(np.asarray(compiled(lhs, rhs)) - expected)))
    packed_error = float(np.max(np.abs(np.asarray(compiled(lhs, packed)) - expected)))

    contenders = {
        "jax": lambda: reference(lhs, rhs),
        "localconv": lambda: compiled(lhs, rhs),
        "prepacked": lambda: compiled(lhs, packed),
    }
    torch_run = torch_contender(case, lhs_np, rhs_np) if backend == "cpu" else None
    if torch_run is not None:
        torch_error = float(np.max(np.abs(torch_run().numpy().reshape(expected.shape) - expected)))
        if torch_error > TORCH_TOLERANCE:
            raise RuntimeError(f"{case.name}: torch's result is {torch_error:.1e} off JAX's")
        contenders["torch"] = torch_run
    if every_strategy:
        for strategy in candidate_strategies(backend):
            forced = localconv.lower(lhs, rhs, *args, pipeline=default_pipeline(backend, strategy)).compile(
                backend
            )
            contenders[strategy] = lambda f=forced: f(lhs, rhs)
    seconds = median_seconds(contenders, repeat, queue=queued_calls(backend))
    times = {name: per_call * 1e3 for name, per_call in seconds.items()}
    cost = estimate(spec)
    result = {
        "case": case.name,
        "lhs": list(spec.lhs_shape),
        "rhs": list(spec.rhs_shape),
        "dimension_numbers": list(case.dimension_numbers),
        "strategy": compiled.strategy,
        "xla_options": compiled.xla_options,
        "prepacked_xla_options": compiled.packed_xla_options,
        "flops": cost.flops,
        "min_bytes": cost.min_bytes_moved,
        "jax_ms": times["jax"],
        "localconv_ms": times["localconv"],
        "prepacked_ms": times["prepacked"],
        "torch_ms": times.get("torch"),
        "passes_ms": passes_ms,
        "xla_compile_ms": xla_ms,
        "temp_bytes": compiled.temp_bytes,
        "jax_temp_bytes": int(reference_compiled.memory_analysis().temp_size_in_bytes),
        "max_abs_error": max(error, packed_error),
        "ops": sum(1 for line in lowered.as_text().splitlines() if "= stablehlo." in line),
    }
    result.update({f"{strategy}_ms": times[strategy] for strategy in STRATEGIES if strategy in times})
    return with_ratios(result, rates)


def with_ratios(result: dict, rates: MachineRates) -> dict:
    """`result` with its roofline bound under `rates` and the ratios derived from its timings."""
    roofline_ms = rates.bound_seconds(result["min_bytes"], result["flops"]) * 1e3
    return result | {
        "roofline_ms": roofline_ms,
        "speedup": result["jax_ms"] / result["localconv_ms"],
        "x_roofline": result["localconv_ms"] / roofline_ms,
        "packed_x_roofline": result["prepacked_ms"] / roofline_ms,
    }


def merge_runs(runs: list[dict], backend: str) -> tuple[MachineRates, list[dict]]:
    """The median of several processes' results files: machine rates and every timing.

    On a shared VM one process can land in a slow mode for a whole run (b256_c128_3x3: 58 ms
    in one single-process run, 39-43 ms in most other processes), so a table from one
    process may show its luck. Each timing (`*_ms`) becomes its median over the processes
    that measured it, the largest error is kept, the roofline and the ratios are derived
    again from the medians, and each timing's per-process values are kept under "runs".
    """
    rates = MachineRates(
        backend,
        statistics.median(run["machine"]["read_bandwidth"] for run in runs),
        statistics.median(run["machine"]["matmul_flops"] for run in runs),
    )
    merged = []
    for entries in zip(*(run["results"] for run in runs), strict=True):
        if len({entry["case"] for entry in entries}) != 1:
            raise ValueError(f"the runs timed different cases: {[entry['case'] for entry in entries]}")
        result = dict(entries[0])
        timings = [key for key in result if key.endswith("_ms") and key != "roofline_ms"]
        runs_of = {key: [entry[key] for entry in entries if entry[key] is not None] for key in timings}
        result.update({key: statistics.median(values) if values else None for key, values in runs_of.items()})
        result["max_abs_error"] = max(entry["max_abs_error"] for entry in entries)
        result["runs"] = runs_of
        merged.append(with_ratios(result, rates))
    return rates, merged


def format_table(results: list[dict]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| case | strategy | JAX ms | localconv ms | prepacked ms | torch ms | roofline ms | speedup "
        "| x roofline | passes ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        torch = "-" if r["torch_ms"] is None else f"{r['torch_ms']:.2f}"
        lines.append(
            f"| {r['case']} | {r['strategy']} | {r['jax_ms']:.2f} | {r['localconv_ms']:.2f} | "
            f"{r['prepacked_ms']:.2f} | {torch} | {r['roofline_ms']:.2f} | {r['speedup']:.2f}x | "
            f"{r['x_roofline']:.1f} | {r['passes_ms']:.0f} |"
        )
    return "\n".join(lines)


def target_summary(results: list[dict], rates: MachineRates) -> dict:
    """The suite against the speed issue's targets.

    The geomean and slowest speedup over JAX, and the cases slower than JAX; the median
    case's multiple of its roofline
    bound; with prepacked weights, the median multiple over the memory-bound cases; and for
    each compute-bound case, the fraction of the sgemm rate it reaches in the user's layout
    and prepacked.
    """
    memory_bound, compute_bound = [], []
    for r in results:
        (memory_bound if rates.memory_bound(r["min_bytes"], r["flops"]) else compute_bound).append(r)
    return {
        "geomean_speedup": math.exp(statistics.mean(math.log(r["speedup"]) for r in results)),
        "slowest_speedup": min(r["speedup"] for r in results),
        "slower_than_jax": [r["case"] for r in results if r["speedup"] < 1],
        "median_x_roofline": statistics.median(r["x_roofline"] for r in results),
        "memory_bound_prepacked_median_x_roofline": (
            statistics.median(r["packed_x_roofline"] for r in memory_bound) if memory_bound else None
        ),
        "sgemm_fraction": {
            r["case"]: [
                r["flops"] / rates.matmul_flops / (r[k] / 1e3) for k in ("localconv_ms", "prepacked_ms")
            ]
            for r in compute_bound
        },
    }


def format_summary(summary: dict, cases: int) -> str:
    """`target_summary` in words, with the issue's target for each number."""
    lines = [
        f"geomean speedup over JAX: {summary['geomean_speedup']:.2f}x over {cases} cases (target 4x); "
        f"slowest {summary['slowest_speedup']:.2f}x (target: none below 1x"
        + (f"; below: {', '.join(summary['slower_than_jax'])})" if summary["slower_than_jax"] else ")"),
        f"median case: {summary['median_x_roofline']:.1f}x its roofline (target 3x)",
    ]
    if summary["memory_bound_prepacked_median_x_roofline"] is not None:
        lines.append(
            "memory-bound cases, prepacked: median "
            f"{summary['memory_bound_prepacked_median_x_roofline']:.1f}x the roofline (target 2x)"
        )
    if summary["sgemm_fraction"]:
        fractions = ", ".join(
            f"{case} {user:.0%} / {packed:.0%}" for case, (user, packed) in summary["sgemm_fraction"].items()
        )
        lines.append(
            f"compute-bound cases, share of the sgemm rate (user layout / prepacked; target 40%): {fractions}"
        )
    return "\n".join(lines)


def run_suite(cases: list[Case], args: argparse.Namespace) -> tuple[MachineRates, list[dict]]:
    """Measures the machine, then times `cases` in this process, printing a line per case."""
    rates = measure(args.backend)
    print(
        f"machine: {platform.processor() or platform.machine()}, {args.backend}: "
        f"{jax.devices(args.backend)[0].device_kind}, "
        f"read {rates.read_bandwidth / 1e9:.1f} GB/s, f32 matmul {rates.matmul_flops / 1e9:.1f} GFLOP/s, "
        f"{queued_calls(args.backend)} queued call(s) per timed sample"
    )
    results = []
    for case in cases:
        results.append(bench_case(case, rates, args.repeat, args.every_strategy, args.backend))
        r = results[-1]
        forced = "  ".join(f"{s} {r[f'{s}_ms']:.2f}" for s in STRATEGIES if f"{s}_ms" in r)
        print(
            f"{r['case']:24s} jax {r['jax_ms']:8.2f} ms  localconv {r['localconv_ms']:8.2f} ms  "
            f"packed {r['prepacked_ms']:8.2f} ms  roof {r['roofline_ms']:7.2f} ms  "
            f"{r['speedup']:5.2f}x  [{r['strategy']}] err {r['max_abs_error']:.1e}  {forced}",
            flush=True,
        )
    return rates, results


def run_processes(args: argparse.Namespace) -> tuple[MachineRates, list[dict]]:
    """Runs the suite in `args.processes` fresh processes, one after another, and merges them.

    Each process is `python -m benchmarks` with the same options; its lines are echoed with
    the process's number (its Markdown table is left out).
    """
    options = ["--repeat", str(args.repeat), "--backend", args.backend]
    options += ["--cases", *args.cases] if args.cases else []
    options += ["--random", str(args.random), "--seed", str(args.seed)] if args.random else []
    options += ["--every-strategy"] if args.every_strategy else []
    options += ["--keep-freed-memory"] if args.keep_freed_memory else []
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(1, args.processes + 1):
            path = os.path.join(folder, f"run{i}.json")
            command = [sys.executable, "-m", "benchmarks", *options, "--json", path, "--plot", ""]
            child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for line in child.stdout:
                if not line.startswith("|"):
                    print(f"[process {i}/{args.processes}] {line}", end="", flush=True)
            if child.wait():
                raise SystemExit(f"benchmark process {i}/{args.processes} failed (status {child.returncode})")
            with open(path, encoding="utf-8") as handle:
                runs.append(json.load(handle))
    rates, results = merge_runs(runs, args.backend)
    print(
        f"medians of {args.processes} processes: read {rates.read_bandwidth / 1e9:.1f} GB/s, "
        f"f32 matmul {rates.matmul_flops / 1e9:.1f} GFLOP/s"
    )
    return rates, results


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m benchmarks`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per measurement")
    parser.add_argument("--cases", nargs="*", help="run only these case names")
    parser.add_argument("--backend", default="cpu", help="cpu, gpu or tpu")
    parser.add_argument(
        "--every-strategy",
        action="store_true",
        help="also time each contraction strategy worth timing on the backend, forced (cost-model data)",
    )
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="first call localconv.allocator.keep_freed_memory() (process-wide: JAX gains too)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="run the suite in this many fresh processes and report the median of each timing",
    )
    parser.add_argument(
        "--random",
        type=int,
        default=0,
        metavar="N",
        help="time N random layers (benchmarks/random_layers.py) instead of the suite",
    )
    parser.add_argument("--seed", type=int, default=0, help="the random layers' seed")
    parser.add_argument(
        "--json", help="JSON results file (default benchmarks/results.json, or results_random.json)"
    )
    parser.add_argument(
        "--plot", help="roofline PNG ('' = none; default benchmarks/roofline.png, none for --random)"
    )
    args = parser.parse_args(argv)
    if args.random < 0:
        parser.error(f"--random must be a number of layers (0: the suite), got {args.random}")
    if args.random and args.cases:
        parser.error("--random and --cases exclude each other")
    if args.seed and not args.random:
        parser.error("--seed needs --random")
    suite = random_cases(args.random, args.seed) if args.random else list(CASES)
    if args.json is None:
        args.json = "benchmarks/results_random.json" if args.random else "benchmarks/results.json"
    if args.plot is None:
        args.plot = "" if args.random else "benchmarks/roofline.png"
    names = [c.name for c in suite]
    unknown = [name for name in args.cases or () if name not in names]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; the cases are: {', '.join(names)}")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.processes < 1:
        parser.error(f"--processes must be at least 1, got {args.processes}")
    cases = [c for c in suite if not args.cases or c.name in args.cases]
    if args.processes > 1:
        rates, results = run_processes(args)
    else:
        if args.keep_freed_memory and not keep_freed_memory():
            parser.error("--keep-freed-memory needs glibc")
        rates, results = run_suite(cases, args)
    summary = target_summary(results, rates)
    print(format_table(results))
    print()
    print(format_summary(summary, len(results)))
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "machine": {
                    "backend": args.backend,
                    "device": jax.devices(args.backend)[0].device_kind,
                    "jax": jax.__version__,
                    "read_bandwidth": rates.read_bandwidth,
                    "matmul_flops": rates.matmul_flops,
                    "date": time.strftime("%Y-%m-%d"),
                    "keep_freed_memory": args.keep_freed_memory,
                    "processes": args.processes,
                    "random": {"layers": args.random, "seed": args.seed} if args.random else None,
                    "queued_calls": queued_calls(args.backend),
                },
                "summary": summary,
                "results": results,
            },
            handle,
            indent=1,
        )
    if args.plot:
        from localconv.roofline_plot import plot_roofline

        try:
            plot_roofline(
                [c.spec() for c in cases],
                rates,
                args.plot,
                [r["localconv_ms"] / 1e3 for r in results],
                [r["case"] for r in results],
            )
        except ValueError as err:
            print(f"no plot: {err}")
    return 0
