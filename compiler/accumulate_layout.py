"""accumulate_loop's layout rules: what it vectorizes, how it trips, how rhs is packed.

Pure functions of the `ConvSpec` (no IR): `contraction.emit_accumulate_loop` builds the loop
they describe, the cost model judges its vectors with them, `explain` reports them, and
`Compiled.prepack` packs weights by them. Each rule's docstring gives the A/B measurements
(2-core x86 VM, XLA CPU, jaxlib 0.10.2) it was derived from.
"""

from __future__ import annotations

import math

from . import shapes
from .spec import ConvSpec

# accumulate_loop's trip groups window offsets where it can (see `window_group`): the
# smallest group of at least 8 offsets, or of 4 once the accumulator is large. These were
# the unrolls of every trip when the AMD EPYC VM of earlier sessions measured them (trips of
# 4 ran 8-22% faster than 8 with large accumulators, while small accumulators gained from
# fewer trips: b8 c16 7x7 s2 11%, b2 3D 20%), and groups kept asking for them. The two ask
# for the same group of 3x3, 5x5, 7x7, 9x9 and 1D windows; they differ where a trailing
# group of 4-7 offsets comes before one of 8-16 (4x4 windows: 4 or 16; 2x2x2: 4 or 8).
GROUP_OFFSETS = 8
LARGE_ACCUMULATOR_GROUP_OFFSETS = 4
# Where no group sets the trip (1x1 windows, windows of over `MAX_WINDOW_GROUP` offsets,
# windows that tile the input), it makes 8 updates, or 16 once the accumulator is large. A
# large accumulator is read and written once per trip from L2 or beyond, so longer trips
# move less of it: on the AVX-512 Xeon (2026-11-28, A/B in one process, 4 against 16
# updates) b8 c256 16x16 1x1 7.95 -> 6.62 ms, b8 c128 32x32 1x1 3.84 -> 2.87, NHWC b8 c128
# 16x16 1x1 1.71 -> 1.31, b4 c32 32x32 1x1 1.36 -> 1.08, b8 1D k17 0.88 -> 0.63, b128 c16
# 8x8 1x1 0.36 -> 0.16 (with its rhs transposed in the call, see `transposes_rhs`); ties on
# 7 more (b1-b64 1x1, b16 2x2 tiles, 1D 1x1). 8 updates ran 1.6x slower than either on b8
# c256 16x16 1x1 (11-12 ms); on the AMD VM 4 beat 8, and 16 was not measured there. Small
# accumulators keep 8: 16 lost there (b4 c64 8x8 1x1: 0.15 -> 0.22 ms, b2 c32 16x16 1x1:
# 0.12 -> 0.16).
DEFAULT_UNROLL = 8
LARGE_ACCUMULATOR_UNROLL = 16
# A contraction of at most this many rows makes one trip (see `one_trip`; or two, see
# `splits_one_trip`), which XLA fuses
# with the transpose to the output layout into a single loop over the output, with no
# accumulator: on the AVX-512 Xeon (2026-11-28, A/B in one process, trips of 8 against one
# trip of 16 rows) b128 c16 8x8 1x1 0.34 -> 0.16 ms, b64 c16 8x8 1x1 O=32 0.32 -> 0.16, b4
# c16 32x32 1x1 O=8 0.21 -> 0.12, b2 c16 32x32 1x1 0.20 -> 0.13, b1 c16 64x64 1x1 0.33 ->
# 0.25, NHWC b8 c16 16x16 1x1 0.18 -> 0.11, NHWC b4 c14 24x24 0.13 -> 0.09; ties with 10
# and 12 rows (0.09-0.10 ms). Groups of window offsets keep their trips: one trip of all 16
# rows of a 2x2 window over 4 channels tied with four grouped trips (0.097 ms), and a 3x3
# window over one channel, already one grouped trip, ran 1.0-1.16x slower unrolled.
ONE_TRIP_MAX_ROWS = 16
# A one-trip contraction over at least this many accumulator elements is split in two trips
# where the one trip would read rhs across its minor dim (see `splits_one_trip`).
SPLIT_TRIP_MIN_ACCUMULATOR = 2**16
LARGE_ACCUMULATOR = 2**18  # elements
# accumulate_loop unrolls over at most this many window offsets when it groups them. Whole
# larger windows per trip lost on the AVX-512 Xeon (2026-11-28, A/B in one process, a row of
# the window against all of it): face_7x7_s2_b8 2.91 -> 3.67 ms (7 -> 49 offsets),
# explicit_7x7_b64 1.95 -> 2.27, odd_layout_5x5_b4 0.58 -> 0.65 (5 -> 25).
MAX_WINDOW_GROUP = 16
# accumulate_loop's trips cover a group of window offsets (a window row) in two channels
# from this accumulator size on (elements; see `trip_channels`).
PAIRED_ROWS_MIN_ACCUMULATOR = 2**16
# accumulate_loop puts N just before a minor O from this batch size on whatever O and rhs's
# layout (measured, see `batch_next_to_minor_o`).
BATCH_BEFORE_MINOR_O_MIN = 8
# XLA CPU's default vector width on x86 (256-bit registers, also on AVX-512 machines, unless
# asked for 512: see `fills_wide_vectors`), which the layout rules count lanes in, and the
# fewest positions along a spatial dim that make good vector rows (see `batch_vectors`).
VECTOR_BYTES = 32
# The registers of AVX-512 hosts, which XLA CPU uses when asked (see `fills_wide_vectors`).
WIDE_VECTOR_BYTES = 64
MIN_ROW_EXTENT = 16
# Vectors along the batch pad it with zeros up to whole vectors where that adds at most
# 1 / MAX_BATCH_PADDING of a batch below MAX_PADDED_BATCH (see `batch_vectors`).
MAX_BATCH_PADDING = 3
MAX_PADDED_BATCH = 64
# Vectors along a batch of whole vectors pay on any rows when an accumulate_loop trip makes
# this many updates and at most L1_WAYS (see `batch_vectors`); trips this long also make a
# transpose of rhs in the call pay on rows of whole vectors (see `transposes_rhs`).
MIN_BATCH_VECTOR_TRIP = 5
# accumulate_loop transposes rhs in the call from this batch on, up to this many bytes of rhs
# (see `transposes_rhs`).
TRANSPOSED_RHS_MIN_BATCH = 64
TRANSPOSED_RHS_MAX_BYTES = 8 << 20
# L1 data cache geometry of x86 cores (32 KiB, 8-way): addresses a multiple of 4 KiB apart
# share a set (see `accumulator_order`).
L1_SET_STRIDE = 4096
L1_WAYS = 8


def accumulate_loop_builds_patches(spec: ConvSpec) -> bool:
    """Whether `accumulate_loop` builds the patch tensor once instead of cutting rows in the loop.

    Where windows tile the input and the update runs its vectors along a spatial dim, the
    patches are a cheap space-to-depth (reshape + transpose, see
    localconv-simplify-patch-gather) and row k is read from them: cutting strided rows in the
    loop makes those vector loads shuffles (b16 2x2 s2 OIHW: 2.1 ms against 4.8). With O
    minor each patch element is one broadcast, and the strided cut is cheaper than building
    the patches (prepacked: 1.2 ms against 1.6).
    """
    return windows_tile(spec) and rhs_tokens(spec)[-1] != "O"


def accumulate_loop_vector_dim(spec: ConvSpec) -> int | str | None:
    """What `accumulate_loop` runs its vectors along: a spatial dim, "N", or None for O.

    Along O where it transposes rhs in the call (`transposes_rhs`), else as rhs's own layout
    serves best (`vector_dim_in_rhs_layout`).
    """
    return None if transposes_rhs(spec) else vector_dim_in_rhs_layout(spec)


def vector_dim_in_rhs_layout(spec: ConvSpec) -> int | str | None:
    """What `accumulate_loop` runs its vectors along when it reads rhs in the user's layout.

    With an HWIO-like rhs (O its minor dim other than I) they run along O. With an OIHW-like
    rhs, along rhs's minor spatial dim, unless the batch serves better (`batch_vectors`).
    """
    minor = rhs_tokens(spec)[-1]
    if minor == "O":
        return None
    return "N" if batch_vectors(spec, minor) else minor


def batch_vectors(spec: ConvSpec, minor: int) -> bool:
    """Whether `accumulate_loop` runs its vectors along the batch instead of spatial dim `minor`.

    The patch rows and the accumulator then put N last, and each rhs element is broadcast
    across the batch. That pays where rows along `minor` make poor vectors (window stride
    > 1, an extent that is not a whole number of vectors, or fewer than `MIN_ROW_EXTENT`
    positions) and the batch is whole vectors: from two of them on (b16, 2026-11-27, A/B in
    one process: b16 c16 55x55 7x7 s2 7.8 -> 3.5 ms; b16 c16 32x32 3x3 s2 1.19 -> 0.48; b16
    c4 12^3 3x3x3 2.26 -> 0.81; b64 c8 20x20 7x7 3.9 -> 1.5), or from one where rows are
    unit-stride but ragged (b8 c16 63x63 9x9: 30.9 -> 13.0; b8 c16 31x31 7x7: 3.6 -> 2.2; b8
    lhs-dilated 16x16 3x3: 1.0 -> 0.68) or strided, read from stride phases (`stride_phases`).
    Where the batch is whole vectors and a trip makes `MIN_BATCH_VECTOR_TRIP` to `L1_WAYS`
    updates (`loop_trip`: 5x5 and 7x7 windows, 1D windows of 5 to 8), batch vectors won on
    rows of any kind (2026-11-27, A/B in one process against spatial vectors, 40 layers, 1D
    and 2D, b8-b64: 1.10-1.81x on all but one, b64 1D c32 k5 at 0.86x; b32 1D c64 256 k5
    6.7 -> 5.1 ms, b32 c16 36x36 5x5 17.2 -> 9.5, b16 3D 5^3 11.7 -> 7.0). With 3 or 4
    updates (1D k3, and 1x1 windows, which then made trips of 4) they lost on 8 of 9 layers
    (0.39-1.04x), with 9 or 15 the result was mixed (1D k9 0.90-1.42x; 3x3 0.70-1.22x; 3x5
    and 5x3 at 15: 0.62-0.67x).
    A batch below `MAX_PADDED_BATCH` that is not whole vectors is zero-padded up to them where
    that adds at most a third (b6-b20: 1.2-2.6x on 28 layers, e.g. b12 c16 63x63 9x9 44.5 ->
    20.1 ms, b7 c8 20x20 7x7 1.02 -> 0.60, b14 c16 55x55 7x7 s2 10.7 -> 5.5; at b100 a
    strided 3x3 layer tied with the row loop, so large batches are not padded), and a batch of
    at least half a vector is padded up to one (b4 and b5 to 8 on ragged or strided rows:
    1.01-1.46x on 9 layers, e.g. b4 c16 63x63 9x9 19.2 -> 13.1 ms; b3: 1.04x, b2: 0.88x; see
    `padding_pays`).
    Not measured to pay: vectors over a batch that is not whole vectors (b12: 0.5x), other
    trips on rows of whole vectors (b16 c16 32x32 atrous 3x3: 0.80-0.89x; b16 c256 16x16 1x1:
    0.37-0.40x; b64 c16 32x32 3x3: 0.72x), and windows that tile the input, whose
    space-to-depth patches give contiguous rows (b16 c32 32x32 2x2 s2: 0.37x).
    """
    lanes = vector_lanes(spec)
    batch = vector_batch(spec)
    padding = batch - spec.batch
    if not spec.batch or windows_tile(spec):
        return False
    if padding and not padding_pays(spec.batch, padding, lanes):
        return False
    if not padding and MIN_BATCH_VECTOR_TRIP <= loop_trip(spec)[1] <= L1_WAYS:
        return True
    extent, stride = spec.out_spatial[minor], row_strides(spec)[minor]
    ragged = extent % lanes != 0
    if batch >= 2 * lanes:
        return stride > 1 or ragged or extent < MIN_ROW_EXTENT
    return stride > 1 or ragged and extent >= MIN_ROW_EXTENT


def padding_pays(batch: int, padding: int, lanes: int) -> bool:
    """Whether batch vectors may zero-pad a batch with `padding` elements up to whole vectors.

    Where that adds at most 1 / MAX_BATCH_PADDING of a batch below MAX_PADDED_BATCH, or fills
    one vector from at least half of one (b4 and b5 to 8, see `batch_vectors`).
    """
    modest = batch < MAX_PADDED_BATCH and MAX_BATCH_PADDING * padding <= batch
    return modest or lanes <= 2 * batch < 2 * lanes


def stride_phases(spec: ConvSpec) -> bool:
    """Whether `accumulate_loop` reads its patch rows from the input split into stride phases.

    Window offset o along a dim of stride s then reads phase o % s from o // s on with unit
    stride (`emit_stride_phases`). With vectors along a batch of one vector, strided rows ran
    1.5-3.4x faster that way, and slower without (8 layers at b8, stride 2, A/B in one
    process against spatial vectors: c16 55x55 7x7 4.2 -> 2.6 ms, c8 40x40 7x7 3.1 -> 0.92,
    c32 32x32 3x3 3.7 -> 1.5, c3 64x64 5x5 1.07 -> 0.58; batch vectors on strided rows
    without phases: 5.3 -> 8.7). From two vectors of batch on the phases were 0.6-1.1x.
    """
    return (
        accumulate_loop_vector_dim(spec) == "N"
        and vector_batch(spec) < 2 * vector_lanes(spec)
        and any(stride > 1 for stride in row_strides(spec))
    )


def vector_batch(spec: ConvSpec) -> int:
    """The batch rounded up to whole vectors: what vectors along the batch run over."""
    lanes = vector_lanes(spec)
    return -(-spec.batch // lanes) * lanes


def vector_lanes(spec: ConvSpec) -> int:
    """Elements of accumulate_loop's accumulator per vector register."""
    return max(1, VECTOR_BYTES // shapes.itemsize(accumulator_dtype(spec)))


def fills_wide_vectors(spec: ConvSpec) -> bool:
    """Whether `accumulate_loop`'s vectors fill 512-bit registers, where the host has them.

    XLA CPU prefers 256-bit vectors even on AVX-512 hosts; asking it for 512-bit ones
    (`xla_cpu_prefer_vector_width`) paid where the loop runs its vectors along the batch or
    a spatial dim of at least one whole 512-bit vector (2-core AVX-512 Xeon, 2026-11-27, A/B
    in one process, 512 / 256 bits: along 16-55 positions 0.80-0.96: b8 c32 32x32 3x3 NCHW,
    b8 c256 16x16 1x1, b16 2x2 s2, b8 atrous, b1 9x9, b2 3D, b2 c32 0.98; along a batch of
    16-64 0.89-0.93: b32 1D k5, b64 7x7, b16 and b32 7x7 s2, b16 5x5; so a batch of whole
    512-bit vectors, while rows need only one of them). Shorter vectors lost:
    a batch of 8 or 4 1.07-1.17 (7x7 s2, lhs dilation, odd layout), 12 positions 1.06; and
    along O it was a wash (0.85-1.25 over 16 layers, prepacked and HWIO).
    """
    dim = accumulate_loop_vector_dim(spec)
    lanes = WIDE_VECTOR_BYTES // shapes.itemsize(accumulator_dtype(spec))
    if dim is None:
        return False
    if dim == "N":
        return vector_batch(spec) % lanes == 0
    return spec.out_spatial[dim] >= lanes


def transposes_rhs(spec: ConvSpec) -> bool:
    """Whether `accumulate_loop` transposes rhs to its packed O-minor layout in every call.

    Where packed weights run the loop's vectors along O (`packed_keeps_vectors` is false) but
    rhs's own layout runs them along the batch, along strided or short output rows
    (`short_or_strided_rows`), or along rows of whole vectors with trips of at least
    `MIN_BATCH_VECTOR_TRIP` updates, the packed loop ran up to 2x faster, and transposing a
    small rhs costs a fraction of a loop whose work grows with the batch. From a batch of
    `TRANSPOSED_RHS_MIN_BATCH` with at most `TRANSPOSED_RHS_MAX_BYTES` of rhs the transpose
    in the call paid or tied on every such measured layer (2026-11-27, A/B in one process,
    OIHW-like rhs):
    - batch vectors: b256 c3 64x64 5x5 s2 O=16, 4.7 MB: 17.1 -> 11.2 ms, b128: 7.4 -> 5.3,
      b64: 3.95 -> 2.31; b64 c16 32x32 3x3 s2 O=32: 4.9 -> 3.0; b128 1D c32 128 k5 O=32: 3.1
      -> 1.9; b128 c8 24x24 5x5 O=16, 7 MB: 5.3 -> 5.0; ties for b64 c4 8^3 3x3x3 and b80 1D
      k7 s2;
    - strided or short rows, against the row loop the cost model picked for them: b100 c3
      64x64 5x5 s2 O=16: 8.9 -> 4.7 ms; b68 c8 20x20 3x3 s2: 0.64 -> 0.41; b68 c8 12x12 3x3:
      0.83 -> 0.40;
    - rows of whole vectors, trips of 7-9: 2D 3x3 at 16x16 to 40x40, b64-b128, O=16-32:
      1.06-1.41x on 11 layers (b64 c8 24x24: 1.63 -> 1.16 ms; b128 c16 16x16: 2.47 -> 1.93);
      1D b64 k9 256: 1.19 -> 0.96, k7 128: 1.00 -> 0.79.
    Below that batch it was mixed (b48: 0.89-1.69x on 11 layers; b32: 0.58-1.22x on 10) or
    lost (b16 c3 64x64 5x5 s2: 0.72x). It lost with larger rhs, whose transpose costs more
    than it saves (b96 c4 12^3 3x3x3, 11 MB: 0.86x; b64 c8 40x40 7x7 s2, 9.6 MB: 1.02x), and
    on rows of whole vectors with trips of 3 (b64 1D c16 256 k3: 0.48x, 64 and 32 positions:
    0.5x) or tiles (b64 c8 64x64 2x2 s2: 0.85x); 1x1 windows tied with trips of 4, and with
    trips of 16 (large accumulators, see `LARGE_ACCUMULATOR_UNROLL`) the transpose paid
    (2026-11-28: b128 c16 8x8 1x1 O=16 0.36 -> 0.16 ms, b64 c32 16x16 1x1 1.21 -> 1.13).
    A loop of one trip (`one_trip`) is fused by XLA into one loop over the output, which
    reads rhs in place: it is not transposed (b128 c16 8x8 1x1: 0.14-0.19 ms either way).
    """
    own = vector_dim_in_rhs_layout(spec)
    if own is None or accumulate_loop_builds_patches(spec) or one_trip(spec):
        return False
    long_trips = loop_trip(spec)[1] >= MIN_BATCH_VECTOR_TRIP
    poor_vectors = own == "N" or short_or_strided_rows(spec, own) or long_trips
    rhs_bytes = math.prod(spec.rhs_shape) * shapes.itemsize(spec.rhs_dtype)
    return (
        spec.batch >= TRANSPOSED_RHS_MIN_BATCH
        and rhs_bytes <= TRANSPOSED_RHS_MAX_BYTES
        and poor_vectors
        and not packed_keeps_vectors(spec)
    )


def short_or_strided_rows(spec: ConvSpec, dim: int) -> bool:
    """Whether output rows along spatial dim `dim` make poor vectors for accumulate_loop.

    Vectors along them load the input `window_strides[dim]` elements apart, or run along
    fewer than `MIN_ROW_EXTENT` positions (one position is no row: that dim vanishes). Where
    the loop builds patches first (windows that tile the input) its rows are contiguous
    whatever the stride.
    """
    extent = spec.out_spatial[dim]
    if extent == 1 or accumulate_loop_builds_patches(spec):
        return False
    return row_strides(spec)[dim] > 1 or extent < MIN_ROW_EXTENT


def accumulate_loop_packed_order(spec: ConvSpec) -> tuple[int, ...]:
    """rhs's dims (major first) in the layout weights prepacked for `accumulate_loop` take.

    [I, O, spatial...] where that keeps the loop's vectors (`packed_keeps_vectors`), else
    [I, spatial..., O]: each trip then reads one contiguous slice. With at most one loop
    trip (`loop_trips`: `one_trip`, or one trip and rows peeled after it), XLA drops the loop
    and fuses the updates into one loop over the output, which reads rhs in the output's
    order, so the packed weights take it, after I: O-minor packing read them with strided
    loads there (2026-11-28, A/B in one process, O-minor against output order: b1 c16 64x64
    1x1 1.14 ms against 0.26; b64 c16 8x8 1x1 0.84 against 0.16; b8 c1 32x32 3x3 0.31
    against 0.16; NHWC b8 c16 16x16 1x1 a tie; one trip and peeled rows, O-minor: b64 c3
    32x32 3x3 67.7 ms and b64 c24 16x16 1x1 4.9 against 3.6 and 0.49 in the user's layout).
    The two trips of `splits_one_trip` take the output's order too: [I, O, H, W] ran them
    0.89-0.99 ms (b4 c12 32x32 1x1, b4 c14 24x24, b2 c10 48x48), the output's order 0.21 and
    0.23 on the first two (b16 c10 20x20: 0.18, against 0.40 for the batched dot's packed
    weights).
    """
    perms = spec.dimension_numbers
    if loop_trips(spec) <= 1 or splits_one_trip(spec):
        by_output = sorted([(perms.out[1], perms.rhs[0]), *zip(perms.out[2:], perms.rhs[2:], strict=True)])
        return (perms.rhs[1], *(rhs_dim for _, rhs_dim in by_output))
    if packed_keeps_vectors(spec):
        return (perms.rhs[1], perms.rhs[0], *sorted(perms.rhs[2:]))
    return (perms.rhs[1], *perms.rhs[2:], perms.rhs[0])


def packed_keeps_vectors(spec: ConvSpec) -> bool:
    """Whether weights prepacked for accumulate_loop keep the vectors it runs in rhs's layout.

    Packed O-minor ([I, spatial..., O]), the update runs along O. With fewer than two vectors
    of output features that lost, on every measured layer with O = 8, to vectors along a
    batch of at least one vector or along unit-stride rows of whole vectors, which [I, O,
    spatial...] keeps (A/B in one process, O-minor against it: b64 c8 20x20 7x7 4.05 ms
    against 1.65; b64 c4 12^3 3x3x3 5.4 against 2.4; b8 c32 32x32 3x3 1.12 against 0.76; b8
    atrous 0.78 against 0.44; b8 1D 0.53 against 0.37; b2 c8 16^3 3x3x3 1.32 against 0.90).
    O-minor won with ragged rows (b2 c16 28x28 5x5: 0.42 against 0.58; b4 c16 63x63 9x9
    with spatial vectors: 6.9 against 8.9), with O = 16 (b8 c16 31x31 7x7, batch vectors:
    1.69 against 2.07), and for batch vectors over a batch padded up to one vector (b4 c16
    30x30 3x3 O=8: 0.30 against 0.40; b6: 0.40 against 0.49; odd_layout_5x5_b4: 0.30 against
    0.44; b7 c8 20x20 7x7: a tie).

    Vectors along rows of whole vectors, at least `MIN_ROW_EXTENT` long, are also kept,
    whatever O, for a batch of 2 to `BATCH_BEFORE_MINOR_O_MIN` - 1: an O-minor accumulator
    keeps that batch outside the spatial dims (`accumulator_order`), so each rhs vector is
    loaded for one multiply-add. A/B in one process (2026-11-28, AVX-512 Xeon, 32x32 outputs
    unless given, O-minor against kept vectors, with the user's OIHW layout for scale): b2
    c16 5x5 O=16 1.76 -> 1.45 ms (user 1.46), b4 c16 7x7 3.53 -> 2.22 (2.18), b4 c32 3x3 O=32
    2.54 -> 1.45 (1.68), b2 c32 3x3 1.38 -> 0.81 (0.80), b4 c8 48x48 5x5 2.14 -> 1.25 (1.78),
    b4 c16 3x3 0.74 -> 0.60 (0.56), b4 c16 3x3 O=64 3.17 -> 1.61 (1.53), b6 c16 3x3 0.95 ->
    0.80 (0.76), b4 c16 24x24 3x3 O=128 3.59 -> 2.05 (2.34), b2 c64 16x16 3x3 O=256 9.31 ->
    6.85 (10.1), b4 c128 16x16 3x3 O=256 27.2 -> 13.5 (21.5), b2 c8 64x64 3x3 O=512 45.1 ->
    38.4 (40.6), b4 c8 33x16 3x3 with lhs and rhs dilation 0.34 -> 0.27 (0.28). Rows of 8
    positions lost (b4 c16 8x8 3x3 O=64 0.36 -> 0.62, b4 c64 8x8 O=256 2.10 -> 6.42), as did
    a batch of one (O-minor: b1 c16 5x5 1.12 against 1.19 in the user's layout, b1 c32 64x64
    3x3 2.29 against 2.44). Since an O-minor accumulator puts such a batch next to O where O
    is two vectors or more (`batch_next_to_minor_o`), O-minor packing ties with the kept
    rows there (same machine, O-minor against kept: b4 c32 3x3 O=32 1.74 against 1.63 ms,
    b4 c16 7x7 2.04 against 2.20, b4 c16 3x3 O=64 1.82 against 1.64, b4 c16 24x24 O=128 1.95
    against 2.27, b2 c64 16x16 O=256 7.8 against 7.7, 6 more within 5%), so the rule stays.
    """
    dim = vector_dim_in_rhs_layout(spec)
    lanes = vector_lanes(spec)
    if dim is None:
        return False
    few_features = spec.out_features < 2 * lanes
    if dim == "N":
        return few_features and spec.batch >= lanes
    extent = spec.out_spatial[dim]
    whole_rows = row_strides(spec)[dim] == 1 and extent > 0 and extent % lanes == 0
    small_batch = 1 < spec.batch < BATCH_BEFORE_MINOR_O_MIN and not short_or_strided_rows(spec, dim)
    return whole_rows and (few_features or small_batch)


def accumulator_dtype(spec: ConvSpec) -> str:
    """The dtype accumulate_loop sums in: f32 for f16/bf16 results, else the result dtype."""
    return "float32" if spec.out_dtype in ("float16", "bfloat16") else spec.out_dtype


def accumulator_elements(spec: ConvSpec) -> int:
    """The elements of accumulate_loop's accumulator: the output's (batch padding aside)."""
    return spec.batch * spec.out_features * math.prod(spec.out_spatial)


def large_accumulator(spec: ConvSpec) -> bool:
    """Whether accumulate_loop's accumulator has `LARGE_ACCUMULATOR` elements or more."""
    return accumulator_elements(spec) >= LARGE_ACCUMULATOR


def loop_trip(spec: ConvSpec) -> tuple[int | None, int]:
    """accumulate_loop's trip: (first window dim of the offsets it groups or None, updates).

    A group of window offsets (`window_group`, asked for at least `GROUP_OFFSETS`) where
    there is one, else an unroll (`DEFAULT_UNROLL`); both by the accumulator's size. An
    unrolled trip takes every row where there are at most `ONE_TRIP_MAX_ROWS`, or half of them
    where that one trip would read rhs across its minor dim (`splits_one_trip`).
    """
    large = large_accumulator(spec)
    if not accumulate_loop_builds_patches(spec):
        offsets = LARGE_ACCUMULATOR_GROUP_OFFSETS if large else GROUP_OFFSETS
        group = window_group(spec.filter_shape, max(1, min(offsets, spec.patch_size)))
        if group is not None:
            return group, math.prod(spec.filter_shape[group:])
    unroll = LARGE_ACCUMULATOR_UNROLL if large else DEFAULT_UNROLL
    if spec.patch_size <= ONE_TRIP_MAX_ROWS:
        unroll = spec.patch_size // 2 if splits_one_trip(spec) else spec.patch_size
    return None, max(1, min(unroll, spec.patch_size))


def splits_one_trip(spec: ConvSpec) -> bool:
    """Whether accumulate_loop makes two trips of half the rows where it would make one.

    That is: 1x1 windows with unit strides over an even channel count of 10 to
    `ONE_TRIP_MAX_ROWS`, an output whose minor dim is O with an rhs whose minor dim is spatial
    (NHWC activations, OIHW weights), a batch below `TRANSPOSED_RHS_MIN_BATCH` (from there trips
    of 8 rows would transpose rhs in the call, unmeasured here) and an accumulator of at least
    `SPLIT_TRIP_MIN_ACCUMULATOR` elements. XLA fuses one trip with the transpose to the output
    layout into one loop over the output that reads rhs across its minor dim, element by
    element; a loop of two trips it keeps. The trips' 5-8 updates make a batch of whole vectors
    run the loop's vectors along it (`batch_vectors`: b8-b32 below). On the AVX-512 Xeon
    (2026-11-28, A/B in one process, one trip -> two, with the batched dot the cost model picked
    for one trip, and JAX's lowering): b4 c16 32x32 O=32 2.15 -> 0.39 ms (dot 0.60, JAX 0.62),
    b1 c16 32x32 O=64 2.39 -> 0.39 (0.80, 0.80), b2 c16 48x48 O=32 1.38 -> 0.44 (0.99, 0.99), b8
    c16 32x32 O=16 1.02 -> 0.33 (0.52, 0.50), b1 c16 64x64 O=16 0.67 -> 0.36 (0.83, 0.87), b8
    c16 24x24 O=16 0.72 -> 0.28 (0.39, 0.36), b4 c12 32x32 O=32 0.94 -> 0.41 (0.53, 0.48), b4
    c14 24x24 O=48 0.97 -> 0.37 (0.52, 0.54), b2 c10 48x48 O=32 1.07 -> 0.46 (0.80, 0.75), b1
    c12 64x64 O=24 0.78 -> 0.50 (1.26, 1.26); with large accumulators (two trips against the
    dot, JAX): b8 c16 64x64 O=128 (4.2M elements) 5.8 ms against 26.8 (27.0), b2 c16 64x64 O=96
    1.8 against 9.1 (11.3), b4 c16 64x64 O=64 1.7 against 3.6 (5.8), b8 c12 48x48 O=64 1.4
    against 2.1 (2.4); ties with the dot at b16 and b32 c16 16x16 (0.34-0.37 ms) and b16 c16
    32x32 O=64 (1.4). With 32768 elements the dot won (b8 c16 16x16 O=16: 0.18 against 0.12), as
    it did for the opposite mix (NCHW with HWIO weights, b1 c16 64x64 1x1: 0.44 against 0.30).
    """
    perms = spec.dimension_numbers
    out_minor_o = perms.out[1] == spec.num_spatial + 1
    rhs_minor_spatial = max(perms.rhs[2:], default=-1) == spec.num_spatial + 1
    return (
        math.prod(spec.filter_shape) == 1
        and all(stride == 1 for stride in spec.window_strides)
        and spec.patch_size % 2 == 0
        and 10 <= spec.patch_size <= ONE_TRIP_MAX_ROWS
        and out_minor_o
        and rhs_minor_spatial
        and spec.batch < TRANSPOSED_RHS_MIN_BATCH
        and accumulator_elements(spec) >= SPLIT_TRIP_MIN_ACCUMULATOR
    )


def trip_channels(spec: ConvSpec) -> int:
    """How many input channels one accumulate_loop trip covers: 1, or 2 where the trip groups
    a whole window (`loop_trip`) over a large accumulator or over short rows
    (`short_row_windows`), or where it groups part of the
    window (a row, at most half `MAX_WINDOW_GROUP` offsets) over an even number of channels
    and an accumulator of `PAIRED_ROWS_MIN_ACCUMULATOR` elements or more.

    The accumulator is then read and written once per two channels' groups. On the AVX-512
    Xeon (2026-11-28, A/B in one process, one channel against two per trip, twice): b8 c32
    32x32 3x3 2.12/2.31 -> 1.99/2.15 ms, NHWC b8 c32 32x32 3x3 3.60/4.00 -> 3.13/3.23, b32 1D
    c64 256 k5 4.13/3.94 -> 3.61/3.52 (prepacked 3.93/4.06 -> 3.34/3.26), b32 1D k3 4.39 ->
    2.95, b16 1D k7 3.31 -> 3.00, b16 c16 32x32 3x3 1.31 -> 1.23, b64 c8 16x16 3x3 1.30 ->
    1.21, NHWC b8 c16 48x48 3x3 1.83 -> 1.76; b4 c32 32x32 3x3 O=64 2.61 -> 2.69. Small
    accumulators stay in cache and lost (b8 c16 16x16 3x3 lhs-dilated 0.80 -> 0.92; atrous
    b8 c16 32x32 a tie), and three or four channels per trip lost everywhere (demo b8 c32
    3x3: 2.6 ms with four). The rules that judge a trip's vectors (`batch_vectors`,
    `transposes_rhs`) count one channel's updates, as they were measured;
    `accumulator_order` counts the whole trip's rows.

    Rows of two channels (2026-11-28, same machine, user layout, 32x32 outputs unless
    given): b64 c8 20x20 7x7 2.13/2.09 -> 1.71/1.70 ms, b4 c16 7x7 (65536 elements) 2.80 ->
    1.96, b16 c16 7x7 6.15 -> 5.21, NHWC b8 c16 7x7 7.92 -> 7.00, b4 c16 5x5 O=32 2.74 -> 2.01,
    b8 c16 5x5 2.44 -> 1.88, b32 c8 24x24 5x5 1.92 -> 1.57, NHWC b32 c8 24x24 5x5 2.14 -> 1.56,
    b64 c16 24x24 5x5 6.14 -> 4.86, b16 c8 48x48 6x6 s2 1.62 -> 1.38, b4 c4 16^3 5x5x5 4.24 ->
    2.60, b16 c8 8x8 3.73 -> 3.10, b4 c16 8x8 3.80 -> 2.67, NHWC b16 c8 8x8 6.93 -> 6.22, b16
    c8 4x4 (rows of 4) 1.61/1.63 -> 1.30/1.24, b16 c8 9x2 (rows of 2) 2.82/2.54 -> 1.96/1.81,
    b16 c8 3x7 1.56 -> 1.39; b8 c16 55x55 7x7 s2 (80000 elements) 2.86-2.91 -> 2.57-2.82;
    weights prepacked moved 0.94-1.06x. Below 2**16 elements they lost (odd_layout_5x5_b4,
    16928 elements: 0.56-0.60 -> 0.64-0.66), as did odd channel counts, whose last channel
    runs after the loop, one update at a time (b64 c3 20x20 7x7 1.14 -> 1.94, b256 c3 64x64
    5x5 s2 16.4 -> 37.5). Where XLA CPU splits a trip's update across its threads (outputs
    of 512 KB or more), fewer trips also mean fewer hand-offs to the other core: b64 c8 20x20
    7x7's loop of single-channel trips ran 1.9 ms on one core or two.
    """
    group, updates = loop_trip(spec)
    if group == 0:
        whole_windows = spec.patch_size >= 2 * updates
        return 2 if whole_windows and large_accumulator(spec) or short_row_windows(spec) else 1
    paired_rows = (
        group is not None
        and 2 * updates <= MAX_WINDOW_GROUP
        and spec.in_features % 2 == 0
        and accumulator_elements(spec) >= PAIRED_ROWS_MIN_ACCUMULATOR
    )
    return 2 if paired_rows else 1


def short_row_windows(spec: ConvSpec) -> bool:
    """Whether accumulate_loop's whole-window trips run their vectors along short rows.

    That is: each trip is one channel's whole window of at least `GROUP_OFFSETS` offsets
    (`loop_trip`), the vectors run along an output row of 2 to one vector's positions in
    the user's layout (`vector_dim_in_rhs_layout`), and there are an even number of at least
    4 channels, which `trip_channels` then pairs whatever the accumulator's size.

    Such trips of one channel ran 1.01-4x slower than trips of two (17 layers), also over small
    accumulators, in the user's OIHW layout (2026-11-28, AVX-512 Xeon, A/B in one process,
    3x3 SAME, one channel -> two, runs in separate processes split by "/"): b1 c128 8x8
    O=128 6.4/8.3/6.8/7.6 -> 1.6/2.6/2.5/2.2 ms, b2 c128 8x8 O=64 5.0/2.6/2.6/2.5 ->
    1.2/1.2/1.1/1.1, b8 c32 8x8 O=32 0.97/0.95/0.89 -> 0.42/0.44/0.39, b4 c64 8x8 1.85 ->
    0.81, b1 c64 8x8 0.85 -> 0.51, b1 c32 8x8 0.30 -> 0.21, b4 c16 8x8 O=64 0.54 -> 0.35, b1
    c16 8x8 O=32 0.18 -> 0.12, b1 c64 8x8 O=16 0.24 -> 0.19, b1 c64 16x8 1.41 -> 0.84, b1 c64
    16x16 stride 2 1.02 -> 0.64, b4 c64 10x10 VALID 1.22 -> 0.68, b1 c64 7x7 0.68/0.71 ->
    0.54/0.55, b1 c128 6x6 2.04 -> 1.69, b1 c256 4x4 5.9/2.2/3.0/3.0 -> 4.7/2.2/2.1/2.1, b2
    c64 4x4 O=128 0.69 -> 0.68, 1D b1 c64 8 k9 0.15 -> 0.12. Weights prepacked O-minor run
    their vectors along O and were not affected (b1 c128 8x8: 1.5 ms either way). Not paired,
    as not measured to pay: rows of 10 to 16 positions (b1 c64 O=64: 10x10 0.86 -> 0.89,
    12x12 1.19/1.05/1.11 -> 1.01/1.28/1.21, 14x14 1.03 -> 0.87, 16x16 1.29 -> 1.14 and O=16
    0.45 -> 0.47; b1 c32 24x24 O=16 0.51 -> 0.63), vectors along O (NHWC b2 c32 16x16 0.80
    -> 0.91) or the batch (b16 c16 8x8 O=16: a tie), and 2x2 windows (b1 c64 8x8 0.39/0.43
    -> 0.53/0.49, where four channels made 0.30/0.28). Four or eight channels per trip tied
    with two (b1 c128 8x8: 1.55 ms), sixteen lost (5.6).
    """
    group, updates = loop_trip(spec)
    dim = vector_dim_in_rhs_layout(spec)
    return (
        group == 0
        and updates >= GROUP_OFFSETS
        and isinstance(dim, int)
        and 1 < spec.out_spatial[dim] <= vector_lanes(spec)
        and spec.in_features % 2 == 0
        and spec.in_features >= 4
    )


def loop_spec(spec: ConvSpec) -> ConvSpec:
    """The convolution accumulate_loop builds its loop for: `spec`, with rhs in its packed
    order where the loop transposes it in the call (`transposes_rhs`)."""
    return spec.with_rhs_order(accumulate_loop_packed_order(spec)) if transposes_rhs(spec) else spec


def loop_trips(spec: ConvSpec) -> int:
    """How many trips accumulate_loop's while loop makes; the rows they leave are peeled after it.

    Trips of a group of window offsets (`loop_trip`) cover whole groups of `trip_channels`
    channels; unrolled trips take `trip_rows` consecutive rows.
    """
    group, updates = loop_trip(spec)
    if group is None:
        return spec.patch_size // trip_rows(spec)
    return spec.in_features // trip_channels(spec) * (math.prod(spec.filter_shape) // updates)


def one_trip(spec: ConvSpec) -> bool:
    """Whether accumulate_loop's first trip covers the whole contraction: then it is no loop.

    XLA fuses that trip, with the transpose to the output layout, into one loop over the
    output, which reads rhs along the output's minor dim (see `ONE_TRIP_MAX_ROWS`).
    """
    return trip_rows(spec) >= spec.patch_size


def trip_rows(spec: ConvSpec) -> int:
    """The contraction rows one accumulate_loop trip covers: `loop_trip`'s updates for each of
    `trip_channels` channels."""
    return loop_trip(spec)[1] * trip_channels(spec)


def window_group(filter_shape: tuple[int, ...], offsets: int) -> int | None:
    """The first window dim of the offsets one accumulate_loop trip covers, or None.

    The group is the trailing window dims [m:]: the smallest such group with at least
    `offsets` offsets and at most `MAX_WINDOW_GROUP`, else the largest with at most
    max(offsets, last window extent). None when that is a single offset (1x1 windows, no
    spatial dims) or more than `MAX_WINDOW_GROUP`: the trip then takes consecutive rows of
    the contraction (`loop_trip`).
    """
    sizes = [(m, math.prod(filter_shape[m:])) for m in reversed(range(len(filter_shape)))]
    at_least = [(m, size) for m, size in sizes if offsets <= size <= MAX_WINDOW_GROUP]
    at_most = [(m, size) for m, size in sizes if size <= max(offsets, filter_shape[-1])]
    m, size = at_least[0] if at_least else at_most[-1] if at_most else (None, 1)
    return m if 1 < size <= MAX_WINDOW_GROUP else None


def accumulator_order(spec: ConvSpec, tokens: list, rows_per_trip: int, batch_minor: bool = False) -> list:
    """accumulate_loop's accumulator dims: rhs's dims without I (`tokens`: "O" or a spatial
    index, in rhs's order), + "N".

    With vectors along the batch (`batch_minor`, see `batch_vectors`) N goes last.
    Before a minor O, N goes next to it where `batch_next_to_minor_o`, else first.
    Before a minor spatial dim, N goes right after O (the update walks acc and
    the patch rows in order), unless the rhs rows one trip reads (`rows_per_trip`, each
    a row of rhs after the last) fall into one L1 set: a multiple of
    `L1_SET_STRIDE` apart and more of them than `L1_WAYS`. Re-read once per batch element,
    they then evict each other, and N goes next to the minor dim so that each row is reused
    while it is in L1 (b8 3x3 32x32 OIHW: 4.7 -> 3.7 ms, b2 3x3x3 16^3: 1.7 -> 1.4; at 40x40
    and 48x48, with no aliasing, the same order is 14-20% slower).
    """
    if batch_minor:
        return [*tokens, "N"]
    perms = spec.dimension_numbers
    rhs_row_stride = math.prod(spec.rhs_shape[perms.rhs[1] + 1 :]) * shapes.itemsize(spec.rhs_dtype)
    minor_is_o = tokens[-1] == "O"
    aliasing = rhs_row_stride % L1_SET_STRIDE == 0 and rows_per_trip > L1_WAYS
    if minor_is_o and batch_next_to_minor_o(spec) or not minor_is_o and aliasing:
        at = len(tokens) - 1
    elif minor_is_o:
        at = 0
    else:
        at = tokens.index("O") + 1
    return [*tokens[:at], "N", *tokens[at:]]


def batch_next_to_minor_o(spec: ConvSpec) -> bool:
    """Whether accumulate_loop's accumulator puts N just before a minor O, or else first.

    Next to O, the fused update walks the batch while one rhs slice is in L1 (prepacked [I,
    HW, O]: 7.1 -> 3.8 ms). It does so from a batch of `BATCH_BEFORE_MINOR_O_MIN`, and from
    a batch of 2 where O is at least two vectors or rhs's rows are interleaved (I is not its
    major dim, e.g. HWIO: a trip then reads a short slice at each position, which N first
    would fetch again for every batch element). A/B in one process (2026-11-28, AVX-512
    Xeon, N first -> next to O, user HWIO layout / prepacked [I, spatial..., O]): b4 c32
    32x32 3x3 O=32 6.18 -> 2.36 ms / 2.51 -> 1.53, b2 c32 32x32 2.70 -> 2.10 / 1.58 -> 1.26,
    b6 c32 16x16 1.34 -> 0.95 / 0.88 -> 0.76, b2 c64 16x16 O=64 2.15 -> 1.87, b4 c64 3.06 ->
    2.00, b3 c16 24x24 O=24 0.84 -> 0.60 / 0.77 -> 0.50, b4 c16 32x32 5x5 O=16 2.37 -> 1.52 /
    1.70 -> 1.20, b4 c8 32x32 7x7 O=16 2.38 -> 1.25 / 1.70 -> 1.13, b2 1D c64 256 k5 1.60 ->
    1.12 / 1.10 -> 1.03, b2 c8 16^3 3x3x3 O=16 4.73 -> 3.46 / 2.48 -> 1.73; prepacked OIHW b4
    c16 63x63 9x9 O=16 23.2 -> 11.5. With O = 8 the user's HWIO layout won too (b4 c16 32x32
    3x3 1.22 -> 0.71, b4 c4 12^3 3x3x3 1.79 -> 0.80, b4 c8 20x20 7x7 1.26 -> 0.73, b2 c8
    32x32 0.45 -> 0.41, b2 c8 16^3 5.7 -> 5.4), but prepacked weights lost (0.22 -> 0.37,
    0.57 -> 0.63, 0.49 -> 0.74, b2 c8 16^3 1.38-1.61 -> 2.11-2.18; b4 c4 12^3 won, 0.94 ->
    0.76): that inner loop of 8 lanes is too short to pay.
    """
    if spec.batch >= BATCH_BEFORE_MINOR_O_MIN:
        return True
    interleaved_rows = spec.dimension_numbers.rhs[1] != 0
    wide = spec.out_features >= 2 * vector_lanes(spec)
    return spec.batch >= 2 and (interleaved_rows or wide)


def row_strides(spec: ConvSpec) -> tuple[int, ...]:
    """The window stride along each spatial dim as accumulate_loop's rows step through the input.

    1 along a dim with at most one output position: no step is ever taken there, and the
    stride phases (`stride_phases`) would otherwise pad the input up to a whole stride along
    it (a stride of 10**6 over 5 elements asked for 128 TB).
    """
    pairs = zip(spec.window_strides, spec.out_spatial, strict=True)
    return tuple(stride if extent > 1 else 1 for stride, extent in pairs)


def windows_tile(spec: ConvSpec) -> bool:
    """Whether the receptive windows tile the input: stride == window, no window dilation."""
    return (
        any(k > 1 for k in spec.filter_shape)
        and tuple(spec.window_strides) == tuple(spec.filter_shape)
        and all(d == 1 for d in spec.rhs_dilation)
    )


def rhs_tokens(spec: ConvSpec) -> list:
    """rhs's dims other than I, in rhs's own order: "O" or a spatial index."""
    perms = spec.dimension_numbers
    return [
        "O" if p == perms.rhs[0] else perms.rhs[2:].index(p)
        for p in range(spec.num_spatial + 2)
        if p != perms.rhs[1]
    ]
