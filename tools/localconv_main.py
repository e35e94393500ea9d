"""`localconv`: demo (the README's main job), lower, run and explain unshared convolutions."""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys

import jax
import numpy as np

from localconv import api, profile, runner, shapes
from localconv.atomic import write_atomically
from localconv.composite import is_localconv_composite, spec_from_composite
from localconv.cost_model import default_memory_budget
from localconv.demo import run_demo
from localconv.explain import explain
from localconv.lowering import PipelineOptions
from localconv.lowering.pass_base import ops_where
from localconv.machine import measure
from localconv.timing import median_seconds, queued_calls

from . import cli_args
from .diagnostics import load_module, run_guarded, run_pipeline_located

EMIT_STAGES = {"composite": None, "stablehlo": "O0", "optimized": "default"}


# The convolution flags without a default (`add_conv_flags`).
CONV_FLAGS = ("--lhs", "--rhs", "--window-strides", "--padding", "--filter-shape")


def add_conv_flags(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The flags that describe one convolution (as `localconv lower` takes them)."""
    parser.add_argument("--lhs", required=required, help="lhs type, e.g. 8x16x32x32xf32")
    parser.add_argument("--rhs", required=required, help="rhs type, e.g. 32x144x32x32xf32")
    parser.add_argument("--window-strides", required=required, help="e.g. 1,1")
    parser.add_argument("--padding", required=required, help="SAME, SAME_LOWER, VALID or '1,1;1,1'")
    parser.add_argument("--filter-shape", required=required, help="e.g. 3,3")
    parser.add_argument("--lhs-dilation", help="e.g. 1,1")
    parser.add_argument("--rhs-dilation", help="e.g. 1,1")
    parser.add_argument("--dimension-numbers", help="e.g. NCHW,OIHW,NCHW")
    parser.add_argument("--precision", help="e.g. HIGHEST or HIGH,DEFAULT")


def conv_arguments(args: argparse.Namespace) -> tuple:
    """The positional arguments of `localconv.lower` from the convolution flags."""

    def optional(text, parse):
        return None if text is None else parse(text)

    return (
        jax.ShapeDtypeStruct(*cli_args.tensor_type("--lhs", args.lhs)),
        jax.ShapeDtypeStruct(*cli_args.tensor_type("--rhs", args.rhs)),
        cli_args.int_list("--window-strides", args.window_strides),
        cli_args.padding(args.padding),
        cli_args.int_list("--filter-shape", args.filter_shape),
        optional(args.lhs_dilation, lambda t: cli_args.int_list("--lhs-dilation", t)),
        optional(args.rhs_dilation, lambda t: cli_args.int_list("--rhs-dilation", t)),
        optional(args.dimension_numbers, cli_args.dimension_numbers),
        optional(args.precision, cli_args.precision),
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `localconv`."""
    parser = argparse.ArgumentParser(prog="localconv", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="lower, run and check a realistic layer on the CPU")
    demo.add_argument("--repeat", type=int, default=10, help="timed runs per implementation")

    lower = commands.add_parser("lower", help="print the IR of one unshared convolution")
    add_conv_flags(lower)
    lower.add_argument(
        "--emit", choices=[*EMIT_STAGES, "xla-hlo"], default="optimized", help="IR stage to print"
    )
    lower.add_argument("--backend", default="cpu", help="target backend (strategy, --emit xla-hlo)")

    run = commands.add_parser("run", help="execute a module and time it")
    run.add_argument("module", help="module file: text, bytecode or portable artifact")
    inputs = run.add_mutually_exclusive_group()
    inputs.add_argument("--inputs", nargs="+", metavar="NPY", help="one .npy file per argument")
    inputs.add_argument("--seed", type=int, default=0, help="seed of random inputs (default 0)")
    run.add_argument("--backend", default="cpu", help="cpu, gpu or tpu")
    run.add_argument("--pipeline", default="default", help="pipeline to run first, or 'none'")
    run.add_argument("--output", help="write the results to this .npz file")
    run.add_argument("--repeat", type=int, default=10, help="timed runs (median is printed)")
    run.add_argument(
        "--profile",
        action="store_true",
        help="also print each optimized-HLO op's time from XLA's trace (CPU)",
    )

    explain_cmd = commands.add_parser("explain", help="cost, strategy and roofline of a conv")
    add_conv_flags(explain_cmd, required=False)
    explain_cmd.add_argument("--module", help="explain every localconv composite in this file")
    explain_cmd.add_argument(
        "--backend", default="cpu", help="backend whose strategy to show and roofline to measure (if present)"
    )
    explain_cmd.add_argument("--plot", metavar="PNG", help="draw the roofline (needs matplotlib)")
    return parser


def lower_command(args: argparse.Namespace) -> int:
    """Prints the IR of the convolution described by the flags at the chosen stage."""
    arguments = conv_arguments(args)
    if args.emit == "xla-hlo":
        print(api.lower(*arguments, backend=args.backend).compile().as_text())
    else:
        lowered = api.lower(*arguments, pipeline=EMIT_STAGES[args.emit], backend=args.backend)
        print(lowered.as_text(), end="")
    return 0


def check_repeat(args: argparse.Namespace) -> None:
    """Refuses a `--repeat` below 1 before any work (a median needs a timed run)."""
    if args.repeat < 1:
        raise ValueError(f"--repeat must be at least 1, got {args.repeat}")


def demo_command(args: argparse.Namespace) -> int:
    """Lowers, runs, checks and times the README's demo layer; 1 when it disagrees with JAX."""
    check_repeat(args)
    return 0 if run_demo(repeat=args.repeat) else 1


def run_command(args: argparse.Namespace) -> int:
    """Runs a module on inputs from files or a seed; prints shapes, checksums and the time."""
    # The module's types as written: with x64 off JAX would narrow 64-bit arguments.
    with jax.enable_x64(True):
        return _run_module(args)


def _run_module(args: argparse.Namespace) -> int:
    check_repeat(args)
    if args.profile and args.backend != "cpu":
        raise ValueError(
            f"--profile reads XLA CPU's per-op trace: it needs --backend cpu, not {args.backend!r}"
        )
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.output and os.path.isdir(args.output):
        raise ValueError(f"--output {args.output} is a directory; give the path of a .npz file")
    with open(args.module, "rb") as handle:
        module = load_module(handle.read(), args.module)
    try:
        specs = composite_specs(module)
    except (TypeError, ValueError):
        specs = []  # an invalid composite: the pipeline reports it, at its location
    if args.pipeline != "none":
        run_pipeline_located(module, args.pipeline, PipelineOptions(), args.module)
    # One convolution: the XLA options its program runs best with, as `compile` adds them.
    options = (
        api.xla_options_for(specs[0], api.module_strategy(module), args.backend) if len(specs) == 1 else {}
    )
    executable = runner.compile_module(module, args.backend, options)
    budget = default_memory_budget()
    checked = [("results", executable.outputs)]
    if not args.inputs:
        checked.append(("random inputs", executable.inputs))
    for what, signatures in checked:
        needed = sum(math.prod(sig.shape) * shapes.itemsize(sig.dtype) for sig in signatures)
        if needed > budget:
            raise ValueError(
                f"{what} of {args.module} would take {needed:,} bytes, over the "
                f"{budget:,}-byte memory budget (a quarter of physical memory)"
            )
    if args.inputs:
        values = [np.load(path, allow_pickle=False) for path in args.inputs]
        for path, value in zip(args.inputs, values, strict=True):
            if not isinstance(value, np.ndarray):
                raise ValueError(
                    f"--inputs {path} is an .npz archive, not an .npy array; give one .npy file per argument"
                )
    else:
        rng = np.random.default_rng(args.seed)
        values = [_random(rng, signature) for signature in executable.inputs]
    # On the device once, so that the timings below measure the program, not a copy of the
    # inputs on every call (37 MB of weights took 24 of a 28 ms "run" on the CPU).
    values = executable.to_device(*values)
    # Ready before converting: jaxlib aborts converting a result whose computation failed.
    results = [np.asarray(r) for r in jax.block_until_ready(executable(*values))]
    for index, result in enumerate(results):
        digest = hashlib.sha256(np.ascontiguousarray(result).tobytes()).hexdigest()[:16]
        print(
            f"result {index}: {result.dtype.name}{list(result.shape)} "
            f"sum={np.sum(result.astype(np.complex128)).real:.6g} sha256={digest}"
        )
    queue = queued_calls(args.backend)
    seconds = median_seconds({"run": lambda: executable(*values)}, args.repeat, queue=queue)["run"]
    queued = f" (per call, {queue} calls queued per run)" if queue > 1 else ""
    print(f"median of {args.repeat} runs on {args.backend}: {seconds * 1e3:.3f} ms{queued}")
    if args.profile:
        traced = runner.compile_module(module, args.backend, options | {profile.TRACE_OPTION: True})
        print(profile.format_profile(profile.profile_ops(traced, values)))
    if args.output:
        write_atomically(args.output, _npz_bytes(results))
    return 0


def explain_command(args: argparse.Namespace) -> int:
    """Prints the cost report of each convolution (flags or a module's composites)."""
    if args.module:
        with open(args.module, "rb") as handle:
            module = load_module(handle.read(), args.module)
        specs = composite_specs(module)
        if not specs:
            raise ValueError(f"{args.module} holds no localconv.conv_general_dilated_local composite")
    else:
        required = {flag: getattr(args, flag.lstrip("-").replace("-", "_")) for flag in CONV_FLAGS}
        if all(value is None for value in required.values()):
            raise ValueError("explain needs the convolution flags (--lhs ...) or --module FILE")
        missing = [flag for flag, value in required.items() if value is None]
        if missing:
            raise ValueError(f"explain needs every convolution flag; missing: {', '.join(missing)}")
        specs = [api.lower(*conv_arguments(args), pipeline=None).spec]
    runner.check_backend(args.backend)
    # The strategy for a backend absent here is still worth seeing (as `lower --backend`
    # shows its IR); only its roofline needs the device.
    present = args.backend in runner.available_backends()
    if args.plot and not present:
        raise ValueError(f"--plot measures the roofline on {args.backend!r}, which is not available here")
    rates = measure(args.backend) if present else None
    print("\n\n".join(explain(spec, rates, args.backend) for spec in specs))
    if not present:
        print(f"(no {args.backend} device here: its roofline is not measured)")
    if args.plot:
        from localconv.roofline_plot import plot_roofline

        plot_roofline(specs, rates, args.plot)
    return 0


def composite_specs(module) -> list:
    """The `ConvSpec` of each localconv composite in `module`, in order (CompositeError if malformed)."""
    return [spec_from_composite(op) for op in ops_where(module.operation, is_localconv_composite)]


def _random(rng: np.random.Generator, signature: runner.TensorSignature) -> np.ndarray:
    dtype = jax.numpy.dtype(signature.dtype)
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(signature.shape) + 1j * rng.standard_normal(signature.shape)).astype(
            dtype
        )
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(signature.shape).astype(dtype)
    return rng.integers(0, 8, signature.shape).astype(dtype)


def _npz_bytes(results: list[np.ndarray]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, *results)
    return buffer.getvalue()


COMMANDS = {"demo": demo_command, "lower": lower_command, "run": run_command, "explain": explain_command}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `localconv` console script."""
    args = build_parser().parse_args(argv)
    return run_guarded("localconv", lambda: COMMANDS[args.command](args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
