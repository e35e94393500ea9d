"""Contraction strategies: how patches and the unshared kernel are multiplied and summed.

- `batched_dot`: one `dot_general` over spatial-major patches [S..., N, K] with the output
  spatial dims as batching dims, then a transpose to the out-spec layout. XLA runs it at
  matmul speed when rhs's spatial dims are its major dims (e.g. HWIO); otherwise XLA
  transposes the whole rhs on every call.
- `accumulate_loop`: a `stablehlo.while` over the contraction index k that multiplies patch
  row k [N, S...] by rhs slice k, taken in rhs's own layout (so rhs is never transposed), and
  adds it into an accumulator [N, rhs dims without I...]; the body is unrolled `unroll` times
  and the remainder is peeled after the loop. f16/bf16 accumulate in f32. Patch row k is a
  strided window of the padded input cut inside the loop (no patch tensor), except when the
  windows tile the input, where the patches are a cheap space-to-depth built once.
- `position_loop`: a `stablehlo.while` over output positions; each iteration cuts its window
  out of the padded input and does one [N, K] x [K, O] dot with that position's rhs slice.
  Plain matmuls run near XLA's sgemm rate and no large temporary is created, which wins for
  large batches with many output features.
- `row_loop`: a `stablehlo.while` over the outermost (in rhs's layout) output spatial dim;
  each iteration gathers the patches of that row of positions as [row..., K, N] and does one
  batched dot_general with that row's rhs slab on the left, giving [row..., O, N]. With few
  output features the per-position matmuls are tiny: batching a row of them, with the weights
  as the dot's left operand (the orientation XLA CPU runs fastest for small O), cuts the
  loop's trips and overhead per position (b64 c8 7x7 O=8: 4-6 ms against 24 ms). The rows
  land in the out-spec layout in the loop, or, when that would move the minor dim, in
  [rows, product...] transposed once after the loop.
"""

from __future__ import annotations

import dataclasses
import math

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild
from .patch_gather import emit_padded_input, emit_patches, feature_major, spatial_major
from .spec import ConvSpec

STRATEGIES = ("batched_dot", "accumulate_loop", "position_loop", "row_loop")
# Names the strategy on the op that contracts (and on composites, as the one to lower with).
STRATEGY_ATTRIBUTE = "localconv.strategy"
# accumulate_loop's unroll: 8 updates per trip, 4 once the accumulator is large. Each update
# streams one rhs slice and one input window through the fused body; with a large accumulator
# those streams come from memory, and 4 of them ran 8-22% faster than 8 (b8 c32 32x32 3x3,
# b32 1D, pointwise, b16 tiles), while small accumulators stay in cache and gain from fewer
# trips (b8 c16 7x7 s2: 8 is 11% faster; b2 3D: 20%).
DEFAULT_UNROLL = 8
LARGE_ACCUMULATOR_UNROLL = 4
LARGE_ACCUMULATOR = 2**18  # elements
# accumulate_loop puts N just before a minor O from this batch size on (measured, see
# `accumulator_order`).
BATCH_BEFORE_MINOR_O_MIN = 8
# row_loop puts the weights on the dot's left up to this many output features (measured).
ROW_LOOP_WEIGHTS_LEFT_MAX_O = 32


def emit_batched_dot(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The convolution as patch gather + one batched dot_general + a transpose."""
    perms = spec.dimension_numbers
    n = spec.num_spatial
    dtype = spec.out_dtype
    patches = emit_patches(spec.patch_spec, lhs, loc=loc)
    rhs = irbuild.convert(rhs, dtype, loc=loc)
    dims = stablehlo.DotDimensionNumbers.get(
        lhs_batching_dimensions=list(range(n)),
        rhs_batching_dimensions=list(perms.rhs[2:]),
        lhs_contracting_dimensions=[n + 1],
        rhs_contracting_dimensions=[perms.rhs[1]],
    )
    result_type = irbuild.tensor_type((*spec.out_spatial, spec.batch, spec.out_features), dtype)
    dot = stablehlo.DotGeneralOp(
        result_type,
        patches,
        rhs,
        dims,
        precision_config=irbuild.precision_config(spec.precision),
        loc=loc,
    )
    dot.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("batched_dot")
    return _to_out_layout(spec, dot.result, loc=loc)


def emit_accumulate_loop(
    spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, unroll: int | None = None, *, loc: ir.Location
) -> ir.Value:
    """The convolution as a while loop of rank-1 updates over the contraction index.

    `unroll` updates run per trip (default: by the accumulator's size, see DEFAULT_UNROLL).
    """
    perms = spec.dimension_numbers
    n = spec.num_spatial
    # rhs dims other than I, in rhs's own order: "O" or a spatial index.
    tokens = ["O" if p == perms.rhs[0] else perms.rhs[2:].index(p) for p in range(n + 2) if p != perms.rhs[1]]
    spatial_order = [t for t in tokens if t != "O"]
    extents = [spec.out_features if t == "O" else spec.out_spatial[t] for t in tokens]
    acc_dtype = "float32" if spec.out_dtype in ("float16", "bfloat16") else spec.out_dtype
    acc_tokens = accumulator_order(tokens, spec.batch)
    extent_of = dict(zip(tokens, extents, strict=True)) | {"N": spec.batch}
    acc_shape = [extent_of[t] for t in acc_tokens]
    total = spec.patch_size
    if unroll is None:
        large = math.prod(acc_shape) >= LARGE_ACCUMULATOR
        unroll = LARGE_ACCUMULATOR_UNROLL if large else DEFAULT_UNROLL
    unroll = max(1, min(unroll, total))
    row_shape = [spec.batch, *spec.out_spatial_in(spatial_order)]
    tiled = windows_tile(spec)
    if tiled:
        # The patches are a reshape + transpose of the input (space-to-depth, see
        # localconv-simplify-patch-gather): build them once and read row k.
        source = emit_patches(spec.patch_spec, lhs, feature_major(spatial_order), loc=loc)
    else:
        source = emit_padded_input(spec.patch_spec, lhs, ("C", "N", *spatial_order), loc=loc)
    index_dtype = "int32" if max(total, *irbuild.shape_of(source)) < 2**31 else "int64"
    # Each window offset's slice of the input reads (out - 1) * stride + 1 elements per dim.
    reach = [
        (e - 1) * spec.window_strides[t] + 1 if e else 0
        for t, e in zip(spatial_order, row_shape[1:], strict=True)
    ]

    def patch_row(source: ir.Value, k: ir.Value) -> ir.Value:
        """Row k of the patches [N, out spatial in spatial_order]."""
        zero = _index_constant(0, index_dtype, loc=loc)
        if tiled:
            row = stablehlo.DynamicSliceOp(source, [k] + [zero] * (n + 1), [1, *row_shape], loc=loc).result
            return irbuild.reshape(row, row_shape, loc=loc)
        # Row k = (c, window offset) is a strided window of the padded input, cut in the loop,
        # so no patch tensor is materialized (1.1-1.5x faster on the benchmark's layers).
        rest, offsets = k, {}
        for i in reversed(range(n)):
            size = _index_constant(spec.filter_shape[i], index_dtype, loc=loc)
            scale = _index_constant(spec.rhs_dilation[i], index_dtype, loc=loc)
            offsets[i] = stablehlo.MulOp(stablehlo.RemOp(rest, size, loc=loc), scale, loc=loc).result
            rest = stablehlo.DivOp(rest, size, loc=loc).result
        starts = [rest, zero, *(offsets[t] for t in spatial_order)]
        window = stablehlo.DynamicSliceOp(source, starts, [1, spec.batch, *reach], loc=loc).result
        strides = [1, 1, *(spec.window_strides[t] for t in spatial_order)]
        row = irbuild.slice_(window, [0] * (n + 2), [1, spec.batch, *reach], strides, loc=loc)
        return irbuild.reshape(row, row_shape, loc=loc)

    def update(acc: ir.Value, source: ir.Value, kernel: ir.Value, k: ir.Value) -> ir.Value:
        zero = _index_constant(0, index_dtype, loc=loc)
        row = patch_row(source, k)
        row = irbuild.convert(row, acc_dtype, loc=loc)
        row = irbuild.broadcast(row, acc_shape, [acc_tokens.index(t) for t in ("N", *spatial_order)], loc=loc)
        starts = [k if p == perms.rhs[1] else zero for p in range(n + 2)]
        sizes = [1 if p == perms.rhs[1] else d for p, d in enumerate(spec.rhs_shape)]
        column = stablehlo.DynamicSliceOp(kernel, starts, sizes, loc=loc).result
        column = irbuild.convert(irbuild.reshape(column, extents, loc=loc), acc_dtype, loc=loc)
        column = irbuild.broadcast(column, acc_shape, [acc_tokens.index(t) for t in tokens], loc=loc)
        product = stablehlo.MulOp(row, column, loc=loc).result
        return stablehlo.AddOp(acc, product, loc=loc).result

    acc = irbuild.broadcast(irbuild.zero_scalar(acc_dtype, loc=loc), acc_shape, [], loc=loc)
    trips = total // unroll

    def unrolled(i, values):
        acc, source, rhs = values
        base = stablehlo.MulOp(i, _index_constant(unroll, index_dtype, loc=loc), loc=loc).result
        for j in range(unroll):
            k = (
                base
                if j == 0
                else stablehlo.AddOp(base, _index_constant(j, index_dtype, loc=loc), loc=loc).result
            )
            acc = update(acc, source, rhs, k)
        return [acc, source, rhs]

    if trips:
        loop, (acc, _, _) = _counted_loop(trips, [acc, source, rhs], unrolled, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("accumulate_loop")
    for k in range(trips * unroll, total):
        acc = update(acc, source, rhs, _index_constant(k, index_dtype, loc=loc))
    acc = irbuild.convert(acc, spec.out_dtype, loc=loc)
    source_of = {perms.out[0]: acc_tokens.index("N"), perms.out[1]: acc_tokens.index("O")}
    source_of.update({perms.out[2 + i]: acc_tokens.index(i) for i in range(n)})
    return irbuild.transpose(acc, [source_of[p] for p in range(n + 2)], loc=loc)


def accumulator_order(rhs_tokens: list, batch: int) -> list:
    """accumulate_loop's accumulator dims: rhs's dims without I ("O" or a spatial index), + "N".

    N goes right after O, or right before it when O is rhs's minor dim, so that the fused
    update walks the batch while one rhs slice is in cache (b8 3x3 OIHW 5.9 -> 5.0 ms;
    prepacked [I, HW, O]: 7.1 -> 3.8 ms; b8 1x1 c256 14.8 -> 10.4 ms). Before a minor O, a
    batch under `BATCH_BEFORE_MINOR_O_MIN` makes the next-to-minor loop too short to pay (b2
    3D: 2.5 -> 4.1 ms), so N stays first there.
    """
    at = rhs_tokens.index("O") + 1
    if at == len(rhs_tokens):
        at = at - 1 if batch >= BATCH_BEFORE_MINOR_O_MIN else 0
    return [*rhs_tokens[:at], "N", *rhs_tokens[at:]]


def emit_position_loop(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The convolution as a while loop over output positions, one [N, K] x [K, O] dot each.

    Each iteration cuts its receptive window out of the padded input, flattens it to one
    patch row per batch element and multiplies it with that position's rhs slice, so no
    patch tensor and no rhs copy is ever materialized: temporaries stay small.
    """
    perms = spec.dimension_numbers
    n = spec.num_spatial
    dtype = spec.out_dtype
    patch = spec.patch_spec
    x = emit_padded_input(patch, lhs, spatial_major(n), loc=loc)
    out_spatial = spec.out_spatial
    positions = math.prod(out_spatial)
    index_dtype = "int32" if max(positions, *irbuild.shape_of(x), 1) < 2**31 else "int64"
    extents = [(k - 1) * d + 1 for k, d in zip(spec.filter_shape, spec.rhs_dilation, strict=True)]
    batch, features, k_size = spec.batch, spec.in_features, spec.patch_size
    rhs_sizes = [1 if p in perms.rhs[2:] else d for p, d in enumerate(spec.rhs_shape)]
    kernel_dims = [d for p, d in enumerate(spec.rhs_shape) if p not in perms.rhs[2:]]
    i_first = perms.rhs[1] < perms.rhs[0]
    dims = stablehlo.DotDimensionNumbers.get(
        lhs_batching_dimensions=[],
        rhs_batching_dimensions=[],
        lhs_contracting_dimensions=[1],
        rhs_contracting_dimensions=[0 if i_first else 1],
    )
    out = irbuild.broadcast(
        irbuild.zero_scalar(dtype, loc=loc), (*out_spatial, batch, spec.out_features), [], loc=loc
    )

    def body(s, values):
        out, x, kernel = values
        zero = _index_constant(0, index_dtype, loc=loc)
        coords, rest = [], s
        for extent in reversed(out_spatial):
            size = _index_constant(extent, index_dtype, loc=loc)
            coords.append(stablehlo.RemOp(rest, size, loc=loc).result)
            rest = stablehlo.DivOp(rest, size, loc=loc).result
        coords.reverse()
        starts = [
            stablehlo.MulOp(c, _index_constant(stride, index_dtype, loc=loc), loc=loc).result
            for c, stride in zip(coords, spec.window_strides, strict=True)
        ]
        window = stablehlo.DynamicSliceOp(
            x, [*starts, zero, zero], [*extents, batch, features], loc=loc
        ).result
        window = irbuild.slice_(
            window, [0] * (n + 2), [*extents, batch, features], [*spec.rhs_dilation, 1, 1], loc=loc
        )
        row = irbuild.transpose(window, [n, n + 1, *range(n)], loc=loc)
        row = irbuild.reshape(row, (batch, k_size), loc=loc)
        position_of = dict(zip(perms.rhs[2:], coords, strict=True))
        kernel_starts = [position_of.get(p, zero) for p in range(n + 2)]
        weights = stablehlo.DynamicSliceOp(kernel, kernel_starts, rhs_sizes, loc=loc).result
        weights = irbuild.convert(irbuild.reshape(weights, kernel_dims, loc=loc), dtype, loc=loc)
        product = stablehlo.DotGeneralOp(
            irbuild.tensor_type((batch, spec.out_features), dtype),
            row,
            weights,
            dims,
            precision_config=irbuild.precision_config(spec.precision),
            loc=loc,
        ).result
        update = irbuild.reshape(product, (*[1] * n, batch, spec.out_features), loc=loc)
        out = stablehlo.DynamicUpdateSliceOp(out, update, [*coords, zero, zero], loc=loc).result
        return [out, x, kernel]

    if positions and batch:
        loop, (out, _, _) = _counted_loop(positions, [out, x, rhs], body, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("position_loop")
    return _to_out_layout(spec, out, loc=loc)


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
            value = _index_constant(value, index_dtype, loc=loc)
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
        start = stablehlo.MulOp(r, _index_constant(spec.window_strides[outer], index_dtype, loc=loc), loc=loc)
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
    out_tokens = [
        "N" if p == perms.out[0] else "O" if p == perms.out[1] else perms.out[2:].index(p)
        for p in range(n + 2)
    ]
    # Rows go straight into the out-spec layout when that keeps the product's minor dim minor
    # (a cheap copy); otherwise into [rows, product...], transposed once after the loop: a
    # per-row transpose that changes the minor dim ran at ~2 GB/s (b256 c3 5x5 s2: 8.7 ms).
    in_place = out_tokens[-1] == product_dims[-1]
    if in_place:
        row_order = [product_dims.index(t) for t in out_tokens if t != outer]
        update_shape = [1 if t == outer else d for t, d in zip(out_tokens, spec.out_shape, strict=True)]
        rows_shape = spec.out_shape
    else:
        rows_shape, update_shape = [rows, *product_shape], [1, *product_shape]
    out = irbuild.broadcast(irbuild.zero_scalar(dtype, loc=loc), rows_shape, [], loc=loc)

    def body(r, values):
        out, x, kernel = values
        zero = _index_constant(0, index_dtype, loc=loc)
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
            starts = [r if t == outer else zero for t in out_tokens]
        else:
            update = irbuild.reshape(product, update_shape, loc=loc)
            starts = [r] + [zero] * len(product_shape)
        out = stablehlo.DynamicUpdateSliceOp(out, update, starts, loc=loc).result
        return [out, x, kernel]

    if rows and batch and 0 not in row_extents:
        loop, (out, _, _) = _counted_loop(rows, [out, x, kernel], body, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("row_loop")
    if not in_place:
        rows_tokens = [outer, *product_dims]
        out = irbuild.transpose(out, [rows_tokens.index(t) for t in out_tokens], loc=loc)
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


def windows_tile(spec: ConvSpec) -> bool:
    """Whether the receptive windows tile the input: stride == window, no window dilation."""
    return (
        any(k > 1 for k in spec.filter_shape)
        and tuple(spec.window_strides) == tuple(spec.filter_shape)
        and all(d == 1 for d in spec.rhs_dilation)
    )


def _to_out_layout(spec: ConvSpec, value: ir.Value, *, loc: ir.Location) -> ir.Value:
    """[out spatial..., N, O] transposed to the out-spec layout."""
    perms = spec.dimension_numbers
    n = spec.num_spatial
    source_of = {perms.out[0]: n, perms.out[1]: n + 1}
    source_of.update({perms.out[2 + i]: i for i in range(n)})
    return irbuild.transpose(value, [source_of[p] for p in range(n + 2)], loc=loc)


def _counted_loop(trips, carried, body, index_dtype, *, loc):
    """`carried = body(i, carried)` for i in [0, trips) as a stablehlo.while; the new carried."""
    carried = [_index_constant(0, index_dtype, loc=loc), *carried]
    types = [v.type for v in carried]
    loop = stablehlo.WhileOp(types, carried, loc=loc)
    cond = loop.cond.blocks.append(*types, arg_locs=[loc] * len(types))
    with ir.InsertionPoint(cond):
        limit = _index_constant(trips, index_dtype, loc=loc)
        direction = stablehlo.ComparisonDirectionAttr.get("LT")
        more = stablehlo.CompareOp(cond.arguments[0], limit, direction, loc=loc).result
        stablehlo.ReturnOp([more], loc=loc)
    block = loop.body.blocks.append(*types, arg_locs=[loc] * len(types))
    with ir.InsertionPoint(block):
        i, *values = block.arguments
        values = body(i, values)
        following = stablehlo.AddOp(i, _index_constant(1, index_dtype, loc=loc), loc=loc).result
        stablehlo.ReturnOp([following, *values], loc=loc)
    return loop, list(loop.results[1:])


def _index_constant(value: int, dtype: str, *, loc: ir.Location) -> ir.Value:
    return irbuild.scalar_constant(value, dtype, loc=loc)
