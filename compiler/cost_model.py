"""The contraction cost model: which strategy to lower an unshared convolution with, and why.

Quantities (bytes are for the result dtype):
- lhs bytes    = N * C * prod(input spatial)
- patch bytes  = N * K * S          (K = C * prod(filter_shape), S = prod(out spatial))
- weight bytes = O * K * S          (rhs, read once at best)
- output bytes = N * O * S
- FLOPs        = 2 * N * O * K * S

Rules, from measurements on a 2-core x86 CPU with XLA (jaxlib 0.10.2):
1. `batched_dot` when rhs's spatial dims are its leading dims (e.g. HWIO): XLA's batched dot
   reads rhs in place, and it was the fastest form in every such case measured.
2. Otherwise a batched dot makes XLA transpose all of rhs on every call (weight bytes
   written and read again). When the batch is small that copy dominates: `accumulate_loop`
   reads rhs once in its own layout (e.g. batch 8, 32 channels, 32x32, 3x3, OIHW: 13 ms
   against 73 ms for the batched dot and 86 ms for JAX's lowering).
3. With a large batch the transpose is amortized over N rows of work and the batched dot's
   matmul speed wins: `batched_dot` when N >= `LARGE_BATCH`.
"""

from __future__ import annotations

import dataclasses
import math

from . import shapes
from .spec import ConvSpec

LARGE_BATCH = 64


@dataclasses.dataclass(frozen=True)
class CostEstimate:
    """The sizes the cost model reasons about."""

    lhs_bytes: int
    patch_bytes: int
    weight_bytes: int
    output_bytes: int
    flops: int

    @property
    def min_bytes_moved(self) -> int:
        """Bytes any implementation moves: lhs and rhs read once, the output written once."""
        return self.lhs_bytes + self.weight_bytes + self.output_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte that must move at least once."""
        return self.flops / max(self.min_bytes_moved, 1)


@dataclasses.dataclass(frozen=True)
class StrategyChoice:
    """The strategy chosen for one convolution and the rule that chose it."""

    strategy: str
    reason: str
    estimate: CostEstimate


def estimate(spec: ConvSpec) -> CostEstimate:
    """Byte and FLOP counts of `spec` (see the module docstring)."""
    itemsize = shapes.itemsize(spec.out_dtype)
    spatial = math.prod(spec.out_spatial)
    k = spec.patch_size
    return CostEstimate(
        lhs_bytes=math.prod(spec.lhs_shape) * itemsize,
        patch_bytes=spec.batch * k * spatial * itemsize,
        weight_bytes=spec.out_features * k * spatial * itemsize,
        output_bytes=spec.batch * spec.out_features * spatial * itemsize,
        flops=2 * spec.batch * spec.out_features * k * spatial,
    )


def rhs_spatial_leading(spec: ConvSpec) -> bool:
    """Whether rhs's spatial dims come before its I and O dims in its row-major layout."""
    perm = spec.dimension_numbers.rhs
    return max(perm[2:], default=-1) < min(perm[0], perm[1])


def choose_strategy(spec: ConvSpec) -> StrategyChoice:
    """The contraction strategy for `spec`, by the rules in the module docstring."""
    cost = estimate(spec)
    if rhs_spatial_leading(spec):
        return StrategyChoice("batched_dot", "rhs spatial dims lead: the dot reads rhs in place", cost)
    if spec.batch >= LARGE_BATCH:
        return StrategyChoice(
            "batched_dot", f"batch {spec.batch} >= {LARGE_BATCH} amortizes the rhs transpose", cost
        )
    return StrategyChoice(
        "accumulate_loop",
        f"batch {spec.batch} < {LARGE_BATCH} and rhs spatial dims are not leading: a batched dot "
        "would transpose rhs on every call",
        cost,
    )
