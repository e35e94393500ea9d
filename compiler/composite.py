"""localconv's public IR contract: the `localconv.conv_general_dilated_local` composite.

A `stablehlo.composite "localconv.conv_general_dilated_local"` (version 1) takes (lhs, rhs) and
carries the canonical parameters as attributes:

| attribute           | type                                   | meaning                          |
|---------------------|----------------------------------------|----------------------------------|
| `window_strides`    | `array<i64: ...>` (n entries)          | strides, rhs-spec spatial order  |
| `padding`           | `dense<...> : tensor<n x 2 x i64>`     | explicit (low, high) pairs       |
| `filter_shape`      | `array<i64: ...>`                      | receptive window, rhs-spec order |
| `lhs_dilation`      | `array<i64: ...>`                      | input dilation                   |
| `rhs_dilation`      | `array<i64: ...>`                      | window dilation                  |
| `dimension_numbers` | `["NCHW", "OIHW", "NCHW"]` (3 strings) | lhs, rhs, out specs              |
| `precision`         | `["DEFAULT", "DEFAULT"]` (2 strings)   | `lax.Precision` names            |

Its decomposition is the default lowering. `spec_from_composite` rebuilds (and validates) a
`ConvSpec` from such an op, so IR written by other tools is accepted back.
"""

from __future__ import annotations

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild, params
from .spec import ConvSpec

NAME = "localconv.conv_general_dilated_local"
VERSION = 1
ATTRIBUTE_NAMES = (
    "window_strides",
    "padding",
    "filter_shape",
    "lhs_dilation",
    "rhs_dilation",
    "dimension_numbers",
    "precision",
)


class CompositeError(ValueError):
    """A localconv composite whose attributes do not describe a valid convolution."""


def composite_attributes(spec: ConvSpec) -> ir.DictAttr:
    """The attribute dictionary that carries `spec`'s parameters."""
    n = spec.num_spatial
    padding = np.array(spec.padding, dtype=np.int64).reshape(n, 2)
    strings = lambda items: ir.ArrayAttr.get([ir.StringAttr.get(s) for s in items])  # noqa: E731
    return ir.DictAttr.get(
        {
            "window_strides": ir.DenseI64ArrayAttr.get(list(spec.window_strides)),
            "padding": ir.DenseIntElementsAttr.get(padding),
            "filter_shape": ir.DenseI64ArrayAttr.get(list(spec.filter_shape)),
            "lhs_dilation": ir.DenseI64ArrayAttr.get(list(spec.lhs_dilation)),
            "rhs_dilation": ir.DenseI64ArrayAttr.get(list(spec.rhs_dilation)),
            "dimension_numbers": strings(spec.spec_strings),
            "precision": strings(spec.precision),
        }
    )


def emit_composite(
    spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, decomposition: str, *, loc: ir.Location
) -> ir.Value:
    """A composite op applying `spec` to (lhs, rhs), decomposed by function `decomposition`."""
    op = stablehlo.CompositeOp(
        [irbuild.tensor_type(spec.out_shape, spec.out_dtype)],
        [lhs, rhs],
        name=NAME,
        composite_attributes=composite_attributes(spec),
        decomposition=decomposition,
        version=VERSION,
        loc=loc,
    )
    return op.results[0]


def is_localconv_composite(op: ir.Operation) -> bool:
    """Whether `op` is a localconv composite (of any version)."""
    return op.name == "stablehlo.composite" and ir.StringAttr(op.attributes["name"]).value == NAME


def spec_from_composite(op: ir.Operation) -> ConvSpec:
    """The validated `ConvSpec` of a localconv composite op; CompositeError if it is malformed."""
    version = ir.IntegerAttr(op.attributes["version"]).value if "version" in op.attributes else 0
    if version != VERSION:
        raise CompositeError(f"{NAME} version must be {VERSION}, got {version}")
    if len(op.operands) != 2 or len(op.results) != 1:
        raise CompositeError(
            f"{NAME} must have 2 operands and 1 result, got {len(op.operands)} and {len(op.results)}"
        )
    attrs = op.attributes["composite_attributes"] if "composite_attributes" in op.attributes else None
    attrs = ir.DictAttr(attrs) if attrs is not None else ir.DictAttr.get({}, context=op.context)
    names = {attrs[i].name for i in range(len(attrs))}
    missing = [a for a in ATTRIBUTE_NAMES if a not in names]
    extra = sorted(names - set(ATTRIBUTE_NAMES))
    if missing or extra:
        raise CompositeError(
            f"{NAME} attributes must be exactly {list(ATTRIBUTE_NAMES)}; missing {missing}, "
            f"unexpected {extra}"
        )
    lhs_type, rhs_type = (_ranked(v.type, f"operand {i}") for i, v in enumerate(op.operands))
    out_type = _ranked(op.results[0].type, "result")
    try:
        spec = ConvSpec(
            lhs_shape=tuple(lhs_type.shape),
            lhs_dtype=irbuild.dtype_name(lhs_type.element_type),
            rhs_shape=tuple(rhs_type.shape),
            rhs_dtype=irbuild.dtype_name(rhs_type.element_type),
            window_strides=_i64_array(attrs, "window_strides"),
            padding=_padding(attrs),
            filter_shape=_i64_array(attrs, "filter_shape"),
            lhs_dilation=_i64_array(attrs, "lhs_dilation"),
            rhs_dilation=_i64_array(attrs, "rhs_dilation"),
            dimension_numbers=_dimension_numbers(attrs, len(lhs_type.shape)),
            precision=_strings(attrs, "precision", 2),
        )
    except (TypeError, ValueError) as err:
        raise CompositeError(f"invalid {NAME}: {err}") from err
    with op.context, op.location:
        expected = irbuild.tensor_type(spec.out_shape, spec.out_dtype)
    if out_type != expected:
        raise CompositeError(f"{NAME} result type must be {expected}, got {out_type}")
    return spec


def _ranked(type_: ir.Type, what: str) -> ir.RankedTensorType:
    if not isinstance(type_, ir.RankedTensorType) or not ir.RankedTensorType(type_).has_static_shape:
        raise CompositeError(f"{NAME} {what} must be a statically shaped tensor, got {type_}")
    return ir.RankedTensorType(type_)


def _i64_array(attrs: ir.DictAttr, name: str) -> tuple[int, ...]:
    """An array<i64: ...> attribute (or the 1-D dense i64 tensor VHLO round trips give)."""
    attr = attrs[name]
    if isinstance(attr, ir.DenseI64ArrayAttr):
        return tuple(attr)
    if isinstance(attr, ir.DenseIntElementsAttr):
        shaped = ir.ShapedType(attr.type)
        if shaped.rank == 1 and str(shaped.element_type) == "i64":
            return tuple(int(v) for v in attr) if shaped.shape[0] else ()
    raise CompositeError(f"{NAME} attribute {name} must be array<i64: ...>, got {attr}")


def _padding(attrs: ir.DictAttr) -> tuple[tuple[int, int], ...]:
    attr = attrs["padding"]
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise CompositeError(f"{NAME} attribute padding must be tensor<n x 2 x i64>, got {attr}")
    dense = ir.DenseIntElementsAttr(attr)
    shape = tuple(ir.ShapedType(dense.type).shape)
    if len(shape) != 2 or shape[1] != 2 or str(ir.ShapedType(dense.type).element_type) != "i64":
        raise CompositeError(f"{NAME} attribute padding must be tensor<n x 2 x i64>, got {attr}")
    values = [int(v) for v in dense] if shape[0] else []
    return tuple((values[2 * i], values[2 * i + 1]) for i in range(shape[0]))


def _strings(attrs: ir.DictAttr, name: str, count: int) -> tuple[str, ...]:
    attr = attrs[name]
    if isinstance(attr, ir.ArrayAttr):
        items = list(ir.ArrayAttr(attr))
        if len(items) == count and all(isinstance(a, ir.StringAttr) for a in items):
            return tuple(ir.StringAttr(a).value for a in items)
    raise CompositeError(f"{NAME} attribute {name} must be an array of {count} strings, got {attr}")


def _dimension_numbers(attrs: ir.DictAttr, ndim: int) -> params.DimensionNumbers:
    return params.dimension_numbers_perms(_strings(attrs, "dimension_numbers", 3), ndim)
