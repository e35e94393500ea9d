"""`localconv`: the demo (the README's main job) and `lower`, which prints IR at a chosen stage."""

from __future__ import annotations

import argparse
import sys

import jax

from localconv import api
from localconv.demo import run_demo

from . import cli_args
from .diagnostics import run_guarded

EMIT_STAGES = {"composite": None, "stablehlo": "O0", "optimized": "default"}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `localconv`."""
    parser = argparse.ArgumentParser(prog="localconv", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="lower, run and check a realistic layer on the CPU")
    demo.add_argument("--repeat", type=int, default=10, help="timed runs per implementation")

    lower = commands.add_parser("lower", help="print the IR of one unshared convolution")
    lower.add_argument("--lhs", required=True, help="lhs type, e.g. 8x16x32x32xf32")
    lower.add_argument("--rhs", required=True, help="rhs type, e.g. 32x144x32x32xf32")
    lower.add_argument("--window-strides", required=True, help="e.g. 1,1")
    lower.add_argument("--padding", required=True, help="SAME, SAME_LOWER, VALID or '1,1;1,1'")
    lower.add_argument("--filter-shape", required=True, help="e.g. 3,3")
    lower.add_argument("--lhs-dilation", help="e.g. 1,1")
    lower.add_argument("--rhs-dilation", help="e.g. 1,1")
    lower.add_argument("--dimension-numbers", help="e.g. NCHW,OIHW,NCHW")
    lower.add_argument("--precision", help="e.g. HIGHEST or HIGH,DEFAULT")
    lower.add_argument(
        "--emit", choices=[*EMIT_STAGES, "xla-hlo"], default="optimized", help="IR stage to print"
    )
    lower.add_argument("--backend", default="cpu", help="backend for --emit xla-hlo")
    return parser


def lower_command(args: argparse.Namespace) -> int:
    """Prints the IR of the convolution described by the flags at the chosen stage."""
    lhs = jax.ShapeDtypeStruct(*cli_args.tensor_type("--lhs", args.lhs))
    rhs = jax.ShapeDtypeStruct(*cli_args.tensor_type("--rhs", args.rhs))
    optional = lambda text, parse: None if text is None else parse(text)  # noqa: E731
    arguments = (
        lhs,
        rhs,
        cli_args.int_list("--window-strides", args.window_strides),
        cli_args.padding(args.padding),
        cli_args.int_list("--filter-shape", args.filter_shape),
        optional(args.lhs_dilation, lambda t: cli_args.int_list("--lhs-dilation", t)),
        optional(args.rhs_dilation, lambda t: cli_args.int_list("--rhs-dilation", t)),
        optional(args.dimension_numbers, cli_args.dimension_numbers),
        optional(args.precision, cli_args.precision),
    )
    if args.emit == "xla-hlo":
        print(api.lower(*arguments).compile(args.backend).as_text())
    else:
        print(api.lower(*arguments, pipeline=EMIT_STAGES[args.emit]).as_text(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `localconv` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        body = lambda: 0 if run_demo(repeat=args.repeat) else 1  # noqa: E731
    else:
        body = lambda: lower_command(args)  # noqa: E731
    return run_guarded("localconv", body, args.debug)


if __name__ == "__main__":
    sys.exit(main())
