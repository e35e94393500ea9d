"""The contraction cost model: which strategy to lower an unshared convolution with, and why.

Quantities (bytes are for the result dtype):
- lhs bytes    = N * C * prod(input spatial)
- patch bytes  = N * K * S          (K = C * prod(filter_shape), S = prod(out spatial))
- weight bytes = O * K * S          (rhs, read once at best)
- output bytes = N * O * S
- FLOPs        = 2 * N * O * K * S

Rules, from `python -m benchmarks --every-strategy` on a 2-core x86 CPU with XLA (jaxlib
0.10.2), every strategy timed on every case, and from A/B runs of the two loops on 35 more
large-batch layers (2026-11-27; the large-matmul rule on 13 layers of a 2-core AVX-512 Xeon,
2026-11-27):
0. `row_loop` for a layer of few output positions (`few_positions_of_small_matmuls`: at most
   `FEW_POSITIONS`, from a batch of `FEW_POSITIONS_MIN_BATCH`, under
   `FEW_POSITIONS_MAX_FLOPS` per position, so rhs has at most 1.2 MB to move per call): it
   makes one trip per output row, where the accumulate loop makes many trips of little work
   each. Against the accumulate loop (2026-11-28, AVX-512 Xeon, A/B in one process, VALID
   unless given; JAX's lowering had beaten the loop on 3 of them): b32 c8 8x8 7x7 O=16 (2x2
   positions) 0.351 -> 0.136 ms, NHWC 0.353 -> 0.146, b32 c16 4x4 3x3 0.160 -> 0.111, b16 c8
   8x8 3x3 stride 2 0.184 -> 0.145, b16 c8 9x9 7x7 0.295 -> 0.162, b16 c16 5x5 3x3 O=32 0.200
   -> 0.137, b64 c8 8x8 7x7 0.286 -> 0.173, b128 c16 4x4 3x3 0.210 -> 0.155, NHWC b64 c16 5x5
   O=32 0.228 -> 0.203, b32 c32 3x3 (one position) a tie; then, on layers not used to set it:
   b32 c16 7x7 5x5 0.382 -> 0.182, b32 c24 3x3 SAME 0.249 -> 0.157, 1D b32 c16 12 k5 0.175 ->
   0.113, 3D b16 c8 4^3 3x3x3 0.250 -> 0.121, b48 c8 6x6 3x3 SAME stride 2 0.166 -> 0.142,
   b16 c64 4x4 3x3 O=32 0.290 -> 0.174, b16 c16 9x9 7x7 O=32 0.484 -> 0.499. Past its limits
   the accumulate loop won or tied: b16 c64 4x4 3x3 O=64 (1.2 MFLOP per position) 0.330
   against 0.368 (rule 0b's position loop, in a later run: 0.26 against the loop's 0.475);
   with 16 positions the result was mixed (b16 c8 12x12 5x5 stride 2: 0.129 against 0.160;
   b32 c8 10x10 7x7 O=8: 0.332 against 0.218); at batch 8 or less it won or tied (b8 c16 8x8
   7x7: 0.225 against 0.219; b1 layers by 1.1-5x).
0b. For a 2D or 3D layer of few output positions with wide matmuls
   (`few_positions_of_wide_matmuls`: at most `FEW_POSITIONS`, a batch of
   `WIDE_FEW_POSITIONS_MIN_BATCH` to below `LARGE_BATCH`, O >= `WIDE_FEW_POSITIONS_MIN_O`),
   where rule 0 does not apply and rule 2's batched dot does not (HWIO-like rhs with
   `DOT_MATMUL_FLOPS` per position; at one position the position loop tied with it on five
   such layers, 0.25-0.41 ms): `position_loop` for one position, or up to
   `POSITION_LOOP_MAX_POSITIONS` with an OIHW-like rhs (each position's plain matmul reads
   its [K, O] out of rhs, strided by the few positions) where that slice has at most
   `POSITION_LOOP_MAX_SLICE` elements (it stays in L2) or the batched dot would transpose
   much (below), else `batched_dot`, within the memory budget, where rhs's spatial dims lead
   or each position's matmul has under `DOT_MATMUL_FLOPS` (the dot transposes an OIHW-like
   rhs on every call: b12 c96 9x9 7x7 O=192, 21.7 MFLOP per position, 33 MB of rhs: 15.2 ms
   against 6.7 for the accumulate loop and 9.5 for the position loop; b32 c64 5x5 3x3 O=128,
   4.7 MFLOP: 1.25 against 0.94), else the rules below. The accumulate loop makes a trip per
   channel and window row whatever the positions, so such layers ran it as hundreds of trips
   of little work each (b8 c32 8x8 7x7 O=128: 224 trips of 7 updates) and JAX's lowering beat
   it. A/B in one process (2026-11-28, AVX-512 Xeon, user layout, VALID, accumulate loop ->
   the rule's choice, JAX's lowering): OIHW, 1 position: b8 c64 3x3 O=256 0.403 -> 0.153 ms
   (0.324), b16 c128 3x3 O=128 0.407 -> 0.168 (0.385), b4 c128 5x5 O=64 0.235 -> 0.137, b8
   c256 3x3 O=256 1.56 -> 0.28 (0.77); 4 positions: b8 c128 8x8 7x7 O=128 7.44 -> 2.57
   (3.99), b8 c32 8x8 7x7 O=128 1.89 -> 0.93 (1.12), b16 c64 4x4 3x3 O=64 0.475 -> 0.26, b32
   c64 8x8 7x7 O=128 3.27 -> 2.12 (3.49), b8 c64 4x4 2x2 stride 2 0.419 -> 0.151; 8 or 9
   positions: b4 c32 9x9 7x7 O=256 4.34 -> 2.35 (2.62), b8 c64 5x5 3x3 O=128 1.33 -> 0.72
   (0.87), 3D b4 c16 4^3 3x3x3 O=64 0.423 -> 0.287; HWIO: b8 c32 8x8 7x7 O=128 0.99 -> 0.40
   (0.54), b8 c64 5x5 3x3 O=128 0.459 -> 0.343 (0.387), b4 c32 11x11 9x9 O=128 1.56 -> 0.72
   (1.06), b24 c32 5x5 5x5 O=96 (1 position) 0.596 -> 0.146. Losses: 1-position HWIO at batch
   8 by 1.1x (b8 c64 7x7 O=64 0.167 -> 0.188). With O < 64 the loop won or tied (NHWC b8 c32
   8x8 7x7 O=32: 0.157 against 0.252 for the dot), as it did at batch 2 (NHWC b2 c64 7x7
   O=256, 1 position: 0.214 against 0.304), with 16 positions (b8 c128 8x8 5x5 O=64: 1.51
   against 3.1) and in 1D, whose rows of up to 9 positions make whole vectors (b8 c64 12 k5
   O=128: 0.205 against 0.366). With 4 positions and HWIO, and at 8 or 9 positions (5-7 were
   not measured), the dot beat the position loop (HWIO b8 c32 8x8 7x7 O=128: 0.40 against
   0.73; b4 c32 9x9 7x7 O=256: 2.35 against 4.05), which won or tied with OIHW at one
   position on all 14 layers (b8 c64 3x3 O=256: 0.153 against 0.296; b8 c256 3x3 O=256: 0.28
   against 0.71) and at 2-4 positions on all 9 whose [K, O] slices have at most 2**16
   elements (b8 c64 4x4 3x3 O=64: 0.186 against 0.235; b8 c16 5x5 4x4 O=64: 0.126 against
   0.139). With larger slices it lost on 8 of 11 by 1.1-1.4x (b8 c32 8x8 7x7 O=128: 1.03-1.24
   against 0.88-0.93, JAX 1.05-1.12; b6 c48 6x6 5x5 O=128: 0.96 against 0.69; b8 c96 4x4 3x3
   O=96: 0.53 against 0.45); it won where each position's matmul has at least
   `DOT_MATMUL_FLOPS`, so the dot would transpose megabytes of rhs (b8 c128 8x8 7x7 O=128:
   2.57 against 3.13; b32 c64 8x8 7x7 O=128: 2.12 against 2.45; but b32 c128 4x4 3x3 O=256:
   1.81 against 1.56), and once just past the slice limit (b12 c32 4x4 3x3 O=256, 73,728
   elements: 0.43 against 0.48).
1. When N >= `LARGE_BATCH` (the batched dot was 1.5-3x slower on every such case):
   - when each position's [N, K] x [K, O] matmul has at least `LARGE_MATMUL_FLOPS`, which
     runs near XLA's sgemm rate: with fewer than `MANY_POSITIONS` positions `position_loop`,
     one plain matmul per position (1 to 9 positions, 151-302 MFLOP each, OIHW and HWIO:
     0.5-10 ms against 0.8-18 for the row loop and 1.5-10 for the accumulate loop); with at
     least that many, `row_loop` where rhs's spatial dims lead and a row of patches fits the
     memory budget, as its batched dot per row reads rhs slabs in place (NHWC 8x8
     3x3, HWIO: b256 c128: 37-44 ms against 45 for the position loop and 49-54 for the
     accumulate loop; b64 c256 O=256: 39-41 against 46; b128 c256, 302 MFLOP: 74-78 against
     75, a tie; on an earlier machine b128 c256 ran 67 ms in the position loop against 82 in
     the accumulate loop), and otherwise the rules below, as the position loop cuts each
     position's [K, O] out of an OIHW-like rhs with a stride of all positions (NCHW 3x3,
     OIHW: b128 c256 8x8: 360 ms against 105 for the accumulate loop; b256 c128 8x8: 87
     against 53; b64 c256 4x4: 21 against 16; NHWC lhs with OIHW: 123 against 55);
   - `row_loop` when the accumulate loop's vectors would run along a spatial dim (OIHW-like
     rhs) that is strided or shorter than `MIN_ROW_EXTENT` (`awkward_vectors`): strided
     loads and short rows cost it more than the row loop's gather (stride 2, NCHW: b256 c3
     64x64 5x5 O=16: 23 ms against 35; b64 c8 40x40 7x7 O=16: 9.3 against 12.2; b128 c16
     32x32 3x3: 7.1 against 10.0; b64 c32 32x32 3x3 O=32: 11.5 against 17.9; 12 or 8
     positions along the minor dim: b64 c4 12^3 3x3x3: 7.5 against 9.3, 8^3: 2.4 against
     4.7; b64 c8 12x12 3x3: 1.0 against 1.2). Ten of twelve such layers; the exceptions were
     b64 c16 55x55 7x7 s2 (35 against 56 for the accumulate loop) and a near tie (b64 c3
     64x64 5x5 s2, 7.8 against 7.2). Below `LARGE_BATCH` the accumulate loop won or tied on
     seven of nine such layers (b32 c8 40x40 7x7 s2: 9.6 against 12.4). Where the batch is
     whole vectors the loop runs its vectors along it instead (`batch_vectors`), and those
     rows are no longer awkward: it then beat the row loop on all eight such layers at b64
     (b64 c16 55x55 7x7 s2: 11.8 ms against 48; c8 40x40 7x7 s2: 5.1 against 9.3; c3 64x64
     5x5 s2: 4.5 against 8.3; c4 12^3 3x3x3: 2.3 against 5.7; c8 8^3: 1.0 against 1.8; c8
     12x12 3x3: 0.36 against 0.70; c16 32x32 3x3 s2: 4.5 against 5.2; c32 32x32 3x3 s2 O=32:
     10.3 against 10.5) and tied at b256 c3 64x64 5x5 s2 (20-25 ms against 20-21). Where
     rhs is small the loop transposes it in the call and runs along O (`transposes_rhs`):
     its rows are not awkward either, and it beat the row loop on the three such layers
     measured (b100 c3 64x64 5x5 s2 O=16: 4.7 ms against 8.9; b68 c8 20x20 3x3 s2: 0.41
     against 0.64; b68 c8 12x12 3x3: 0.40 against 0.83);
   - `accumulate_loop` when O >= `WIDE_MIN_O` and K >= `WIDE_MIN_K`: with the batch next
     to O in its accumulator each rhs slice serves the whole batch from cache, and a long
     contraction amortizes the trips (3x3 layers, batch 64-256, C 32-128, O 32-128: NCHW b64
     c64 32x32 O=32: 47 ms against 100 for the row loop; b128 c64 16x16 O=64: 43 against 60;
     b64 c32 16x16 O=32: 6.3 against 8.1; NHWC b256 c64 16x16 O=64: 59 against 65 and 79
     for the position loop; b64 c128 8x8 O=128: 14.5 against 13.1 for the row loop);
   - `row_loop` when each position's matmul has at least `ROW_LOOP_MIN_FLOPS`: one batched
     dot per row runs those at matmul speed, while the accumulator (N x O x positions) is
     too large to stream on every trip (b256 128x8 c8 3x3 NHWC O=128, K=72, 4.7 MFLOP:
     101-113 ms against 170-184);
   - `accumulate_loop` otherwise: small matmuls per position waste the row loop's batched
     dot, and its gather materializes K times the input per call (b64 c8 20x20 7x7 O=8:
     3.8-4.4 ms against 4.9-5.3; b64 c3 32x32 9x9 O=8: 2.7 against 8.6; b64 c16 32x32 3x3
     O=24: 8.9 against 16.9; b64 c32 16x16 3x3 O=8: 1.4 against 2.8; NHWC b256 c8 16x16
     O=16: 1.9 against 4.2; b64 c8 8x8 O=128: 0.9 against 1.5; 1D b64 c16 256 k5: 1.1
     against 2.6; a tie at b256 c3 32x32 5x5 O=16: 20 against 22), unless it would build
     patches over the memory budget, where `row_loop` takes over.
2. `batched_dot` when rhs's spatial dims are its leading dims (e.g. HWIO), so XLA's batched
   dot reads rhs in place, and each position's matmul has at least `DOT_MATMUL_FLOPS`.
   Below it the loop (with the batch next to O in its accumulator) won every measured
   layer: NHWC 3x3, b16 c64 16x16 (1.2 MFLOP per position): 7.6 ms against 9.9; b32 c64
   (2.4 MFLOP): 14.0 against 19.1; b8 c128 (2.4 MFLOP): 23.0 against 23.2. Above it the
   result is mixed: b8 c256 O=256 (9.4 MFLOP): 55 against 66 for the loop, but b32 c128
   (9.4 MFLOP): 57 against 41 and b48 8x8 c128 (14 MFLOP): 18.4 against 15.4.
   Also with a batch of one, from `MATVEC_DOT_FLOPS` per position (K * O >= 32768): each
   position's matrix-vector product then streams its [K, O] slice of rhs, where the loop
   reads a trip's rows at every position, and JAX's own lowering, a batched dot too, ran
   faster than the loop on some such layers. A/B in one process (2026-11-28, AVX-512 Xeon,
   user HWIO layout, loop against dot, with JAX): c64 32x32 3x3 O=64 9.6-9.8 ms against
   7.5-7.9 (JAX 9.1-9.9), c128 16x16 O=128 7.9 against 6.5 (JAX 7.6), c64 16x16 O=64
   1.27-1.41 against 1.06-1.12, c256 8x8 6.1 against 5.6, c96 16x16 3.7 against 3.1, c64
   16x16 5x5 O=64 6.8 against 4.7 (JAX 6.0), c64 16x16 7x7 O=32 7.0 against 5.3, 1D c128
   256 k3 2.0 against 1.2, 3D c32 12^3 3x3x3 O=64 28 against 19, c64 32x32 stride 2 1.51
   against 1.35. Below it the loop won (c40 24x24 3x3 O=64, 46 kFLOP: 2.4 against 2.8; c32
   24x24 5x5 O=32: 2.8 against 3.7; c16 63x63 9x9: 24 against 40; c32 32x32 3x3: 1.7
   against 2.0; 3D c16 16^3 3x3x3 O=32: 16 against 24), and from a batch of 2 it won or tied
   (b2 c64 16x16 5x5 O=64: 7.9 against 10.0; b2 c64 32x32 3x3: 16.9 against 16.7).
   Prepacked, the dot was 0.8-1.6x the loop's speed on these layers (3D c32: 19.4 against
   15.2; c64 16x16 5x5: 4.1 against 6.5).
   Also `batched_dot`, whatever the batch (ahead of every rule but rule 0, and only where
   its patches fit the memory budget), where the accumulate loop would make at most one
   trip and the output's minor dim is not rhs's (`one_trip_across_rhs`: mixed layouts, NCHW
   with HWIO weights or NHWC with OIHW): XLA drops the loop and fuses its trip, the rows
   peeled after it and the transpose to the output layout into one loop that reads rhs
   across its minor dim. It judges rhs in the user's layout even where the loop transposes
   rhs in the call (`transposes_rhs`), as XLA fuses that transpose into the same loop: NCHW
   with OIHW weights at b64 c3 3x3 ran 3.4-3.6 ms so, against 5.9-6.3 for the dot. A/B in one process
   (2026-11-28, AVX-512 Xeon, 1x1 VALID unless given, loop -> dot, JAX's lowering):
   NCHW/HWIO b8 c16 32x32 O=64 18.8 -> 0.92 ms (0.99), b1 c16 64x64 O=16 1.25 -> 0.32
   (0.33), b16 c8 16x16 O=32 0.53 -> 0.20 (0.22), b128 c8 16x16 O=16 0.97 -> 0.84 (0.81),
   b8 c1 32x32 3x3 SAME 1.18 -> 0.48 (0.70), b8 c3 3x3 (a trip of two channels, the third
   peeled) 11.0 -> 0.88 (1.41); NHWC/OIHW b4 c16 32x32 O=32 2.31 -> 0.69 (0.62), b1 c16
   O=64 2.64 -> 1.01 (0.88), b8 c1 3x3 1.28 -> 0.56 (0.82), b8 c3 3x3 15.5 -> 1.22 (1.69),
   b32 c3 64x64 3x3 O=128 2586 -> 83 (95), b64 c3 32x32 3x3 125 -> 5.2 (10.4). NHWC/OIHW
   1x1 layers of 10-16 channels (an even count) over accumulators of 2**16 elements or
   more (at stride 1 and batch < 64) no longer reach this rule: the loop splits their
   one trip in two (`splits_one_trip`), which XLA keeps as a loop (b4 c16 32x32 O=32:
   0.39-0.42 ms, b1 c16 O=64: 0.39).
3. `accumulate_loop` otherwise. With an OIHW-like rhs a batched dot makes XLA transpose all
   of rhs on every call, while the loop reads rhs once in its own layout (b1 c16 63x63 9x9
   OIHW: 13 ms against 170 for the batched dot and 213 for JAX's lowering); with HWIO and
   small per-position matmuls the loop also wins, as it cuts the patch rows out of the input
   in the loop (b8 c32 32x32 3x3 NHWC, 0.15 MFLOP: 6.3 ms against 9.3; b8 c16 55x55 7x7 s2:
   5.8 against 12.7).
4. A form whose temporaries (the patch tensor; one row of it for `row_loop`; for
   `accumulate_loop` only where `accumulate_loop_builds_patches`) exceed the memory budget is
   not chosen: the rules fall back to `position_loop`, whose temporaries are one window and
   one output row per position (for large matmuls over many positions with HWIO-like rhs, to
   the other large-batch rules first).

On GPU (measured on one H100, jax 0.11.2) the loops are 2-60x slower than `batched_dot`,
which launches one batched GEMM, and are not candidates there (`candidate_strategies`).
`multiply_reduce` (one fused reduction kernel, on CUDA cores) is chosen on GPU for small
layers whose rhs a batched dot would transpose on every call (spatial dims not leading, e.g.
OIHW), at most `REDUCE_MAX_FLOPS`: two runs of 20 queued calls, against the batched dot,
conv3d b2 c8 16^3 3x3x3 (14M multiply-adds) 69-75 us against 102-104; NCHW b8 c16 32x32
3x3 rhs dilation 2 (19M) 75-77 against 95-115; lhs dilation 2 (20M) 65-70 against 77-89;
mixed at b1 c32 32x32 3x3 (9M: -6% and +20%) and an odd layout (4M: +10% and -20%). Above
it the reduce runs at under 1 TFLOP/s and loses (b16 c32 2x2 s2, 34M: 159 against 63-89;
b8 c32 32x32 3x3, 75M: 131 against 74-90; b256 layers 9-100x). With HWIO rhs the batched
dot reads rhs in place and wins or ties (b1-b32 c32 32x32 3x3). `python -m benchmarks
--backend gpu --every-strategy` (one synchronous call per timing,
benchmarks/results_gpu_h100.json) agrees: conv3d 0.17 ms against 0.26, the three other
chosen layers 0-12% faster, and the b256 layers 5-49x slower with the reduce. On an H200,
20 queued calls per timing, 23 more layers (OIHW-like 3x3, 3D, 1D, 9x9, 7x7 s2 and 1x1, and
HWIO, at batch 1-64): the rule picked the faster form on 20, was 1% and 9% off on two, and 39%
off on conv3d b8 c8 16^3 (113 MFLOP, where the reduce took 104 us against 145); below the
limit the reduce won by up to 26%, above it it lost by up to 8x. Other backends use
`batched_dot`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from . import host, shapes
from .accumulate_layout import (
    MIN_ROW_EXTENT,
    accumulate_loop_builds_patches,
    accumulate_loop_vector_dim,
    fills_wide_vectors,
    loop_trips,
    rhs_tokens,
    short_or_strided_rows,
)
from .contraction import STRATEGIES, out_tokens
from .row_loop import row_loop_outer_dim
from .spec import ConvSpec

LARGE_BATCH = 64
LARGE_MATMUL_FLOPS = 64_000_000
MANY_POSITIONS = 16
WIDE_MIN_O = 32
WIDE_MIN_K = 256
DOT_MATMUL_FLOPS = 4_000_000
MATVEC_DOT_FLOPS = 2**16
FEW_POSITIONS = 9
FEW_POSITIONS_MIN_BATCH = 16
FEW_POSITIONS_MAX_FLOPS = 2**20
WIDE_FEW_POSITIONS_MIN_BATCH = 4
WIDE_FEW_POSITIONS_MIN_O = 64
POSITION_LOOP_MAX_POSITIONS = 4
POSITION_LOOP_MAX_SLICE = 2**16
REDUCE_MAX_FLOPS = 48_000_000
ROW_LOOP_MIN_FLOPS = 4_000_000


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
    if backend == "gpu":
        if rhs_spatial_leading(spec):
            reason = "on gpu the batched dot reads rhs in place (its spatial dims lead) as one batched GEMM"
            return StrategyChoice("batched_dot", reason, cost)
        if cost.flops > REDUCE_MAX_FLOPS:
            reason = (
                f"on gpu a layer of {cost.flops:,} FLOPs > {REDUCE_MAX_FLOPS:,} runs fastest as one "
                "batched GEMM, even with rhs transposed for it"
            )
            return StrategyChoice("batched_dot", reason, cost)
        return StrategyChoice(
            "multiply_reduce",
            f"on gpu a small layer ({cost.flops:,} FLOPs <= {REDUCE_MAX_FLOPS:,}) runs as one fused "
            "reduction kernel, where a batched dot would transpose rhs (spatial dims not leading)",
            cost,
        )
    if backend != "cpu":
        return StrategyChoice(
            "batched_dot",
            f"on {backend} the batched dot_general is one batched GEMM; loops serialize kernels",
            cost,
        )
    budget = default_memory_budget() if memory_budget is None else memory_budget
    per_position = position_flops(spec)
    positions = math.prod(spec.out_spatial)
    if few_positions_of_small_matmuls(spec) and fits_memory_budget(spec, "row_loop", budget):
        return StrategyChoice(
            "row_loop",
            f"{positions} <= {FEW_POSITIONS} output positions, batch {spec.batch} >= "
            f"{FEW_POSITIONS_MIN_BATCH} and {per_position:,} FLOPs per position < "
            f"{FEW_POSITIONS_MAX_FLOPS:,}: a batched dot per row in a few trips beats the "
            "accumulate loop's many small ones",
            cost,
        )
    if one_trip_across_rhs(spec) and fits_memory_budget(spec, "batched_dot", budget):
        return StrategyChoice(
            "batched_dot",
            "the accumulate loop would be at most one trip, which XLA fuses into one loop over the output, "
            "reading rhs across its minor dim",
            cost,
        )
    oihw_like = not rhs_spatial_leading(spec)
    if few_positions_of_wide_matmuls(spec) and (oihw_like or per_position < DOT_MATMUL_FLOPS):
        few = (
            f"{positions} <= {FEW_POSITIONS} output positions, batch {spec.batch} >= "
            f"{WIDE_FEW_POSITIONS_MIN_BATCH} and O = {spec.out_features} >= {WIDE_FEW_POSITIONS_MIN_O}"
        )
        dot_transposes_much = oihw_like and per_position >= DOT_MATMUL_FLOPS
        small_slices = spec.patch_size * spec.out_features <= POSITION_LOOP_MAX_SLICE
        few_slices_pay = positions <= POSITION_LOOP_MAX_POSITIONS and (small_slices or dot_transposes_much)
        if positions == 1 or (oihw_like and few_slices_pay):
            return StrategyChoice(
                "position_loop",
                f"{few}: one plain matmul per position, each cutting its [K, O] out of rhs, where the "
                "accumulate loop makes many small trips",
                cost,
            )
        if not dot_transposes_much and fits_memory_budget(spec, "batched_dot", budget):
            return StrategyChoice(
                "batched_dot",
                f"{few}: one batched dot over the positions, where the accumulate loop makes many "
                "small trips",
                cost,
            )
    if spec.batch >= LARGE_BATCH:
        large = f"{per_position:,} FLOPs per position >= {LARGE_MATMUL_FLOPS:,}"
        if per_position >= LARGE_MATMUL_FLOPS and positions < MANY_POSITIONS:
            return StrategyChoice(
                "position_loop",
                f"batch {spec.batch} >= {LARGE_BATCH}: one large matmul for each of {positions} "
                f"< {MANY_POSITIONS} positions ({large})",
                cost,
            )
        if (
            per_position >= LARGE_MATMUL_FLOPS
            and rhs_spatial_leading(spec)
            and fits_memory_budget(spec, "row_loop", budget)
        ):
            return StrategyChoice(
                "row_loop",
                f"batch {spec.batch} >= {LARGE_BATCH}: one batched dot per row of large matmuls "
                f"({large}) reading rhs's leading spatial dims in place",
                cost,
            )
        patches_fit = fits_memory_budget(spec, "accumulate_loop", budget)
        awkward = awkward_vectors(spec)
        accumulate_runs_well = awkward is None and patches_fit
        if accumulate_runs_well and spec.out_features >= WIDE_MIN_O and spec.patch_size >= WIDE_MIN_K:
            return StrategyChoice(
                "accumulate_loop",
                f"batch {spec.batch} >= {LARGE_BATCH} with O = {spec.out_features} >= {WIDE_MIN_O} "
                f"and K = {spec.patch_size} >= {WIDE_MIN_K}: each rhs slice serves the whole batch",
                cost,
            )
        if accumulate_runs_well and per_position < ROW_LOOP_MIN_FLOPS:
            return StrategyChoice(
                "accumulate_loop",
                f"batch {spec.batch} >= {LARGE_BATCH} with small matmuls per position "
                f"({per_position:,} FLOPs < {ROW_LOOP_MIN_FLOPS:,}): a batched dot per row "
                "would not pay for its gathered patches",
                cost,
            )
        if not fits_memory_budget(spec, "row_loop", budget):
            return StrategyChoice(
                "position_loop",
                f"a row of patches would take {row_patch_bytes(spec):,} bytes, "
                f"over the {budget:,}-byte budget",
                cost,
            )
        if awkward is not None:
            why = f"the accumulate loop's vectors {awkward}"
        elif not patches_fit:
            why = f"the accumulate loop's patches ({cost.patch_bytes:,} bytes) exceed the budget"
        else:
            why = f"{per_position:,} FLOPs per position >= {ROW_LOOP_MIN_FLOPS:,}"
        return StrategyChoice(
            "row_loop", f"batch {spec.batch} >= {LARGE_BATCH}: one batched dot per row, as {why}", cost
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
    if spec.batch == 1 and per_position >= MATVEC_DOT_FLOPS:
        return StrategyChoice(
            "batched_dot",
            f"batch 1 and rhs spatial dims lead: the dot streams rhs in place, one position's "
            f"{per_position:,} FLOPs >= {MATVEC_DOT_FLOPS:,} after another",
            cost,
        )
    return StrategyChoice(
        "accumulate_loop",
        f"batch {spec.batch} < {LARGE_BATCH} and small matmuls per position ({per_position:,} FLOPs "
        f"< {DOT_MATMUL_FLOPS:,}): the loop beats the batched dot",
        cost,
    )


def candidate_strategies(backend: str) -> tuple[str, ...]:
    """The strategies worth timing on `backend` (autotune, the benchmark's --every-strategy).

    On CPU the loops and the batched dot: `multiply_reduce` ran 10-200x slower than the
    cost model's choice on every layer of the benchmark suite. Elsewhere the batched dot and
    `multiply_reduce`: on GPU the loops ran 2-60x slower (one kernel launch per trip); TPU is
    unmeasured, and autotuning there is what decides between the two.
    """
    if backend == "cpu":
        return tuple(s for s in STRATEGIES if s != "multiply_reduce")
    return ("batched_dot", "multiply_reduce")


def xla_options(spec: ConvSpec, strategy: str | None, backend: str = "cpu") -> dict[str, Any]:
    """The XLA options (per executable) that `strategy`'s program for `spec` runs best with.

    On an AVX-512 host, 512-bit vectors for an accumulate loop whose vectors fill them
    (`fills_wide_vectors`); nothing otherwise. Options the caller passes take precedence.
    """
    wide = backend == "cpu" and strategy == "accumulate_loop" and host.has_avx512()
    if wide and fills_wide_vectors(spec):
        return {"xla_cpu_prefer_vector_width": 512}
    return {}


def row_patch_bytes(spec: ConvSpec) -> int:
    """The bytes of one row of patches, what `row_loop` gathers per trip."""
    rows = spec.out_spatial[row_loop_outer_dim(spec)] if spec.num_spatial else 1
    return estimate(spec).patch_bytes // max(rows, 1)


def fits_memory_budget(spec: ConvSpec, strategy: str, memory_budget: int | None = None) -> bool:
    """Whether `strategy`'s largest temporary for `spec` fits `memory_budget` (default: RAM / 4).

    The batched dot materializes every patch (`multiply_reduce` too, where the backend does
    not fuse them into its reduce), `row_loop` one row of them, `accumulate_loop` every
    patch only where it builds them first (`accumulate_loop_builds_patches`); `position_loop`
    holds one window and one output row per position, so it always fits.
    """
    budget = default_memory_budget() if memory_budget is None else memory_budget
    if strategy in ("batched_dot", "multiply_reduce"):
        return estimate(spec).patch_bytes <= budget
    if strategy == "row_loop":
        return row_patch_bytes(spec) <= budget
    if strategy == "accumulate_loop":
        return not accumulate_loop_builds_patches(spec) or estimate(spec).patch_bytes <= budget
    return True


def one_trip_across_rhs(spec: ConvSpec) -> bool:
    """Whether accumulate_loop's loop would make at most one trip (`loop_trips`; the rest of
    the contraction peeled after it) and the output's minor dim is not rhs's minor dim other
    than I (e.g. NCHW with HWIO weights, NHWC with OIHW).

    XLA then drops the loop and fuses its trip, the peeled rows and the transpose to the
    output layout into one loop over the output, which reads rhs across its minor dim,
    element by element.
    """
    across = rhs_tokens(spec)[-1] != out_tokens(spec)[-1]
    return spec.num_spatial > 0 and across and loop_trips(spec) <= 1


def position_flops(spec: ConvSpec) -> int:
    """The FLOPs of one output position's [N, K] x [K, O] matmul, which several rules weigh."""
    return 2 * spec.batch * spec.patch_size * spec.out_features


def few_positions_of_small_matmuls(spec: ConvSpec) -> bool:
    """Whether `spec` has at most `FEW_POSITIONS` output positions, a batch of at least
    `FEW_POSITIONS_MIN_BATCH` and under `FEW_POSITIONS_MAX_FLOPS` per position.

    Its rhs, which `row_loop` moves once per call, then has K * O * positions < 2**19 / 16 *
    9 elements (at most 1.2 MB of f32).
    """
    per_position = position_flops(spec)
    return (
        spec.num_spatial > 0
        and 0 < math.prod(spec.out_spatial) <= FEW_POSITIONS
        and spec.batch >= FEW_POSITIONS_MIN_BATCH
        and per_position < FEW_POSITIONS_MAX_FLOPS
    )


def few_positions_of_wide_matmuls(spec: ConvSpec) -> bool:
    """Whether `spec` has two or more spatial dims, at most `FEW_POSITIONS` output positions,
    a batch of `WIDE_FEW_POSITIONS_MIN_BATCH` to below `LARGE_BATCH` and at least
    `WIDE_FEW_POSITIONS_MIN_O` output features (rule 0b in the module docstring).
    """
    return (
        spec.num_spatial >= 2
        and 0 < math.prod(spec.out_spatial) <= FEW_POSITIONS
        and WIDE_FEW_POSITIONS_MIN_BATCH <= spec.batch < LARGE_BATCH
        and spec.out_features >= WIDE_FEW_POSITIONS_MIN_O
    )


def awkward_vectors(spec: ConvSpec) -> str | None:
    """Why `accumulate_loop`'s vectors would run poorly, or None where they run well.

    They run along rhs's minor dim other than I, along the batch, or along O where the loop
    transposes rhs in the call. Along O (HWIO-like rhs) each patch element is one broadcast,
    and along N each rhs element; along a spatial dim they load the input rows, which is slow
    where those rows are strided or short (`short_or_strided_rows`).
    """
    dim = accumulate_loop_vector_dim(spec)
    if dim in (None, "N") or not short_or_strided_rows(spec, dim):
        return None
    if spec.window_strides[dim] > 1:
        return f"would load input elements {spec.window_strides[dim]} apart along spatial dim {dim}"
    return f"would run along {spec.out_spatial[dim]} < {MIN_ROW_EXTENT} output positions of spatial dim {dim}"


def default_memory_budget() -> int:
    """A quarter of this machine's physical memory, in bytes."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30
