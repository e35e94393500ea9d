"""The contraction cost model: which strategy to lower an unshared convolution with, and why.

Quantities (bytes are for the result dtype):
- lhs bytes    = N * C * prod(input spatial)
- patch bytes  = N * K * S          (K = C * prod(filter_shape), S = prod(out spatial))
- weight bytes = O * K * S          (rhs, read once at best)
- output bytes = N * O * S
- FLOPs        = 2 * N * O * K * S

Rules, from `python -m benchmarks --every-strategy` on a 2-core x86 CPU with XLA (jaxlib
0.10.2), every strategy timed on every case:
1. When N >= `LARGE_BATCH` (the batched dot was 1.5-3x slower on every such case):
   - `position_loop` when each position's [N, K] x [K, O] matmul has at least
     `LARGE_MATMUL_FLOPS`: it runs near XLA's sgemm rate and the loop's overhead vanishes
     (b128 c256 8x8 3x3 NHWC, 151 MFLOP per position: 67 ms against 82 for the accumulate
     loop; b256 c128 8x8, 75 MFLOP: 43 against 41, a tie);
   - `accumulate_loop` when O >= `WIDE_MIN_O` and K >= `WIDE_MIN_K`: with the batch next
     to O in its accumulator each rhs slice serves the whole batch from cache, and a long
     contraction amortizes the trips (3x3 layers, batch 64-256, C 32-128, O 32-128: NCHW b64
     c64 32x32 O=32: 47 ms against 100 for the row loop; b128 c64 16x16 O=64: 43 against 60;
     b64 c32 16x16 O=32: 6.3 against 8.1; NHWC b256 c64 16x16 O=64: 59 against 65 and 79
     for the position loop; b64 c128 8x8 O=128: 14.5 against 13.1 for the row loop);
   - `row_loop` otherwise: a row of small matmuls per trip, one batched dot, cuts the trips
     and their overhead where O or K is small (b64 c8 20x20 7x7 O=8, 0.4 MFLOP per position:
     7 ms against 23 for the position loop; b256 c3 64x64 5x5 s2 O=16, K=75: 18-26 against
     35-56 for the accumulate loop; b256 128x8 c8 3x3 K=72: 101 against 170).
2. `batched_dot` when rhs's spatial dims are its leading dims (e.g. HWIO), so XLA's batched
   dot reads rhs in place, and each position's matmul has at least `DOT_MATMUL_FLOPS`.
   Below it the loop (with the batch next to O in its accumulator) won every measured
   layer: NHWC 3x3, b16 c64 16x16 (1.2 MFLOP per position): 7.6 ms against 9.9; b32 c64
   (2.4 MFLOP): 14.0 against 19.1; b8 c128 (2.4 MFLOP): 23.0 against 23.2. Above it the
   result is mixed: b8 c256 O=256 (9.4 MFLOP): 55 against 66 for the loop, but b32 c128
   (9.4 MFLOP): 57 against 41 and b48 8x8 c128 (14 MFLOP): 18.4 against 15.4.
3. `accumulate_loop` otherwise. With an OIHW-like rhs a batched dot makes XLA transpose all
   of rhs on every call, while the loop reads rhs once in its own layout (b1 c16 63x63 9x9
   OIHW: 13 ms against 170 for the batched dot and 213 for JAX's lowering); with HWIO and
   small per-position matmuls the loop also wins, as it cuts the patch rows out of the input
   in the loop (b8 c32 32x32 3x3 NHWC, 0.15 MFLOP: 6.3 ms against 9.3; b8 c16 55x55 7x7 s2:
   5.8 against 12.7).
4. Whatever the rules say, a form whose temporaries (the patch tensor; one row of it for
   `row_loop`; for `accumulate_loop` only where `accumulate_loop_builds_patches`) exceed the
   memory budget is replaced by `position_loop`, whose temporaries are one window and one
   output row per position.

On GPU (measured on one H100, jax 0.11.2) the loops are 2-60x slower than `batched_dot`,
which launches one batched GEMM: every non-CPU backend uses `batched_dot`.
"""

from __future__ import annotations

import dataclasses
import math
import os

from . import shapes
from .contraction import accumulate_loop_builds_patches
from .row_loop import row_loop_outer_dim
from .spec import ConvSpec

LARGE_BATCH = 64
LARGE_MATMUL_FLOPS = 64_000_000
WIDE_MIN_O = 32
WIDE_MIN_K = 256
DOT_MATMUL_FLOPS = 4_000_000


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


def choose_strategy(spec: ConvSpec, backend: str = "cpu", memory_budget: int | None = None) -> StrategyChoice:
    """The contraction strategy for `spec` on `backend`, by the rules in the module docstring.

    `memory_budget` (bytes; default: a quarter of physical memory) bounds the temporaries.
    """
    cost = estimate(spec)
    if backend != "cpu":
        return StrategyChoice(
            "batched_dot",
            f"on {backend} the batched dot_general is one batched GEMM; loops serialize kernels",
            cost,
        )
    budget = default_memory_budget() if memory_budget is None else memory_budget
    per_position = 2 * spec.batch * spec.patch_size * spec.out_features
    if spec.batch >= LARGE_BATCH:
        if per_position >= LARGE_MATMUL_FLOPS:
            return StrategyChoice(
                "position_loop",
                f"batch {spec.batch} >= {LARGE_BATCH}: one large matmul per position "
                f"({per_position:,} FLOPs >= {LARGE_MATMUL_FLOPS:,})",
                cost,
            )
        patches_fit = not accumulate_loop_builds_patches(spec) or cost.patch_bytes <= budget
        if spec.out_features >= WIDE_MIN_O and spec.patch_size >= WIDE_MIN_K and patches_fit:
            return StrategyChoice(
                "accumulate_loop",
                f"batch {spec.batch} >= {LARGE_BATCH} with O = {spec.out_features} >= {WIDE_MIN_O} "
                f"and K = {spec.patch_size} >= {WIDE_MIN_K}: each rhs slice serves the whole batch",
                cost,
            )
        rows = spec.out_spatial[row_loop_outer_dim(spec)] if spec.num_spatial else 1
        row_bytes = cost.patch_bytes // max(rows, 1)
        if row_bytes > budget:
            return StrategyChoice(
                "position_loop",
                f"a row of patches would take {row_bytes:,} bytes, over the {budget:,}-byte budget",
                cost,
            )
        return StrategyChoice(
            "row_loop",
            f"batch {spec.batch} >= {LARGE_BATCH} with small matmuls per position "
            f"({per_position:,} FLOPs < {LARGE_MATMUL_FLOPS:,}, O = {spec.out_features}, "
            f"K = {spec.patch_size}): one batched dot per row",
            cost,
        )
    if cost.patch_bytes > budget:
        return StrategyChoice(
            "position_loop",
            f"patches would take {cost.patch_bytes:,} bytes, over the {budget:,}-byte budget",
            cost,
        )
    if not rhs_spatial_leading(spec):
        return StrategyChoice(
            "accumulate_loop",
            f"batch {spec.batch} < {LARGE_BATCH} and rhs spatial dims are not leading: a batched "
            "dot would transpose rhs on every call",
            cost,
        )
    if per_position >= DOT_MATMUL_FLOPS:
        return StrategyChoice(
            "batched_dot",
            f"rhs spatial dims lead: the dot reads rhs in place ({per_position:,} FLOPs per position "
            f">= {DOT_MATMUL_FLOPS:,})",
            cost,
        )
    return StrategyChoice(
        "accumulate_loop",
        f"batch {spec.batch} < {LARGE_BATCH} and small matmuls per position ({per_position:,} FLOPs "
        f"< {DOT_MATMUL_FLOPS:,}): the loop beats the batched dot",
        cost,
    )


def default_memory_budget() -> int:
    """A quarter of this machine's physical memory, in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30
