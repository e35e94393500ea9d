"""`localconv-simplify-patch-gather`: shrinks the patch gather to the fewest, cheapest ops.

Rewrites, each exact:
- windows that tile the input (stride == window, no window dilation): the strided slices and
  their concatenation become one reshape + transpose (a space-to-depth);
- a strided slice that never reads the padding of the `pad` it slices reads the pad's operand
  instead (also through interior padding when the stride is a multiple of it), so a pad whose
  padding is never read disappears;
- a pad of a pad with the same padding value becomes one pad;
- reshape chains collapse, identity reshapes and slices vanish, and a slice of a slice
  becomes one slice (so a 1x1 window with stride 1 leaves no gather at all).
None of these adds ops per spatial position: the op count stays independent of spatial size.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from localconv import irbuild

from . import constant_eval
from .pass_base import ModulePass, apply_patterns


@dataclasses.dataclass(frozen=True)
class SimplifyPatchGather(ModulePass):
    """Space-to-depth for tiling windows, slice-of-pad and pad-of-pad folding, reshape cleanup.

      %s0 = stablehlo.slice %x [0:8:2, 0:8:2, 0:4, 0:3]   ... %s3 = slice %x [1:8:2, 1:8:2, ...]
      %r0 = stablehlo.reshape %s0 : (...) -> tensor<4x4x4x3x1xf32>    ... %r3 = ...
      %c = stablehlo.concatenate %r0, %r1, %r2, %r3, dim = 4
    ==>
      %a = stablehlo.reshape %x : (tensor<8x8x4x3xf32>) -> tensor<4x2x4x2x4x3xf32>
      %b = stablehlo.transpose %a, dims = [0, 2, 4, 5, 1, 3]
      %c = stablehlo.reshape %b : (...) -> tensor<4x4x4x3x4xf32>

      %p = stablehlo.pad %x, %zero, low = [1, 0], high = [1, 0], interior = [0, 0]
      %s = stablehlo.slice %p [1:5, 0:3]
    ==>
      %s = stablehlo.slice %x [0:4, 0:3]
    """

    name = "localconv-simplify-patch-gather"
    summary = "Space-to-depth for tiling windows; fold pads into slices; collapse reshapes"

    def run(self, module: ir.Operation) -> None:
        apply_patterns(
            module,
            [
                (stablehlo.ConcatenateOp, _tiling_slices_to_space_to_depth),
                (stablehlo.SliceOp, _fold_slice),
                (stablehlo.PadOp, _merge_pads),
                (stablehlo.ReshapeOp, _fold_reshape),
            ],
        )


def _defining(value: ir.Value, name: str) -> ir.Operation | None:
    if isinstance(value, ir.OpResult) and value.owner.name == name:
        return value.owner
    return None


def _i64s(op: ir.Operation, name: str) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes[name]))


def _fold_reshape(op: ir.Operation, rewriter: object) -> bool:
    source = op.operands[0]
    inner = _defining(source, "stablehlo.reshape")
    if inner is not None:
        source = inner.operands[0]
    if source.type == op.results[0].type:
        rewriter.replace_op(op, [source])
        return False
    if inner is None:
        return True
    with rewriter.ip, op.location:
        result = irbuild.reshape(source, irbuild.shape_of(op.results[0]), loc=op.location)
    rewriter.replace_op(op, [result])
    return False


def _fold_slice(op: ir.Operation, rewriter: object) -> bool:
    start, limit, strides = (_i64s(op, a) for a in ("start_indices", "limit_indices", "strides"))
    out_shape = irbuild.shape_of(op.results[0])
    source = op.operands[0]
    if op.results[0].type == source.type:
        rewriter.replace_op(op, [source])
        return False
    if 0 in out_shape:
        return True
    last = [s + (n - 1) * t for s, n, t in zip(start, out_shape, strides, strict=True)]
    inner = _defining(source, "stablehlo.slice")
    if inner is not None:
        s0, t0 = _i64s(inner, "start_indices"), _i64s(inner, "strides")
        new_start = [a + b * t for a, b, t in zip(s0, start, t0, strict=True)]
        new_strides = [a * b for a, b in zip(t0, strides, strict=True)]
        new_last = [a + b * t for a, b, t in zip(s0, last, t0, strict=True)]
        return _replace_with_slice(op, rewriter, inner.operands[0], new_start, new_last, new_strides)
    pad = _defining(source, "stablehlo.pad")
    if pad is None:
        return True
    low, high, interior = (
        _i64s(pad, a) for a in ("edge_padding_low", "edge_padding_high", "interior_padding")
    )
    if min(low + high) < 0:
        return True
    sizes = irbuild.shape_of(pad.operands[0])
    new_start, new_last, new_strides = [], [], []
    for first, final, stride, lo, gap, size in zip(start, last, strides, low, interior, sizes, strict=True):
        step = gap + 1
        if (first - lo) % step or stride % step:
            return True
        a, b = (first - lo) // step, (final - lo) // step
        if a < 0 or b >= size:
            return True
        new_start.append(a)
        new_last.append(b)
        new_strides.append(stride // step)
    return _replace_with_slice(op, rewriter, pad.operands[0], new_start, new_last, new_strides)


def _replace_with_slice(
    op: ir.Operation,
    rewriter: object,
    source: ir.Value,
    start: list[int],
    last: list[int],
    strides: list[int],
) -> bool:
    with rewriter.ip, op.location:
        result = irbuild.slice_(source, start, [b + 1 for b in last], strides, loc=op.location)
    rewriter.replace_op(op, [result])
    return False


def _merge_pads(op: ir.Operation, rewriter: object) -> bool:
    inner = _defining(op.operands[0], "stablehlo.pad")
    if inner is None:
        return True
    low, high, interior = (
        _i64s(op, a) for a in ("edge_padding_low", "edge_padding_high", "interior_padding")
    )
    low0, high0, interior0 = (
        _i64s(inner, a) for a in ("edge_padding_low", "edge_padding_high", "interior_padding")
    )
    if any(interior) or min(low + high + low0 + high0) < 0:
        return True
    if op.operands[1] != inner.operands[1]:
        outer_value = constant_eval.evaluate(op.operands[1])
        inner_value = constant_eval.evaluate(inner.operands[1])
        if outer_value is None or inner_value is None or not np.array_equal(outer_value, inner_value):
            return True
    with rewriter.ip, op.location:
        result = irbuild.pad(
            inner.operands[0],
            inner.operands[1],
            [a + b for a, b in zip(low, low0, strict=True)],
            [a + b for a, b in zip(high, high0, strict=True)],
            interior0,
            loc=op.location,
        )
    rewriter.replace_op(op, [result])
    return False


def _tiling_slices_to_space_to_depth(op: ir.Operation, rewriter: object) -> bool:
    """Concat, over a new unit dim, of strided slices whose offsets tile each stride exactly."""
    dimension = ir.IntegerAttr(op.attributes["dimension"]).value
    out_shape = irbuild.shape_of(op.results[0])
    slices = []
    for value in op.operands:
        reshape = _defining(value, "stablehlo.reshape")
        piece = _defining(reshape.operands[0], "stablehlo.slice") if reshape else None
        if piece is None:
            return True
        piece_shape = list(irbuild.shape_of(piece.results[0]))
        if list(irbuild.shape_of(value)) != piece_shape[:dimension] + [1] + piece_shape[dimension:]:
            return True
        slices.append(piece)
    source = slices[0].operands[0]
    strides = _i64s(slices[0], "strides")
    extents = irbuild.shape_of(slices[0].results[0])
    if any(s.operands[0] != source or _i64s(s, "strides") != strides for s in slices):
        return True
    tiled = [d for d, t in enumerate(strides) if t > 1]
    if not tiled or len(slices) != math.prod(strides[d] for d in tiled):
        return True
    sizes = irbuild.shape_of(source)
    offsets = itertools.product(*(range(strides[d]) for d in tiled))
    for piece, offset in zip(slices, offsets, strict=True):
        expected = [0] * len(sizes)
        for d, k in zip(tiled, offset, strict=True):
            expected[d] = k
        if _i64s(piece, "start_indices") != expected:
            return True
    if any(extents[d] != sizes[d] for d in range(len(sizes)) if d not in tiled):
        return True
    if any(extents[d] * strides[d] > sizes[d] for d in tiled):
        return True
    with rewriter.ip, op.location:
        loc = op.location
        covered = irbuild.slice_(
            source,
            [0] * len(sizes),
            [extents[d] * strides[d] if d in tiled else sizes[d] for d in range(len(sizes))],
            [1] * len(sizes),
            loc=loc,
        )
        split, outer, inner = [], [], []
        for d, extent in enumerate(extents):
            outer.append(len(split))
            split.append(extent)
            if d in tiled:
                inner.append(len(split))
                split.append(strides[d])
        blocks = irbuild.reshape(covered, split, loc=loc)
        moved = irbuild.transpose(blocks, outer[:dimension] + inner + outer[dimension:], loc=loc)
        result = irbuild.reshape(moved, out_shape, loc=loc)
    rewriter.replace_op(op, [result])
    return False
