"""Exact evaluation of small constant subgraphs (the kernels JAX builds) with NumPy.

Only ops whose NumPy meaning is exact are evaluated: constant, iota, broadcast_in_dim,
reshape, transpose, convert, compare (where its compare_type is NumPy's comparison: not
TOTALORDER) and add/subtract/multiply/select. Anything else (a block argument, an unknown op,
a too large tensor, a constant NumPy cannot read) gives `None`, so a caller that must prove a
value never guesses.
"""

from __future__ import annotations

import jax
import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from localconv import irbuild

MAX_ELEMENTS = 1 << 24

_COMPARE = {
    "EQ": np.equal,
    "NE": np.not_equal,
    "LT": np.less,
    "LE": np.less_equal,
    "GT": np.greater,
    "GE": np.greater_equal,
}
_BINARY = {"stablehlo.add": np.add, "stablehlo.subtract": np.subtract, "stablehlo.multiply": np.multiply}


def evaluate(value: ir.Value, max_elements: int = MAX_ELEMENTS) -> np.ndarray | None:
    """The exact value of `value` if it is a constant expression of supported ops, else None."""
    if not isinstance(value, ir.OpResult):
        return None
    op = value.owner
    result_type = ir.RankedTensorType(value.type)
    if not result_type.has_static_shape or int(np.prod(result_type.shape)) > max_elements:
        return None
    try:
        dtype = jax.numpy.dtype(irbuild.dtype_name(result_type.element_type))
    except ValueError:
        return None
    shape = tuple(result_type.shape)
    name = op.name
    attrs = op.attributes
    if name == "stablehlo.constant":
        try:
            return np.array(attrs["value"]).astype(dtype).reshape(shape)
        except (TypeError, ValueError):
            return None
    if name == "stablehlo.iota":
        dim = ir.IntegerAttr(attrs["iota_dimension"]).value
        ramp = np.arange(shape[dim]).reshape([-1 if d == dim else 1 for d in range(len(shape))])
        return np.broadcast_to(ramp, shape).astype(dtype)
    operands = [evaluate(v, max_elements) for v in op.operands]
    if any(o is None for o in operands):
        return None
    if name == "stablehlo.broadcast_in_dim":
        dims = list(ir.DenseI64ArrayAttr(attrs["broadcast_dimensions"]))
        # Operand dim i goes to result dim dims[i]: order the operand's axes by their target
        # (non-increasing dims transpose), then insert the new axes.
        moved = np.transpose(operands[0], np.argsort(dims))
        expanded = np.expand_dims(moved, [d for d in range(len(shape)) if d not in dims])
        return np.broadcast_to(expanded, shape).astype(dtype)
    if name == "stablehlo.reshape":
        return operands[0].reshape(shape)
    if name == "stablehlo.transpose":
        return np.transpose(operands[0], list(ir.DenseI64ArrayAttr(attrs["permutation"])))
    if name == "stablehlo.convert":
        return operands[0].astype(dtype)
    if name == "stablehlo.compare":
        if not _numpy_compares_alike(attrs, operands[0].dtype):
            return None
        direction = stablehlo.ComparisonDirectionAttr(attrs["comparison_direction"]).value
        return _COMPARE[direction](operands[0], operands[1])
    if name == "stablehlo.select":
        return np.where(operands[0], operands[1], operands[2]).astype(dtype)
    if name in _BINARY and dtype.kind in "iub":
        return _BINARY[name](operands[0], operands[1]).astype(dtype)
    return None


def _numpy_compares_alike(attrs: ir.OpAttributeMap, dtype: np.dtype) -> bool:
    """Whether NumPy's comparison of `dtype` values is the one the compare's `compare_type` asks.

    NumPy compares floats as IEEE values, so TOTALORDER (where -0.0 < +0.0 and NaNs are
    ordered) differs, as does a SIGNED/UNSIGNED type that is not the integers' own.
    """
    if "compare_type" not in attrs:
        return True
    natural = {"f": "FLOAT", "c": "FLOAT", "i": "SIGNED", "u": "UNSIGNED", "b": "UNSIGNED"}.get(dtype.kind)
    return stablehlo.ComparisonTypeAttr(attrs["compare_type"]).value == natural
