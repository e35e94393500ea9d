"""The default lowering of an unshared convolution: a patch gather, one dot_general, a transpose.

The patch gather moves lhs to [spatial..., N, C], pads it (interior padding for lhs_dilation,
edge padding for the non-negative part of `padding`), slices off negative padding, and takes
one strided slice per receptive-window offset. Stacking those slices after C gives patches
[out spatial..., N, C * window] whose feature order is C-major then window offsets in rhs-spec
order: exactly the order of rhs's `I` dimension. One `dot_general` with the output spatial dims
as batching dims contracts the patch features with rhs in its own layout, and a transpose puts
the result in out-spec order. No op count depends on spatial extents.
"""

from __future__ import annotations

import itertools

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild
from .spec import ConvSpec, PatchSpec


def emit_patches(patch: PatchSpec, lhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """Patches [out spatial..., N, C * prod(filter_shape)] of `lhs`, in `patch.dtype`."""
    perm = patch.lhs_perm
    n = len(patch.filter_shape)
    dtype = patch.dtype
    x = irbuild.convert(lhs, dtype, loc=loc)
    x = irbuild.transpose(x, (*perm[2:], perm[0], perm[1]), loc=loc)

    low = [max(lo, 0) for lo, _ in patch.padding] + [0, 0]
    high = [max(hi, 0) for _, hi in patch.padding] + [0, 0]
    interior = [d - 1 for d in patch.lhs_dilation] + [0, 0]
    if any(low) or any(high) or any(interior):
        zero = irbuild.zero_scalar(dtype, loc=loc)
        x = irbuild.pad(x, zero, low, high, interior, loc=loc)
    padded = irbuild.shape_of(x)
    cut_low = [max(-lo, 0) for lo, _ in patch.padding] + [0, 0]
    cut_high = [max(-hi, 0) for _, hi in patch.padding] + [0, 0]
    x = irbuild.slice_(
        x,
        cut_low,
        [size - cut for size, cut in zip(padded, cut_high, strict=True)],
        [1] * (n + 2),
        loc=loc,
    )

    batch, features = patch.batch, patch.in_features
    out_spatial = patch.out_spatial
    columns = []
    for offsets in itertools.product(*(range(k) for k in patch.filter_shape)):
        start, limit = [], []
        for k, rd, stride, extent in zip(
            offsets, patch.rhs_dilation, patch.window_strides, out_spatial, strict=True
        ):
            first = k * rd if extent else 0
            start.append(first)
            limit.append(first + (extent - 1) * stride + 1 if extent else 0)
        column = irbuild.slice_(
            x,
            [*start, 0, 0],
            [*limit, batch, features],
            [*patch.window_strides, 1, 1],
            loc=loc,
        )
        columns.append(irbuild.reshape(column, (*out_spatial, batch, features, 1), loc=loc))
    stacked = irbuild.concatenate(columns, n + 2, loc=loc)
    return irbuild.reshape(stacked, (*out_spatial, batch, patch.patch_size), loc=loc)


def emit_contraction(spec: ConvSpec, patches: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The batched dot_general of patches with rhs, transposed to the out-spec layout."""
    perms = spec.dimension_numbers
    n = spec.num_spatial
    dtype = spec.out_dtype
    rhs = irbuild.convert(rhs, dtype, loc=loc)
    dims = stablehlo.DotDimensionNumbers.get(
        lhs_batching_dimensions=list(range(n)),
        rhs_batching_dimensions=list(perms.rhs[2:]),
        lhs_contracting_dimensions=[n + 1],
        rhs_contracting_dimensions=[perms.rhs[1]],
    )
    result_type = irbuild.tensor_type((*spec.out_spatial, spec.batch, spec.out_features), dtype)
    product = stablehlo.DotGeneralOp(
        result_type,
        patches,
        rhs,
        dims,
        precision_config=irbuild.precision_config(spec.precision),
        loc=loc,
    ).result
    source_of = {perms.out[0]: n, perms.out[1]: n + 1}
    source_of.update({perms.out[2 + i]: i for i in range(n)})
    return irbuild.transpose(product, [source_of[p] for p in range(n + 2)], loc=loc)


def emit_default_lowering(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The whole unshared convolution of `lhs` and `rhs` as patch gather plus dot_general."""
    patches = emit_patches(spec.patch_spec, lhs, loc=ir.Location.name("patches", childLoc=loc))
    return emit_contraction(spec, patches, rhs, loc=ir.Location.name("contraction", childLoc=loc))
