"""`localconv-opt`: an mlir-opt-like driver that runs localconv and MLIR passes on a module."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

from jaxlib.mlir import ir

from localconv import irbuild
from localconv.lowering import PIPELINES, PipelineOptions, run_pipeline
from localconv.lowering.registry import describe_passes

from .diagnostics import run_guarded


@dataclass
class OptDriver:
    """Parses a module, runs a pipeline on it and prints the result; usable in-process."""

    pipeline: str = "default"
    options: PipelineOptions = field(default_factory=PipelineOptions)

    def run(self, text: str, filename: str = "-") -> str:
        """The printed module after the pipeline; MLIRError on parse errors (file:line:col)."""
        context = irbuild.make_context()
        try:
            module = ir.Module.parse(text, context=context)
        except ir.MLIRError as err:
            raise ValueError(_parse_diagnostics(err, filename)) from None
        run_pipeline(module, self.pipeline, self.options)
        return str(module)


def _parse_diagnostics(err: ir.MLIRError, filename: str) -> str:
    """MLIR parse diagnostics as `file:line:col: message` lines."""
    lines = []
    for diagnostic in err.error_diagnostics:
        match = re.search(r":(\d+):(\d+)", str(diagnostic.location))
        where = f"{filename}:{match.group(1)}:{match.group(2)}" if match else filename
        lines.append(f"{where}: {diagnostic.message}")
    return "\n".join(lines) or f"{filename}: {err}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `localconv-opt`."""
    parser = argparse.ArgumentParser(prog="localconv-opt", description=__doc__)
    parser.add_argument("input", nargs="?", default="-", help="input .mlir file, or - for stdin")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pass-pipeline", help="textual pipeline, e.g. builtin.module(cse)")
    group.add_argument("--pipeline", choices=sorted(PIPELINES), help="named pipeline")
    parser.add_argument("-o", dest="output", default="-", help="output file (default: stdout)")
    parser.add_argument("--list-passes", action="store_true", help="list localconv passes")
    parser.add_argument("--print-ir-after-all", action="store_true", help="IR after every pass")
    parser.add_argument(
        "--print-ir-after",
        action="append",
        default=[],
        metavar="PASS",
        help="IR after the named pass (repeatable)",
    )
    parser.add_argument("--timing", action="store_true", help="per-pass wall times on stderr")
    parser.add_argument(
        "--verify-each",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="verify the IR after every pass (default: on)",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `localconv-opt` console script."""
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.list_passes:
            print(describe_passes())
            return 0
        if args.input == "-":
            text = sys.stdin.read()
        else:
            with open(args.input, encoding="utf-8") as handle:
                text = handle.read()
        options = PipelineOptions(
            verify_each=args.verify_each,
            print_ir_after_all=args.print_ir_after_all,
            print_ir_after=tuple(args.print_ir_after),
            timing=args.timing,
        )
        driver = OptDriver(args.pass_pipeline or args.pipeline or "default", options)
        result = driver.run(text, args.input)
        if args.output == "-":
            sys.stdout.write(result)
        else:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(result)
        return 0

    return run_guarded("localconv-opt", body, args.debug)


if __name__ == "__main__":
    sys.exit(main())
