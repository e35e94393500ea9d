"""The `row_loop` contraction strategy: a while loop over rows of output positions.

Each trip gathers the patches of one row of positions (every position with one coordinate
along the outer spatial dim) as [row..., K, N] and contracts them with that row's slab of
rhs in one batched dot_general. With few output features the per-position matmuls are tiny:
batching a row of them, with the weights as the dot's left operand (the orientation XLA CPU
runs fastest for small O), cuts the loop's trips and overhead per position (b64 c8 7x7 O=8:
4-6 ms against 24 ms for a loop over positions). What the loop reads is laid out for it once
per call: the input transposed (not padded: the padding is a mask on the gather), rhs moved to
[rows, row..., matrix]; each row's product lands in the out-spec layout, or, when that would
move the minor dim, in [rows, product...] transposed once after the loop.
"""

from __future__ import annotations

import dataclasses

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild
from .contraction import (
    STRATEGY_ATTRIBUTE,
    counted_loop,
    emit_batched_dot,
    index_constant,
    out_tokens,
    to_out_layout,
)
from .patch_gather import emit_padded_input
from .spec import ConvSpec

# The weights go on the dot's left up to this many output features (measured).
ROW_LOOP_WEIGHTS_LEFT_MAX_O = 32


def emit_row_loop(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The convolution as a while loop over rows of output positions, one batched dot each.

    A row is every output position with one coordinate along the outer dim (the spatial dim
    that comes first in rhs's layout). Its patches are gathered from the input with
    iota-computed indices as [row..., C, window..., N] (padding is a mask on the gather) and
    contracted with the row's slab of rhs, which is moved once per call to [rows, row...,
    matrix]; temporaries stay one row in size.
    """
    n = spec.num_spatial
    if n == 0:
        return emit_batched_dot(spec, lhs, rhs, loc=loc)
    perms = spec.dimension_numbers
    dtype = spec.out_dtype
    patch = spec.patch_spec
    outer = row_loop_outer_dim(spec)
    inner = [i for i in range(n) if i != outer]
    # With plain padding the input is only transposed, and the gather's out-of-range indices
    # are masked to zero: XLA CPU fuses a pad into the transpose and runs it several times
    # slower (b256 c3 64x64: 8-11 ms against 2 ms for the transpose alone).
    masked = (
        all(d == 1 for d in patch.lhs_dilation)
        and all(lo >= 0 and hi >= 0 for lo, hi in patch.padding)
        and any(lo or hi for lo, hi in patch.padding)
    )
    low = [lo if masked else 0 for lo, _ in patch.padding]
    if masked:
        patch = dataclasses.replace(patch, padding=((0, 0),) * n)
    x = emit_padded_input(patch, lhs, (*range(n), "C", "N"), loc=loc)
    sizes = list(irbuild.shape_of(x))
    out_spatial = spec.out_spatial
    rows = out_spatial[outer]
    row_extents = [out_spatial[i] for i in inner]
    # Indices reach the padded extents (each side at most the padding beyond the input).
    padded = [s + lo + hi for s, (lo, hi) in zip(sizes[:n], spec.patch_spec.padding, strict=True)]
    index_dtype = "int32" if max(*sizes, *padded, rows, 1) < 2**31 else "int64"
    batch, features, k_size, out_features = spec.batch, spec.in_features, spec.patch_size, spec.out_features
    # Gather batch dims [row..., window...] around the offset dims C and N. Each spatial index
    # is position * stride + window offset * dilation - low padding; the outer position is the
    # loop's row, added in the loop.
    index_shape = [*row_extents, *spec.filter_shape]

    def splat(value: int | ir.Value) -> ir.Value:
        if isinstance(value, int):
            value = index_constant(value, index_dtype, loc=loc)
        return irbuild.broadcast(value, index_shape, [], loc=loc)

    static_index = []
    for d in range(n):
        index = irbuild.scaled_iota(index_shape, len(inner) + d, spec.rhs_dilation[d], index_dtype, loc=loc)
        if d != outer:
            position = irbuild.scaled_iota(
                index_shape, inner.index(d), spec.window_strides[d], index_dtype, loc=loc
            )
            index = stablehlo.AddOp(index, position, loc=loc).result
        if low[d]:
            index = stablehlo.AddOp(index, splat(-low[d]), loc=loc).result
        static_index.append(index)
    gather_dims = stablehlo.GatherDimensionNumbers.get(
        offset_dims=[len(inner), len(inner) + n + 1],
        collapsed_slice_dims=list(range(n)),
        operand_batching_dims=[],
        start_indices_batching_dims=[],
        start_index_map=list(range(n)),
        index_vector_dim=len(index_shape),
    )
    # The gather's result [row..., C, window..., N] gets the mask [row..., window...] as:
    mask_dims = [*range(len(inner)), *range(len(inner) + 1, len(inner) + n + 1)]

    def in_bounds(dims: list[int], index: list[ir.Value]) -> ir.Value | None:
        """Where the spatial indices along `dims` fall inside the (unpadded) input."""
        valid = None
        for d in dims:
            for bound, direction in ((0, "GE"), (sizes[d], "LT")):
                test = stablehlo.CompareOp(
                    index[d], splat(bound), stablehlo.ComparisonDirectionAttr.get(direction), loc=loc
                ).result
                valid = test if valid is None else stablehlo.AndOp(valid, test, loc=loc).result
        return valid

    inner_valid = in_bounds(inner, static_index) if masked else None

    def row_patches(x: ir.Value, r: ir.Value) -> ir.Value:
        """Row r's patches as [row..., K, N]."""
        start = stablehlo.MulOp(r, index_constant(spec.window_strides[outer], index_dtype, loc=loc), loc=loc)
        index = list(static_index)
        index[outer] = stablehlo.AddOp(index[outer], splat(start.result), loc=loc).result
        indices = irbuild.concatenate(
            [irbuild.reshape(i, [*index_shape, 1], loc=loc) for i in index], len(index_shape), loc=loc
        )
        patches = stablehlo.GatherOp(x, indices, gather_dims, [1] * n + [features, batch], loc=loc).result
        if masked:
            valid = in_bounds([outer], index)
            if inner_valid is not None:
                valid = stablehlo.AndOp(valid, inner_valid, loc=loc).result
            shape = irbuild.shape_of(patches)
            valid = irbuild.broadcast(valid, shape, mask_dims, loc=loc)
            zeros = irbuild.broadcast(irbuild.zero_scalar(patch.dtype, loc=loc), shape, [], loc=loc)
            patches = stablehlo.SelectOp(valid, patches, zeros, loc=loc).result
        return irbuild.reshape(patches, (*row_extents, k_size, batch), loc=loc)

    weights_left = row_loop_weights_left(spec)
    # rhs as [outer, inner..., O, I] (weights on the left) or [outer, inner..., I, O], in one
    # transpose per call (none for prepacked weights): each row's slab is then contiguous and
    # in the dot's order, where a slab cut from another layout was a strided copy per row.
    matrix = [perms.rhs[0], perms.rhs[1]] if weights_left else [perms.rhs[1], perms.rhs[0]]
    kernel = irbuild.transpose_grouped(rhs, [perms.rhs[2 + i] for i in (outer, *inner)] + matrix, loc=loc)
    kernel_sizes = [1, *irbuild.shape_of(kernel)[1:]]
    batching = list(range(len(inner)))
    dims = stablehlo.DotDimensionNumbers.get(
        lhs_batching_dimensions=batching,
        rhs_batching_dimensions=batching,
        lhs_contracting_dimensions=[len(inner) + 1 if weights_left else len(inner)],
        rhs_contracting_dimensions=[len(inner)],
    )
    product_dims = [*inner, "O", "N"] if weights_left else [*inner, "N", "O"]
    extent_of = {"O": out_features, "N": batch}
    product_shape = [*row_extents, *(extent_of[t] for t in product_dims[len(inner) :])]
    out_order = out_tokens(spec)
    # Rows go straight into the out-spec layout when that keeps the product's minor dim minor
    # (a cheap copy); otherwise into [rows, product...], transposed once after the loop: a
    # per-row transpose that changes the minor dim ran at ~2 GB/s (b256 c3 5x5 s2: 8.7 ms).
    in_place = out_order[-1] == product_dims[-1]
    if in_place:
        row_order = [product_dims.index(t) for t in out_order if t != outer]
        update_shape = [1 if t == outer else d for t, d in zip(out_order, spec.out_shape, strict=True)]
        rows_shape = spec.out_shape
    else:
        rows_shape, update_shape = [rows, *product_shape], [1, *product_shape]
    out = irbuild.broadcast(irbuild.zero_scalar(dtype, loc=loc), rows_shape, [], loc=loc)

    def body(r, values):
        out, x, kernel = values
        zero = index_constant(0, index_dtype, loc=loc)
        patches = row_patches(x, r)
        weights = stablehlo.DynamicSliceOp(kernel, [r] + [zero] * (n + 1), kernel_sizes, loc=loc).result
        weights = irbuild.convert(irbuild.reshape(weights, kernel_sizes[1:], loc=loc), dtype, loc=loc)
        operands = (weights, patches) if weights_left else (patches, weights)
        precision = tuple(reversed(spec.precision)) if weights_left else spec.precision
        product = stablehlo.DotGeneralOp(
            irbuild.tensor_type(product_shape, dtype),
            *operands,
            dims,
            precision_config=irbuild.precision_config(precision),
            loc=loc,
        ).result
        if in_place:
            update = irbuild.reshape(irbuild.transpose(product, row_order, loc=loc), update_shape, loc=loc)
            starts = [r if t == outer else zero for t in out_order]
        else:
            update = irbuild.reshape(product, update_shape, loc=loc)
            starts = [r] + [zero] * len(product_shape)
        out = stablehlo.DynamicUpdateSliceOp(out, update, starts, loc=loc).result
        return [out, x, kernel]

    if rows and batch and 0 not in row_extents:
        loop, (out, _, _) = counted_loop(rows, [out, x, kernel], body, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("row_loop")
    if not in_place:
        rows_tokens = [outer, *product_dims]
        out = to_out_layout(spec, out, rows_tokens, loc=loc)
    return out


def row_loop_outer_dim(spec: ConvSpec) -> int:
    """The spatial dim `row_loop` loops over: the one that comes first in rhs's layout."""
    return min(range(spec.num_spatial), key=lambda i: spec.dimension_numbers.rhs[2 + i])


def row_loop_weights_left(spec: ConvSpec) -> bool:
    """Whether `row_loop` puts the weights on the dot's left ([O, K] x [K, N]).

    For few output features; otherwise the patches go on the left ([N, K] x [K, O]). Measured:
    each orientation is up to 2x faster than the other where it is chosen.
    """
    return spec.out_features <= ROW_LOOP_WEIGHTS_LEFT_MAX_O
