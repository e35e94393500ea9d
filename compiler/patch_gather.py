"""The patch gather: every receptive window of lhs, flattened, built from pads and slices.

lhs is transposed to a chosen layout of (N, C, spatial...) dims, padded (interior padding for
lhs_dilation, edge padding for the non-negative part of `padding`), cropped where padding is
negative, and sliced once per receptive-window offset with the window strides. The slices are
stacked right after C and merged with it, so the patch feature dim K = C * prod(filter_shape)
is C-major then window offsets in spatial order: exactly the order of rhs's `I` dimension.
No op count depends on spatial extents.
"""

from __future__ import annotations

import itertools
import math

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild, shapes
from .spec import PatchSpec

Layout = tuple  # of "N", "C" and spatial indices 0..n-1, in result dim order


def spatial_major(n: int) -> Layout:
    """[out spatial..., N, K]: the batching-dims-first layout a batched dot_general wants."""
    return (*range(n), "N", "C")


def patch_shape(patch: PatchSpec, layout: Layout) -> tuple[int, ...]:
    """The shape of the patches `emit_patches` builds in `layout`."""
    extents = {"N": patch.batch, "C": patch.patch_size}
    extents.update(enumerate(patch.out_spatial))
    return tuple(extents[token] for token in layout)


def emit_padded_input(
    patch: PatchSpec, lhs: ir.Value, layout: Layout, batch: int | None = None, *, loc: ir.Location
) -> ir.Value:
    """lhs in `layout`, in `patch.dtype`, dilated and padded: what every window reads from.

    With `batch`, the batch dim is also zero-padded at its end up to that size.
    """
    n = len(patch.filter_shape)
    position = {"N": patch.lhs_perm[0], "C": patch.lhs_perm[1]}
    position.update({i: patch.lhs_perm[2 + i] for i in range(n)})
    x = irbuild.convert(lhs, patch.dtype, loc=loc)
    x = irbuild.transpose(x, [position[token] for token in layout], loc=loc)

    def per_dim(spatial_value, other_value):
        return [spatial_value(t) if isinstance(t, int) else other_value for t in layout]

    low = per_dim(lambda i: max(patch.padding[i][0], 0), 0)
    high = per_dim(lambda i: max(patch.padding[i][1], 0), 0)
    if batch is not None:
        high[layout.index("N")] = batch - patch.batch
    interior = per_dim(lambda i: patch.lhs_dilation[i] - 1, 0)
    if any(low) or any(high) or any(interior):
        zero = irbuild.zero_scalar(patch.dtype, loc=loc)
        x = irbuild.pad(x, zero, low, high, interior, loc=loc)
    padded = irbuild.shape_of(x)
    cut_low = per_dim(lambda i: max(-patch.padding[i][0], 0), 0)
    cut_high = per_dim(lambda i: max(-patch.padding[i][1], 0), 0)
    return irbuild.slice_(
        x, cut_low, [s - c for s, c in zip(padded, cut_high, strict=True)], [1] * len(layout), loc=loc
    )


def emit_stride_phases(value: ir.Value, strides: list[int], *, loc: ir.Location) -> ir.Value:
    """`value` [d0, d1, ...] split into phases [s0, s1, ..., ceil(d0 / s0), ...] by `strides`.

    Element i of dim k moves to phase i % s_k, index i // s_k (the tail is zero-padded to a
    whole number of strides), so a slice with stride s_k starting at o reads phase o % s_k
    from o // s_k on with unit stride.
    """
    shape = irbuild.shape_of(value)
    rank = len(shape)
    counts = [-(-extent // stride) for extent, stride in zip(shape, strides, strict=True)]
    high = [c * stride - extent for c, stride, extent in zip(counts, strides, shape, strict=True)]
    zero = irbuild.zero_scalar(irbuild.dtype_name(ir.RankedTensorType(value.type).element_type), loc=loc)
    padded = irbuild.pad(value, zero, [0] * rank, high, [0] * rank, loc=loc)
    pairs = [d for count, stride in zip(counts, strides, strict=True) for d in (count, stride)]
    split = irbuild.reshape(padded, pairs, loc=loc)
    return irbuild.transpose(split, [2 * k + 1 for k in range(rank)] + [2 * k for k in range(rank)], loc=loc)


def emit_patches(
    patch: PatchSpec, lhs: ir.Value, layout: Layout | None = None, *, loc: ir.Location
) -> ir.Value:
    """Patches of `lhs` in `layout` (default: spatial-major), in `patch.dtype`."""
    layout = spatial_major(len(patch.filter_shape)) if layout is None else layout
    x = emit_padded_input(patch, lhs, layout, loc=loc)
    sizes = irbuild.shape_of(x)
    out_spatial = patch.out_spatial
    column_shape = [out_spatial[t] if isinstance(t, int) else sizes[d] for d, t in enumerate(layout)]
    stack_dim = layout.index("C") + 1
    columns = []
    for offsets in itertools.product(*(range(k) for k in patch.filter_shape)):
        start, limit, strides = [], [], []
        for d, token in enumerate(layout):
            if not isinstance(token, int):
                start.append(0)
                limit.append(sizes[d])
                strides.append(1)
                continue
            extent, stride = out_spatial[token], patch.window_strides[token]
            first = offsets[token] * patch.rhs_dilation[token] if extent else 0
            start.append(first)
            limit.append(first + (extent - 1) * stride + 1 if extent else 0)
            strides.append(stride)
        column = irbuild.slice_(x, start, limit, strides, loc=loc)
        unit = column_shape[:stack_dim] + [1] + column_shape[stack_dim:]
        columns.append(irbuild.reshape(column, unit, loc=loc))
    stacked = irbuild.concatenate(columns, stack_dim, loc=loc)
    return irbuild.reshape(stacked, patch_shape(patch, layout), loc=loc)


def emit_patches_transpose(patch: PatchSpec, grad: ir.Value, lhs_dtype: str, *, loc: ir.Location) -> ir.Value:
    """The transpose of the spatial-major patch gather: patch gradients summed back onto lhs.

    Each window offset's gradient column is padded back to where its strided slice read
    (interior padding stride - 1), the columns are added, the negative-padding crop is undone
    with zeros, and a strided slice drops the edge padding and the lhs_dilation holes.
    """
    n = len(patch.filter_shape)
    batch, features, window = patch.batch, patch.in_features, math.prod(patch.filter_shape)
    out_spatial = patch.out_spatial
    zero = irbuild.zero_scalar(patch.dtype, loc=loc)
    dilated = [
        shapes.dilated_extent(d, ld) for d, ld in zip(patch.in_spatial, patch.lhs_dilation, strict=True)
    ]
    padded = [d + max(lo, 0) + max(hi, 0) for d, (lo, hi) in zip(dilated, patch.padding, strict=True)]
    cropped = [p - max(-lo, 0) - max(-hi, 0) for p, (lo, hi) in zip(padded, patch.padding, strict=True)]
    columns = irbuild.reshape(grad, (*out_spatial, batch, features, window), loc=loc)
    total = None
    for index, offsets in enumerate(itertools.product(*(range(k) for k in patch.filter_shape))):
        column = irbuild.slice_(
            columns,
            [0] * (n + 2) + [index],
            [*out_spatial, batch, features, index + 1],
            [1] * (n + 3),
            loc=loc,
        )
        column = irbuild.reshape(column, (*out_spatial, batch, features), loc=loc)
        low, high = [], []
        for i in range(n):
            extent, stride = out_spatial[i], patch.window_strides[i]
            first = offsets[i] * patch.rhs_dilation[i] if extent else 0
            low.append(first)
            high.append(cropped[i] - (first + (extent - 1) * stride + 1) if extent else cropped[i])
        interior = [s - 1 if e else 0 for s, e in zip(patch.window_strides, out_spatial, strict=True)]
        placed = irbuild.pad(column, zero, low + [0, 0], high + [0, 0], interior + [0, 0], loc=loc)
        total = placed if total is None else stablehlo.AddOp(total, placed, loc=loc).result
    uncropped = irbuild.pad(
        total,
        zero,
        [max(-lo, 0) for lo, _ in patch.padding] + [0, 0],
        [max(-hi, 0) for _, hi in patch.padding] + [0, 0],
        [0] * (n + 2),
        loc=loc,
    )
    start = [max(lo, 0) for lo, _ in patch.padding]
    limit = [s + d for s, d in zip(start, dilated, strict=True)]
    undilated = irbuild.slice_(
        uncropped,
        start + [0, 0],
        limit + [batch, features],
        list(patch.lhs_dilation) + [1, 1],
        loc=loc,
    )
    layout = spatial_major(n)
    position = {"N": patch.lhs_perm[0], "C": patch.lhs_perm[1]}
    position.update({i: patch.lhs_perm[2 + i] for i in range(n)})
    source = [layout.index(next(t for t in layout if position[t] == p)) for p in range(n + 2)]
    return irbuild.convert(irbuild.transpose(undilated, source, loc=loc), lhs_dtype, loc=loc)
