"""Turns library errors into one line on stderr and an exit code, as compiler drivers do.

It also reads modules and runs pipelines so that their errors point at `file:line:col`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import jax
from jaxlib.mlir import ir

from localconv import irbuild
from localconv.lowering import PipelineError, PipelineOptions, run_pipeline
from localconv.serialization import parse_module

# XLA's runtime errors (a custom call with no implementation, out of memory while running) are
# about the module or the machine, not about localconv: one line, like the others.
USER_ERRORS = (ValueError, TypeError, OSError, MemoryError, ir.MLIRError, jax.errors.JaxRuntimeError)


def describe(err: BaseException) -> str:
    """One line (or one line per MLIR diagnostic) describing `err`."""
    if isinstance(err, MemoryError):
        return f"out of memory: {err}"
    if isinstance(err, ir.MLIRError) and err.error_diagnostics:
        return "\n".join(f"{d.location}: error: {d.message}" for d in err.error_diagnostics)
    if isinstance(err, jax.errors.JaxRuntimeError):
        return (str(err).strip().splitlines() or [type(err).__name__])[0]  # not the module dump after it
    return str(err).strip() or type(err).__name__


def run_guarded(tool: str, body: Callable[[], int], debug: bool) -> int:
    """Runs `body`; user errors print `tool: error: ...` and return 1 (tracebacks only if debug)."""
    try:
        return body()
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"{tool}: error: {describe(err)}", file=sys.stderr)
        return 1


def source_locations(text: str, filename: str, first_line: int) -> str:
    """Rewrites the bindings' `loc("-":L:C)` (they parse without a file name) to file:line:col."""

    def located(match: re.Match) -> str:
        return f"{filename}:{int(match.group(1)) + first_line - 1}:{match.group(2)}"

    return re.sub(r'loc\("-":(\d+):(\d+)\)', located, text)


def parse_diagnostics(err: ir.MLIRError, filename: str, first_line: int) -> str:
    """MLIR parse diagnostics as `file:line:col: message` lines."""
    lines = []
    for diagnostic in err.error_diagnostics:
        match = re.search(r":(\d+):(\d+)", str(diagnostic.location))
        if match:
            line = int(match.group(1)) + first_line - 1
            lines.append(f"{filename}:{line}:{match.group(2)}: {diagnostic.message}")
        else:
            lines.append(f"{filename}: {diagnostic.message}")
    return "\n".join(lines) or f"{filename}: {err}"


def load_module(data: bytes, filename: str, first_line: int = 1) -> ir.Module:
    """The module in `data` (text, bytecode or a portable artifact) in a fresh localconv context.

    ValueError with `file:line:col` diagnostics where it does not parse.
    """
    try:
        return parse_module(data, irbuild.make_context())
    except ir.MLIRError as err:
        raise ValueError(parse_diagnostics(err, filename, first_line)) from None


def run_pipeline_located(
    module: ir.Module, pipeline: str, options: PipelineOptions, filename: str, first_line: int = 1
) -> None:
    """`run_pipeline`, with a failure's locations in `module` given as `file:line:col`."""
    try:
        run_pipeline(module, pipeline, options)
    except PipelineError as err:
        raise PipelineError(source_locations(str(err), filename, first_line)) from err
