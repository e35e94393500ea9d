"""Named and textual pipelines, run on a module with jaxlib's PassManager.

A textual pipeline is `builtin.module(p1,p2,...)` (or a bare `p1,p2,...`); each element is a
localconv pass from the registry or any MLIR pass jaxlib parses (`canonicalize`, `cse`,
`symbol-dce`, ...). The IR is verified after every pass.
"""

from __future__ import annotations

from jaxlib.mlir import ir, passmanager

from .registry import PASSES

PIPELINES = {
    "O0": "builtin.module(localconv-legalize-composite)",
    "default": "builtin.module(localconv-legalize-composite,canonicalize,cse,symbol-dce)",
}


class PipelineError(ValueError):
    """An unknown pipeline or pass name, or a pipeline text that does not parse."""


def pipeline_elements(pipeline: str) -> list[str]:
    """The pass names of a named or textual pipeline."""
    text = PIPELINES.get(pipeline, pipeline).strip()
    if text.startswith("builtin.module(") and text.endswith(")"):
        text = text[len("builtin.module(") : -1]
    elements, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            elements.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        elements.append(current.strip())
    if depth != 0 or any(not e for e in elements):
        raise PipelineError(f"malformed pass pipeline {pipeline!r}")
    return elements


def run_pipeline(module: ir.Module, pipeline: str = "default") -> ir.Module:
    """Runs `pipeline` on `module` in place and returns it; MLIRError when a pass fails."""
    with module.context:
        manager = passmanager.PassManager("builtin.module")
        manager.enable_verifier(True)
        for element in pipeline_elements(pipeline):
            if element in PASSES:
                manager.add(PASSES[element], name=element, argument=element)
                continue
            try:
                manager.add(element)
            except ValueError as err:
                raise PipelineError(
                    f"unknown pass {element!r} in pipeline {pipeline!r}; localconv passes: "
                    f"{sorted(PASSES)}; named pipelines: {sorted(PIPELINES)}"
                ) from err
        manager.run(module.operation)
    return module
