"""The `multiply_reduce` contraction strategy: patches times rhs, summed by one reduce.

out[N, rhs dims but I] = sum over I of patches * rhs: one broadcast multiply and one
`stablehlo.reduce`, laid out as N followed by rhs's own dims in its layout order. rhs is
broadcast along N only and the patches are gathered straight into that order, so rhs is not
transposed (lhs is, where its layout differs, as for every strategy). XLA GPU fuses the
patch gather, the multiply and the reduce into one reduction kernel, where the batched
dot_general writes every patch and, for rhs whose spatial dims are not leading (OIHW),
transposes all of rhs on every call: two kernels instead of four, which wins on small layers
(see `cost_model`). The kernel runs on CUDA cores and recomputes the gather's indices for
every product element (under 1 TFLOP/s on an H100), so it loses to the batched GEMM on
larger ones; the position of N in the product made no difference there (first, last, or
before rhs's minor dim: within 2%). On CPU it ran 10-200x slower than the cost model's
choice on every benchmark layer (one timed call each on the AVX-512 Xeon, 2026-11-28:
odd_layout_5x5_b4 5.1 ms against 0.5, conv1d_5_b32 716 against 3.5).

The sum is plain elementwise arithmetic in the accumulator dtype (f32 for f16/bf16 results,
as in the accumulate loop): `precision` does not apply, as it does not to the loops.
"""

from __future__ import annotations

import math

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from . import irbuild, shapes
from .accumulate_layout import accumulator_dtype, rhs_tokens
from .contraction import STRATEGY_ATTRIBUTE, to_out_layout
from .patch_gather import emit_patches
from .spec import ConvSpec


def product_tokens(spec: ConvSpec) -> tuple:
    """The dims of the virtual product: "N", then rhs's dims in layout order ("O", "C" for I,
    spatial indices)."""
    tokens = rhs_tokens(spec)
    tokens.insert(spec.dimension_numbers.rhs[1], "C")
    return ("N", *tokens)


def emit_multiply_reduce(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The convolution as a broadcast multiply of patches and rhs, reduced over I."""
    tokens = product_tokens(spec)
    patch_layout = tuple(t for t in tokens if t != "O")
    extents = {"N": spec.batch, "O": spec.out_features, "C": spec.patch_size}
    extents.update(enumerate(spec.out_spatial))
    shape = [extents[t] for t in tokens]
    acc_dtype = accumulator_dtype(spec)
    # The product is never written where XLA fuses it, but XLA sizes it in bytes as an int64.
    shapes.check_xla_array_bytes(
        "the multiply_reduce product (N * O * K * positions)", math.prod(shape), acc_dtype
    )
    patches = irbuild.convert(emit_patches(spec.patch_spec, lhs, patch_layout, loc=loc), acc_dtype, loc=loc)
    patches = irbuild.broadcast(patches, shape, [tokens.index(t) for t in patch_layout], loc=loc)
    rhs_dims = [d for d, t in enumerate(tokens) if t != "N"]
    weights = irbuild.broadcast(irbuild.convert(rhs, acc_dtype, loc=loc), shape, rhs_dims, loc=loc)
    product = stablehlo.MulOp(patches, weights, loc=loc).result
    summed = irbuild.reduce_sum(product, [tokens.index("C")], loc=loc)
    summed.owner.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get("multiply_reduce")
    result = irbuild.convert(summed, spec.out_dtype, loc=loc)
    return to_out_layout(spec, result, [t for t in tokens if t != "C"], loc=loc)
