"""Named and textual pipelines, run pass by pass with verification, IR dumps and timing.

A textual pipeline is `builtin.module(p1,p2{opt=v},...)` (or the bare list); each element is a
localconv pass from the registry or any pass jaxlib's MLIR parses (`canonicalize`, `cse`,
`symbol-dce`, `func.func(cse)`, ...). Each element runs in its own PassManager, so a failure is
pinned to one pass: the IR it got is saved and the error names the pass, the op location and
the `localconv-opt` command that reproduces it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TextIO

from jaxlib.mlir import ir, passmanager

from .registry import PASSES


def default_pipeline(backend: str = "cpu", strategy: str = "auto") -> str:
    """The default pipeline text for `backend`, with the contraction `strategy` forced or auto."""
    options = " ".join(
        f"{key}={value}"
        for key, value, default in (("strategy", strategy, "auto"), ("backend", backend, "cpu"))
        if value != default
    )
    choose = "localconv-contraction-strategy" + (f"{{{options}}}" if options else "")
    return (
        f"builtin.module(localconv-recognize-jax-patches,{choose},"
        "localconv-legalize-composite,localconv-simplify-patch-gather,localconv-patches-to-gather,"
        "localconv-fold-transposes,"
        "canonicalize,cse,symbol-dce)"
    )


PIPELINES = {
    "O0": "builtin.module(localconv-legalize-composite)",
    "default": default_pipeline(),
}


class PipelineError(ValueError):
    """An unknown pipeline or pass, bad options, or a pass that failed (with a reproducer)."""


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """How a pipeline runs: verification, IR printing, timing, where reproducers go."""

    verify_each: bool = True
    print_ir_after_all: bool = False
    print_ir_after: tuple[str, ...] = ()
    timing: bool = False
    ir_stream: TextIO | None = None
    reproducer_dir: str | None = None


@dataclasses.dataclass
class PipelineReport:
    """What a run did: (pass name, seconds) for each pass, in order."""

    timings: list[tuple[str, float]] = dataclasses.field(default_factory=list)

    def format_timing(self) -> str:
        """A table of per-pass wall times, like mlir-opt's --mlir-timing."""
        total = sum(t for _, t in self.timings) or 1e-12
        lines = ["===-- localconv pass timing --===", "  wall (ms)   share  pass"]
        for name, seconds in self.timings:
            lines.append(f"  {seconds * 1e3:9.3f}  {seconds / total:6.1%}  {name}")
        lines.append(f"  {total * 1e3:9.3f}  100.0%  total")
        return "\n".join(lines)


def pipeline_elements(pipeline: str) -> list[str]:
    """The elements of a named or textual pipeline, options included."""
    text = PIPELINES.get(pipeline, pipeline).strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        text = text[len("builtin.module(") : -1]
    elements, depth, current = [], 0, ""
    for char in text:
        depth += char in "({"
        depth -= char in ")}"
        if depth < 0:
            raise PipelineError(f"malformed pass pipeline {pipeline!r}: unbalanced ')'")
        if char == "," and depth == 0:
            elements.append(current.strip())
            current = ""
        else:
            current += char
    elements.append(current.strip())
    if depth != 0 or any(not e for e in elements):
        raise PipelineError(f"malformed pass pipeline {pipeline!r}")
    return elements


@contextlib.contextmanager
def _native_stderr(captured: list[str]) -> Iterator[None]:
    """Collects into `captured` what native code writes to file descriptor 2 in the block.

    LLVM's command-line option parser, which MLIR uses for pass options, prints its complaint
    about a bad value straight to stderr; the caller folds it into its one error instead. What
    is collected when nothing fails is written back to stderr.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))
            if not failed and captured[-1]:
                sys.stderr.write(captured[-1])


def _add_element(manager: passmanager.PassManager, element: str, pipeline: str) -> tuple[str, object | None]:
    match = re.fullmatch(r"([\w.-]+)(?:\{(.*)\})?", element, re.S)
    name = match.group(1) if match else element
    if name in PASSES:
        try:
            configured = PASSES[name].from_options(match.group(2) or "")
        except ValueError as err:
            raise PipelineError(str(err)) from None
        manager.add(configured, name=name, argument=name, description=configured.summary)
        return name, configured
    native: list[str] = []
    try:
        with _native_stderr(native):
            manager.add(element)
    except ValueError as err:
        if match and match.group(2) is not None and "does not refer to a registered pass" not in str(err):
            # A known MLIR pass with options it does not take or values it cannot parse: LLVM's
            # option parser says which on stderr (": for the --x option: 'abc' value invalid
            # ..."), else MLIR's first line does.
            first_line = str(err).strip().splitlines()[0].removeprefix("<Pass-Options-Parser>: ")
            reason = native[0].strip().removeprefix(": ") or first_line
            message = f"invalid options for pass {name!r} in pipeline {pipeline!r}: {reason}"
            raise PipelineError(message) from None
        raise PipelineError(
            f"unknown pass {element!r} in pipeline {pipeline!r}; localconv passes: "
            f"{sorted(PASSES)}; named pipelines: {sorted(PIPELINES)}"
        ) from None
    return name, None


def run_pipeline(
    module: ir.Module, pipeline: str = "default", options: PipelineOptions = PipelineOptions()
) -> PipelineReport:
    """Runs `pipeline` on `module` in place; PipelineError (with a reproducer) on failure."""
    report = PipelineReport()
    stream = options.ir_stream or sys.stderr
    with module.context:
        managers = []
        for element in pipeline_elements(pipeline):
            manager = passmanager.PassManager("builtin.module")
            manager.enable_verifier(options.verify_each)
            managers.append((*_add_element(manager, element, pipeline), element, manager))
        names = [name for name, *_ in managers]
        unknown = [name for name in options.print_ir_after if name not in names]
        if unknown:
            raise ValueError(
                f"print_ir_after names no pass of the pipeline: {', '.join(unknown)}; "
                f"it runs: {', '.join(names) or 'nothing'}"
            )
        for name, configured, element, manager in managers:
            before = module.operation.get_asm(enable_debug_info=True)
            start = time.perf_counter()
            try:
                manager.run(module.operation)
            except Exception as err:  # noqa: BLE001 - every failure gets a reproducer
                cause = configured.errors[0] if configured is not None and configured.errors else err
                raise _failure(name, element, cause, before, options) from cause
            report.timings.append((name, time.perf_counter() - start))
            if options.print_ir_after_all or name in options.print_ir_after:
                print(f"// -----// IR Dump After {name} //----- //", file=stream)
                print(module, file=stream)
    if options.timing:
        print(report.format_timing(), file=stream)
    return report


def _failure(name: str, element: str, err: Exception, before: str, options: PipelineOptions) -> PipelineError:
    directory = options.reproducer_dir or tempfile.gettempdir()
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"localconv-{name}-", suffix=".mlir", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(before)
    diagnostics = getattr(err, "error_diagnostics", None) or []
    where = "; ".join(f"{d.location}: {d.message}" for d in diagnostics) or f"{type(err).__name__}: {err}"
    return PipelineError(
        f"pass {name} failed: {where}\n"
        f"  reproduce with: localconv-opt {shlex.quote(path)} "
        f"--pass-pipeline={shlex.quote(f'builtin.module({element})')}"
    )
