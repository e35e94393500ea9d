"""`localconv-opt`: an mlir-opt-like driver that runs localconv and MLIR passes on a module."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from jaxlib.mlir import ir

from localconv import irbuild
from localconv.lowering import PIPELINES, run_pipeline
from localconv.lowering.registry import PASSES

from .diagnostics import run_guarded


@dataclass
class OptDriver:
    """Reads a module, runs a pipeline on it and writes the result; usable in-process."""

    pipeline: str = "default"

    def run(self, text: str, filename: str = "-") -> str:
        """The printed module after the pipeline; MLIRError on parse or pass failure."""
        context = irbuild.make_context()
        with context, ir.Location.unknown():
            module = ir.Module.parse(text)
        run_pipeline(module, self.pipeline)
        return str(module)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `localconv-opt`."""
    parser = argparse.ArgumentParser(prog="localconv-opt", description=__doc__)
    parser.add_argument("input", nargs="?", default="-", help="input .mlir file, or - for stdin")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--pass-pipeline", help="textual pipeline, e.g. builtin.module(cse)")
    group.add_argument("--pipeline", choices=sorted(PIPELINES), help="named pipeline")
    parser.add_argument("-o", dest="output", default="-", help="output file (default: stdout)")
    parser.add_argument("--list-passes", action="store_true", help="list localconv passes")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `localconv-opt` console script."""
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.list_passes:
            for name, p in sorted(PASSES.items()):
                print(f"{name}: {p.summary}")
            return 0
        if args.input == "-":
            text = sys.stdin.read()
        else:
            with open(args.input, encoding="utf-8") as handle:
                text = handle.read()
        pipeline = args.pass_pipeline or args.pipeline or "default"
        result = OptDriver(pipeline).run(text, args.input)
        if args.output == "-":
            sys.stdout.write(result)
        else:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(result)
        return 0

    return run_guarded("localconv-opt", body, args.debug)


if __name__ == "__main__":
    sys.exit(main())
