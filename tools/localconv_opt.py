"""`localconv-opt`: an mlir-opt-like driver that runs localconv and MLIR passes on modules."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

from jaxlib.mlir import ir

from localconv.atomic import write_atomically
from localconv.lowering import PIPELINES, PipelineOptions
from localconv.lowering.registry import describe_passes
from localconv.serialization import EMIT_FORMATS, module_bytes

from .diagnostics import describe, load_module, run_guarded, run_pipeline_located

SPLIT_MARKER = re.compile(r"^// -----[ \t]*$", re.M)


@dataclass
class OptDriver:
    """Parses a module, runs a pipeline on it and serializes the result; usable in-process."""

    pipeline: str = "default"
    options: PipelineOptions = field(default_factory=PipelineOptions)
    emit: str = "text"
    target_version: str | None = None

    def run(self, data: bytes, filename: str = "-", first_line: int = 1) -> bytes:
        """The module after the pipeline; ValueError (file:line:col) when it does not parse."""
        module = load_module(data, filename, first_line)
        run_pipeline_located(module, self.pipeline, self.options, filename, first_line)
        return module_bytes(module, self.emit, self.target_version)


def split_input(text: str) -> list[tuple[str, int]]:
    """The `// -----` separated chunks of `text`, each with its first line number."""
    chunks, line = [], 1
    for chunk in SPLIT_MARKER.split(text):
        chunks.append((chunk, line))
        line += chunk.count("\n")
    return chunks


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `localconv-opt`."""
    parser = argparse.ArgumentParser(prog="localconv-opt", description=__doc__)
    parser.add_argument(
        "input", nargs="?", default="-", help="input file (text, bytecode or portable); - is stdin"
    )
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
    parser.add_argument(
        "--split-input-file", action="store_true", help="process each '// -----' separated chunk on its own"
    )
    parser.add_argument("--emit", choices=EMIT_FORMATS, default="text", help="output format")
    parser.add_argument("--target-version", help="StableHLO version for --emit=portable")
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
            data = sys.stdin.buffer.read()
        else:
            with open(args.input, "rb") as handle:
                data = handle.read()
        options = PipelineOptions(
            verify_each=args.verify_each,
            print_ir_after_all=args.print_ir_after_all,
            print_ir_after=tuple(args.print_ir_after),
            timing=args.timing,
        )
        pipeline = args.pass_pipeline if args.pass_pipeline is not None else args.pipeline or "default"
        driver = OptDriver(pipeline, options, args.emit, args.target_version)
        if not args.split_input_file:
            return _write(args.output, driver.run(data, args.input))
        if args.emit != "text":
            raise ValueError("--split-input-file writes text; it cannot be combined with --emit")
        results, failed = [], False
        for chunk, first_line in split_input(data.decode()):
            try:
                results.append(driver.run(chunk.encode(), args.input, first_line).decode())
            except (ValueError, TypeError, ir.MLIRError) as err:
                if args.debug:
                    raise
                print(f"localconv-opt: error: {describe(err)}", file=sys.stderr)
                failed = True
        _write(args.output, "// -----\n".join(results).encode())
        return 1 if failed else 0

    return run_guarded("localconv-opt", body, args.debug)


def _write(output: str, data: bytes) -> int:
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomically(output, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
