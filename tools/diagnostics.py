"""Turns library errors into one line on stderr and an exit code, as compiler drivers do."""

from __future__ import annotations

import sys
from collections.abc import Callable

from jaxlib.mlir import ir

USER_ERRORS = (ValueError, TypeError, OSError, MemoryError, ir.MLIRError)


def describe(err: BaseException) -> str:
    """One line (or one line per MLIR diagnostic) describing `err`."""
    if isinstance(err, MemoryError):
        return f"out of memory: {err}"
    if isinstance(err, ir.MLIRError) and err.error_diagnostics:
        return "\n".join(f"{d.location}: error: {d.message}" for d in err.error_diagnostics)
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
