"""Reading and writing modules: MLIR text, MLIR bytecode, and versioned StableHLO artifacts.

A portable artifact (VHLO bytecode for a target StableHLO version, what `jax.export` and
serving stacks keep) is what other tools can load years later; bytecode is compact and fast;
text is for people. `parse_module` accepts all three.
"""

from __future__ import annotations

import io

import jax
import jax.extend.mlir as jax_ext_mlir
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

EMIT_FORMATS = ("text", "bytecode", "portable")


def current_version() -> str:
    """The newest StableHLO version this jaxlib writes."""
    return stablehlo.get_current_version()


def module_bytes(module: ir.Module, emit: str = "text", target_version: str | None = None) -> bytes:
    """`module` as text, bytecode or a portable artifact for `target_version` (default: current)."""
    if emit == "text":
        return str(module).encode()
    if emit == "bytecode":
        buffer = io.BytesIO()
        module.operation.write_bytecode(buffer)
        return buffer.getvalue()
    if emit == "portable":
        version = target_version or current_version()
        minimum, newest = stablehlo.get_minimum_version(), current_version()
        if _version_key(version) is None or not (
            _version_key(minimum) <= _version_key(version) <= _version_key(newest)
        ):
            raise ValueError(
                f"target version must be a StableHLO version from {minimum} to {newest}, got {version!r}"
            )
        try:
            return jax_ext_mlir.serialize_portable_artifact(module.operation.get_asm(binary=True), version)
        except jax.errors.JaxRuntimeError as err:
            detail = next((line for line in str(err).splitlines() if "error:" in line), str(err))
            raise ValueError(
                f"a portable artifact holds StableHLO, func and builtin ops only: {detail.strip()}"
            ) from None
    raise ValueError(f"emit must be one of {EMIT_FORMATS}, got {emit!r}")


def _version_key(version: str) -> tuple[int, ...] | None:
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def parse_module(data: bytes | str, context: ir.Context) -> ir.Module:
    """A StableHLO module from text, bytecode or a portable artifact; MLIRError when invalid."""
    module = ir.Module.parse(data, context=context)
    if any(op.operation.name.startswith("vhlo.") for op in module.body.operations):
        raw = data.encode() if isinstance(data, str) else data
        module = stablehlo.deserialize_portable_artifact(context, raw)
    return module
