"""Contraction strategies: how patches and the unshared kernel are multiplied and summed.

- `batched_dot`: one `dot_general` over spatial-major patches [S..., N, K] with the output
  spatial dims as batching dims, then a transpose to the out-spec layout. XLA runs it at
  matmul speed when rhs's spatial dims are its major dims (e.g. HWIO); otherwise XLA
  transposes the whole rhs on every call.
- `accumulate_loop`: a `stablehlo.while` over the contraction index k that multiplies patch
  row k [N, S...] by rhs slice k, taken in rhs's own layout (rhs is not transposed), and
  adds it into an accumulator of rhs's dims without I, plus N where the batch reuses rhs
  from L1 (`accumulator_order`). The fused update runs its vectors along rhs's minor dim (O
  or a spatial dim) or, where the batch is whole vectors and output rows along space make
  poor vectors or a trip makes 5-8 updates per channel, along N (`batch_vectors`): the input is then
  laid out N-minor, and each rhs element is broadcast across the batch; with a batch of one
  vector, strided rows are read from the input split into stride phases (`stride_phases`).
  The one exception: for a large batch and a small rhs it transposes rhs to [I, spatial...,
  O] in the call and runs its vectors along O (`transposes_rhs`).
  A trip covers a group of window offsets (`window_group`), for one channel or two
  (`trip_channels`), or `unroll` consecutive rows (`loop_trip`), the remainder peeled after
  the loop.
  f16/bf16 accumulate in f32. Patch row k is a strided window of the padded input cut inside
  the loop (no patch tensor), except when the windows tile the input and the update
  vectorizes along a spatial dim, where the patches are a cheap space-to-depth built once.
  The layout rules named here are pure functions of the spec, in `accumulate_layout`.
- `position_loop`: a `stablehlo.while` over output positions; each iteration cuts its window
  out of the padded input and does one [N, K] x [K, O] dot with that position's rhs slice.
  Plain matmuls run near XLA's sgemm rate and no large temporary is created, which wins for
  large batches with many output features.
- `row_loop`: a loop over rows of output positions, one batched dot each (`row_loop.py`).
- `multiply_reduce`: patches times rhs, summed over I by one reduce, which XLA GPU fuses with
  the patch gather into one kernel (`multiply_reduce.py`).
"""

from __future__ import annotations

import math

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild
from .accumulate_layout import (
    accumulate_loop_builds_patches,
    accumulate_loop_packed_order,
    accumulate_loop_vector_dim,
    accumulator_dtype,
    accumulator_order,
    loop_spec,
    loop_trip,
    loop_trips,
    rhs_tokens,
    row_strides,
    stride_phases,
    trip_channels,
    trip_rows,
    vector_batch,
)
from .patch_gather import emit_padded_input, emit_patches, emit_stride_phases, spatial_major
from .spec import ConvSpec

STRATEGIES = ("batched_dot", "accumulate_loop", "position_loop", "row_loop", "multiply_reduce")
# Names the strategy on the op that contracts (and on composites, as the one to lower with).
STRATEGY_ATTRIBUTE = "localconv.strategy"


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
    return to_out_layout(spec, dot.result, (*range(n), "N", "O"), loc=loc)


def emit_accumulate_loop(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The convolution as a while loop of rank-1 updates over the contraction index.

    Each trip makes the updates `loop_trip` gives (the trip that `batch_vectors` judges) for
    each of `trip_channels` channels.
    Where `transposes_rhs`, rhs is first transposed to its packed layout, once per call.
    """
    looped = loop_spec(spec)
    if looped is not spec:
        rhs = irbuild.transpose(rhs, accumulate_loop_packed_order(spec), loc=loc)
        spec = looped
    perms = spec.dimension_numbers
    n = spec.num_spatial
    tokens = rhs_tokens(spec)
    spatial_order = [t for t in tokens if t != "O"]
    extents = [spec.out_features if t == "O" else spec.out_spatial[t] for t in tokens]
    acc_dtype = accumulator_dtype(spec)
    total = spec.patch_size
    # With vectors along the batch, N goes last in the patch rows and the accumulator, and the
    # batch is zero-padded up to whole vectors.
    batch_minor = accumulate_loop_vector_dim(spec) == "N"
    row_tokens = (*spatial_order, "N") if batch_minor else ("N", *spatial_order)
    batch = vector_batch(spec) if batch_minor else spec.batch
    row_shape = [batch if t == "N" else spec.out_spatial[t] for t in row_tokens]
    tiled = accumulate_loop_builds_patches(spec)
    if tiled:
        source = emit_patches(spec.patch_spec, lhs, ("C", *row_tokens), loc=loc)
    else:
        source = emit_padded_input(spec.patch_spec, lhs, ("C", *row_tokens), batch, loc=loc)
    # The window strides along the source's dims; with `stride_phases` the source is split
    # into phases along them, so that every patch row is a unit-stride slice.
    strides = row_strides(spec)
    source_strides = [1, *(1 if t == "N" else strides[t] for t in row_tokens)]
    phases = stride_phases(spec)
    if phases:
        source = emit_stride_phases(source, source_strides, loc=loc)
    index_dtype = "int32" if max(total, *irbuild.shape_of(source)) < 2**31 else "int64"
    # Each window offset's slice of the input reads (out - 1) * stride + 1 elements per
    # spatial dim, and the whole batch.
    reach = [
        batch if t == "N" else (e - 1) * strides[t] + 1 if e else 0
        for t, e in zip(row_tokens, row_shape, strict=True)
    ]

    # A trip covers whole groups of window offsets where it can (see `window_group`): then the
    # trailing offsets of each update are constants and only the channel and the leading
    # offsets are computed, once per trip. XLA runs every scalar index op as its own thunk,
    # and with one (c, offsets) decomposition per update they cost as much as the update
    # (b8 7x7 s2: 8.7 -> 5.0 ms; b1 9x9: 11.0 -> 9.1; b8 3x3 NHWC: 6.2 -> 5.1).
    # A trip may cover its group of offsets in two channels (`trip_channels`).
    group, updates = loop_trip(spec)
    channels = trip_channels(spec)
    unroll = trip_rows(spec)
    acc_tokens = accumulator_order(spec, tokens, unroll, batch_minor)
    extent_of = dict(zip(tokens, extents, strict=True)) | {"N": batch}
    acc_shape = [extent_of[t] for t in acc_tokens]

    def decompose(flat: ir.Value, dims: range) -> tuple[ir.Value, dict[int, ir.Value | int]]:
        """(the index's leading part, window offset per dim) of `flat` over window `dims`."""
        rest, offsets = flat, {}
        for i in reversed(dims):
            if spec.filter_shape[i] == 1:
                offsets[i] = 0
                continue
            size = index_constant(spec.filter_shape[i], index_dtype, loc=loc)
            scale = index_constant(spec.rhs_dilation[i], index_dtype, loc=loc)
            offsets[i] = stablehlo.MulOp(stablehlo.RemOp(rest, size, loc=loc), scale, loc=loc).result
            rest = stablehlo.DivOp(rest, size, loc=loc).result
        return rest, offsets

    def index(value: ir.Value | int) -> ir.Value:
        return index_constant(value, index_dtype, loc=loc) if isinstance(value, int) else value

    def phase_and_start(origin: ir.Value | int, stride: int) -> tuple[ir.Value, ir.Value]:
        """Where a window origin lies in the phase-split source: (origin % stride, origin // stride)."""
        if isinstance(origin, int):
            return index(origin % stride), index(origin // stride)
        if stride == 1:
            return index(0), origin
        step = index(stride)
        return stablehlo.RemOp(origin, step, loc=loc).result, stablehlo.DivOp(origin, step, loc=loc).result

    def patch_row(source: ir.Value, k: ir.Value, position: tuple | None = None) -> ir.Value:
        """Row k = (c, window offsets) of the patches, with dims `row_tokens`."""
        zero = index_constant(0, index_dtype, loc=loc)
        if tiled:
            row = stablehlo.DynamicSliceOp(source, [k] + [zero] * (n + 1), [1, *row_shape], loc=loc).result
            return irbuild.reshape(row, row_shape, loc=loc)
        # Row k is a strided window of the padded input, cut in the loop, so no patch tensor
        # is materialized (1.1-1.5x faster on the benchmark's layers).
        channel, offsets = position if position is not None else decompose(k, range(n))
        origins = [channel, *(0 if t == "N" else offsets[t] for t in row_tokens)]
        if phases:
            split = [phase_and_start(o, stride) for o, stride in zip(origins, source_strides, strict=True)]
            starts = [phase for phase, _ in split] + [start for _, start in split]
            window = stablehlo.DynamicSliceOp(source, starts, [1] * (n + 3) + row_shape, loc=loc).result
            return irbuild.reshape(window, row_shape, loc=loc)
        window = stablehlo.DynamicSliceOp(source, [index(o) for o in origins], [1, *reach], loc=loc).result
        row = irbuild.slice_(window, [0] * (n + 2), [1, *reach], source_strides, loc=loc)
        return irbuild.reshape(row, row_shape, loc=loc)

    def update(
        acc: ir.Value, source: ir.Value, kernel: ir.Value, k: ir.Value, position: tuple | None = None
    ) -> ir.Value:
        zero = index_constant(0, index_dtype, loc=loc)
        row = patch_row(source, k, position)
        row = irbuild.convert(row, acc_dtype, loc=loc)
        row = irbuild.broadcast(row, acc_shape, [acc_tokens.index(t) for t in row_tokens], loc=loc)
        starts = [k if p == perms.rhs[1] else zero for p in range(n + 2)]
        sizes = [1 if p == perms.rhs[1] else d for p, d in enumerate(spec.rhs_shape)]
        column = stablehlo.DynamicSliceOp(kernel, starts, sizes, loc=loc).result
        column = irbuild.convert(irbuild.reshape(column, extents, loc=loc), acc_dtype, loc=loc)
        column = irbuild.broadcast(column, acc_shape, [acc_tokens.index(t) for t in tokens], loc=loc)
        product = stablehlo.MulOp(row, column, loc=loc).result
        return stablehlo.AddOp(acc, product, loc=loc).result

    acc = irbuild.broadcast(irbuild.zero_scalar(acc_dtype, loc=loc), acc_shape, [], loc=loc)
    window = math.prod(spec.filter_shape)
    # Grouped trips cover whole channel groups; the last channel's rows, if odd, are peeled.
    trips = loop_trips(spec)

    def scaled(value: ir.Value, factor: int) -> ir.Value:
        return stablehlo.MulOp(value, index(factor), loc=loc).result

    def shifted(value: ir.Value, amount: int) -> ir.Value:
        return value if amount == 0 else stablehlo.AddOp(value, index(amount), loc=loc).result

    def unrolled(i, values):
        acc, source, rhs = values
        if group is None:
            base = scaled(i, unroll)
        else:
            first, leading = decompose(i, range(group))
            # Trip i = g * (window / updates) + l, for channel group g and leading offsets l,
            # covers l's offsets in channels g * channels onward: its first row is
            # g * channels * window + l * updates, which is i * unroll for one channel or
            # whole windows, and i * updates + g * window for a pair of window rows.
            if channels > 1 and group > 0:
                base = stablehlo.AddOp(scaled(i, updates), scaled(first, window), loc=loc).result
            else:
                base = scaled(i, unroll)
            first = scaled(first, channels) if channels > 1 else first
        for j in range(unroll):
            # Rows of one channel's offsets are consecutive; the next channel's are a window on.
            step, within = divmod(j, updates)
            k = shifted(base, step * window + within)
            position = None
            if group is not None:
                channel = shifted(first, step)
                trailing = np.unravel_index(within, spec.filter_shape[group:])
                offsets = dict(leading)
                for d, offset in zip(range(group, n), trailing, strict=True):
                    offsets[d] = int(offset) * spec.rhs_dilation[d]
                position = (channel, offsets)
            acc = update(acc, source, rhs, k, position)
        return [acc, source, rhs]

    if trips:
        loop, (acc, _, _) = counted_loop(trips, [acc, source, rhs], unrolled, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("accumulate_loop")
    for k in range(trips * unroll, total):
        acc = update(acc, source, rhs, index_constant(k, index_dtype, loc=loc))
    # Drop the batch's zero padding, if any (slice_ emits nothing for the whole tensor).
    acc = irbuild.slice_(
        acc,
        [0] * (n + 2),
        [spec.batch if t == "N" else d for t, d in zip(acc_tokens, acc_shape, strict=True)],
        [1] * (n + 2),
        loc=loc,
    )
    acc = irbuild.convert(acc, spec.out_dtype, loc=loc)
    return to_out_layout(spec, acc, acc_tokens, loc=loc)


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
        zero = index_constant(0, index_dtype, loc=loc)
        coords, rest = [], s
        for extent in reversed(out_spatial):
            size = index_constant(extent, index_dtype, loc=loc)
            coords.append(stablehlo.RemOp(rest, size, loc=loc).result)
            rest = stablehlo.DivOp(rest, size, loc=loc).result
        coords.reverse()
        starts = [
            stablehlo.MulOp(c, index_constant(stride, index_dtype, loc=loc), loc=loc).result
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
        loop, (out, _, _) = counted_loop(positions, [out, x, rhs], body, index_dtype, loc=loc)
        loop.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("position_loop")
    return to_out_layout(spec, out, (*range(spec.num_spatial), "N", "O"), loc=loc)


def out_tokens(spec: ConvSpec) -> list:
    """The out-spec layout's dims in order: "N", "O" or a spatial index."""
    perms = spec.dimension_numbers
    return [
        "N" if p == perms.out[0] else "O" if p == perms.out[1] else perms.out[2:].index(p)
        for p in range(spec.num_spatial + 2)
    ]


def to_out_layout(spec: ConvSpec, value: ir.Value, tokens, *, loc: ir.Location) -> ir.Value:
    """`value`, whose dims are `tokens` ("N", "O", spatial indices), in the out-spec layout."""
    tokens = list(tokens)
    return irbuild.transpose(value, [tokens.index(t) for t in out_tokens(spec)], loc=loc)


def counted_loop(trips, carried, body, index_dtype, *, loc):
    """`carried = body(i, carried)` for i in [0, trips) as a stablehlo.while: (loop, new carried)."""
    carried = [index_constant(0, index_dtype, loc=loc), *carried]
    types = [v.type for v in carried]
    loop = stablehlo.WhileOp(types, carried, loc=loc)
    cond = loop.cond.blocks.append(*types, arg_locs=[loc] * len(types))
    with ir.InsertionPoint(cond):
        limit = index_constant(trips, index_dtype, loc=loc)
        direction = stablehlo.ComparisonDirectionAttr.get("LT")
        more = stablehlo.CompareOp(cond.arguments[0], limit, direction, loc=loc).result
        stablehlo.ReturnOp([more], loc=loc)
    block = loop.body.blocks.append(*types, arg_locs=[loc] * len(types))
    with ir.InsertionPoint(block):
        i, *values = block.arguments
        values = body(i, values)
        following = stablehlo.AddOp(i, index_constant(1, index_dtype, loc=loc), loc=loc).result
        stablehlo.ReturnOp([following, *values], loc=loc)
    return loop, list(loop.results[1:])


def index_constant(value: int, dtype: str, *, loc: ir.Location) -> ir.Value:
    """A scalar loop index or extent of `dtype` (int32 or int64)."""
    return irbuild.scalar_constant(value, dtype, loc=loc)
