"""Every contraction strategy the cost model can pick, at realistic sizes, against JAX.

XLA CPU has miscompiled some algebraically valid forms only past a size threshold (a
multiply-reduce fusion went wrong beyond 32768 outputs with K >= 16), so each strategy runs
here on layers with hundreds of thousands of outputs and long contractions, in the user's
layout and with prepacked weights. The cost model's own choices are checked too.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from jax import lax

import localconv
from localconv.accumulate_layout import (
    TRANSPOSED_RHS_MAX_BYTES,
    accumulate_loop_vector_dim,
    accumulator_order,
    batch_next_to_minor_o,
    large_accumulator,
    loop_trip,
    loop_trips,
    one_trip,
    packed_keeps_vectors,
    rhs_tokens,
    short_row_windows,
    splits_one_trip,
    stride_phases,
    transposes_rhs,
    trip_channels,
    vector_dim_in_rhs_layout,
)
from localconv.api import lower_spec, packed_order, packed_spec
from localconv.contraction import STRATEGIES
from localconv.cost_model import (
    LARGE_BATCH,
    LARGE_MATMUL_FLOPS,
    MANY_POSITIONS,
    MATVEC_DOT_FLOPS,
    REDUCE_MAX_FLOPS,
    candidate_strategies,
    choose_strategy,
    estimate,
    one_trip_across_rhs,
    row_patch_bytes,
)
from localconv.lowering.pipelines import default_pipeline
from localconv.row_loop import row_loop_weights_left

NCHW = ("NCHW", "OIHW", "NCHW")
NHWC = ("NHWC", "HWIO", "NHWC")
NCH = ("NCH", "OIH", "NCH")
NHWC_OIHW = ("NHWC", "OIHW", "NHWC")

# (name, lhs shape, out features, strides, padding, filter, dimension numbers, extra kwargs)
LAYERS = [
    ("b8_c32_32x32_3x3_oihw", (8, 32, 32, 32), 32, (1, 1), "SAME", (3, 3), NCHW, {}),
    ("b8_c32_32x32_3x3_hwio", (8, 32, 32, 32), 32, (1, 1), "SAME", (3, 3), NHWC, {}),
    ("b1_c16_31x31_9x9", (1, 16, 31, 31), 16, (1, 1), "VALID", (9, 9), NCHW, {}),
    ("b64_c8_20x20_7x7_s2", (64, 8, 20, 20), 8, (2, 2), ((3, 3), (3, 3)), (7, 7), NCHW, {}),
    ("b8_c8_30x30_5x5_ragged", (8, 8, 30, 30), 16, (1, 1), "SAME", (5, 5), NCHW, {}),
    ("b12_c8_27x27_3x3_s2_padded_batch", (12, 8, 27, 27), 16, (2, 2), "VALID", (3, 3), NCHW, {}),
    ("b4_c8_30x30_5x5_half_vector_batch", (4, 8, 30, 30), 8, (1, 1), "SAME", (5, 5), NCHW, {}),
    ("b16_c8_32x32_5x5_paired_rows", (16, 8, 32, 32), 16, (1, 1), "SAME", (5, 5), NCHW, {}),
    ("b64_c3_32x32_5x5_s2_rhs_transposed", (64, 3, 32, 32), 16, (2, 2), "SAME", (5, 5), NCHW, {}),
    ("b68_c8_20x20_3x3_s2_rhs_transposed", (68, 8, 20, 20), 16, (2, 2), "SAME", (3, 3), NCHW, {}),
    # Trips of two channels' 3x3 windows (a large accumulator), 7 channels: one peeled.
    ("b8_c7_32x32_3x3_two_channel_trips", (8, 7, 32, 32), 32, (1, 1), "SAME", (3, 3), NCHW, {}),
    # Trips of a window row in two channels (`trip_channels`): channels last; a 3D window with
    # rhs dilation (rows of the last dim, two leading offsets per trip); stride phases.
    ("b32_c8_24x24_5x5_hwio_paired_rows", (32, 24, 24, 8), 16, (1, 1), "SAME", (5, 5), NHWC, {}),
    (
        "b4_c2_16x16x16_5x5x5_dilated_paired_rows",
        (4, 2, 16, 16, 16),
        8,
        (1, 1, 1),
        "SAME",
        (5, 5, 5),
        ("NCDHW", "OIDHW", "NCDHW"),
        {"rhs_dilation": (1, 2, 1)},
    ),
    ("b8_c16_55x55_7x7_s2_phased_paired_rows", (8, 16, 55, 55), 16, (2, 2), "VALID", (7, 7), NCHW, {}),
    # Whole 3x3 windows of two channels over rows of at most one vector (`short_row_windows`),
    # whatever the accumulator's size: 8x8 outputs, and 8x8 from a stride of 2.
    ("b1_c64_8x8_3x3_o64_short_rows", (1, 64, 8, 8), 64, (1, 1), "SAME", (3, 3), NCHW, {}),
    ("b1_c32_16x16_3x3_s2_short_rows", (1, 32, 16, 16), 32, (2, 2), "SAME", (3, 3), NCHW, {}),
    # HWIO at batch 4: the accumulator puts N next to the minor O (`batch_next_to_minor_o`);
    # at batch 1 with K * O >= 32768 the cost model picks the batched dot.
    ("b4_c16_32x32_3x3_hwio_batch_next_to_o", (4, 32, 32, 16), 32, (1, 1), "SAME", (3, 3), NHWC, {}),
    ("b1_c64_16x16_3x3_o64_hwio_matvec", (1, 16, 16, 64), 64, (1, 1), "SAME", (3, 3), NHWC, {}),
    # One loop trip of two channels' 3x3 windows, the third channel peeled: prepacked in the
    # output's order, like a single trip (XLA fuses both into one loop over the output).
    ("b64_c3_32x32_3x3_one_loop_trip", (64, 3, 32, 32), 32, (1, 1), "SAME", (3, 3), NCHW, {}),
    # Few output positions (3x3) at batch 32: the cost model picks the row loop.
    ("b32_c16_7x7_5x5_few_positions", (32, 16, 7, 7), 16, (1, 1), "VALID", (5, 5), NCHW, {}),
    # Few output positions of wide matmuls at batch 8: a matmul per position (2x2, OIHW, small
    # [K, O] slices), a batched dot (2x2 with larger slices, and 3x3), a single position (HWIO).
    ("b8_c64_4x4_3x3_o64_few_positions_per_position", (8, 64, 4, 4), 64, (1, 1), "VALID", (3, 3), NCHW, {}),
    ("b8_c32_8x8_7x7_o128_few_positions_dot", (8, 32, 8, 8), 128, (1, 1), "VALID", (7, 7), NCHW, {}),
    ("b8_c64_5x5_3x3_o128_few_positions_dot", (8, 64, 5, 5), 128, (1, 1), "VALID", (3, 3), NCHW, {}),
    ("b8_c32_5x5_5x5_o96_one_position_hwio", (8, 5, 5, 32), 96, (1, 1), "VALID", (5, 5), NHWC, {}),
    # Mixed layouts whose accumulate loop would be one trip reading rhs across its minor dim:
    # the cost model picks the batched dot.
    (
        "b8_c16_32x32_1x1_nchw_hwio",
        (8, 16, 32, 32),
        64,
        (1, 1),
        "VALID",
        (1, 1),
        ("NCHW", "HWIO", "NCHW"),
        {},
    ),
    ("b8_c1_32x32_3x3_nhwc_oihw", (8, 32, 32, 1), 32, (1, 1), "SAME", (3, 3), ("NHWC", "OIHW", "NHWC"), {}),
    # ... and one trip of two channels' windows with the third channel's rows peeled after it.
    (
        "b8_c3_32x32_3x3_nchw_hwio_peeled",
        (8, 3, 32, 32),
        32,
        (1, 1),
        "SAME",
        (3, 3),
        ("NCHW", "HWIO", "NCHW"),
        {},
    ),
    # NHWC with OIHW weights over 1x1 windows of 16 channels: two trips of 8 rows where one
    # trip would read rhs across its minor dim (`splits_one_trip`).
    ("b4_c16_32x32_1x1_nhwc_oihw_split_trip", (4, 32, 32, 16), 32, (1, 1), "VALID", (1, 1), NHWC_OIHW, {}),
    (
        "b8_c16_32x32_1x1_nhwc_oihw_split_trip_batch_vectors",
        (8, 32, 32, 16),
        16,
        (1, 1),
        "VALID",
        (1, 1),
        NHWC_OIHW,
        {},
    ),
    # A small batch with rows of whole vectors: weights prepack [I, O, H, W] even with O = 64.
    ("b4_c16_32x32_3x3_o64_rows_kept", (4, 16, 32, 32), 64, (1, 1), "SAME", (3, 3), NCHW, {}),
    # 1x1 windows: trips of 16 rows over a large accumulator, and one trip of the whole
    # contraction, prepacked in the output's order (NCHW, NHWC, an odd permutation).
    ("b8_c64_32x32_1x1_trips_of_16", (8, 64, 32, 32), 32, (1, 1), "VALID", (1, 1), NCHW, {}),
    ("b8_c16_32x32_1x1_one_trip", (8, 16, 32, 32), 16, (1, 1), "VALID", (1, 1), NCHW, {}),
    ("b4_c12_24x24_1x1_one_trip_hwio", (4, 24, 24, 12), 24, (1, 1), "VALID", (1, 1), NHWC, {}),
    (
        "b16_c16_24x16_1x1_one_trip_odd",
        (24, 16, 16, 16),
        8,
        (1, 1),
        "VALID",
        (1, 1),
        ("HNCW", "WOHI", "CWNH"),
        {},
    ),
    (
        "b4_c8_16x16_3x3_dilated",
        (4, 8, 16, 16),
        16,
        (1, 1),
        ((2, 2), (2, 2)),
        (3, 3),
        NCHW,
        {"lhs_dilation": (2, 1), "rhs_dilation": (1, 2)},
    ),
]


def hwio_3x3(batch: int, in_features: int, spatial: int, out_features: int) -> localconv.ConvSpec:
    """A NHWC/HWIO layer with 3x3 SAME windows over a square input."""
    return localconv.ConvSpec.from_arguments(
        (batch, spatial, spatial, in_features),
        "float32",
        (spatial, spatial, 9 * in_features, out_features),
        "float32",
        (1, 1),
        "SAME",
        (3, 3),
        dimension_numbers=NHWC,
    )


def square_valid(
    batch: int,
    out_features: int,
    spatial: int,
    layout=NCHW,
    in_features: int = 64,
    window: int = 3,
    stride: int = 1,
) -> localconv.ConvSpec:
    """A VALID layer with a square window and stride over a square input: NCHW or NHWC
    activations, OIHW, HWIO or OHWI weights."""
    out, k = (spatial - window) // stride + 1, in_features * window * window
    lhs = (
        (batch, in_features, spatial, spatial)
        if layout[0] == "NCHW"
        else (batch, spatial, spatial, in_features)
    )
    rhs = {
        "OIHW": (out_features, k, out, out),
        "HWIO": (out, out, k, out_features),
        "OHWI": (out_features, out, out, k),
    }
    return localconv.ConvSpec.from_arguments(
        lhs,
        "float32",
        rhs[layout[1]],
        "float32",
        (stride,) * 2,
        "VALID",
        (window,) * 2,
        dimension_numbers=layout,
    )


def operands(layer):
    name, lhs_shape, out_features, strides, padding, window, dims, kwargs = layer
    probe = jax.eval_shape(
        lambda x: lax.conv_general_dilated_patches(
            x, window, strides, padding, kwargs.get("lhs_dilation"), kwargs.get("rhs_dilation"), dims
        ),
        jax.ShapeDtypeStruct(lhs_shape, np.float32),
    )
    extents = dict(zip(dims[2], probe.shape, strict=True))
    rhs_shape = tuple(out_features if c == "O" else extents["C"] if c == "I" else extents[c] for c in dims[1])
    rng = np.random.default_rng(len(name))
    lhs = rng.standard_normal(lhs_shape).astype(np.float32)
    rhs = (rng.standard_normal(rhs_shape) / np.sqrt(extents["C"])).astype(np.float32)
    args = (strides, padding, window, kwargs.get("lhs_dilation"), kwargs.get("rhs_dilation"), dims)
    return lhs, rhs, args


def layer_spec(layer) -> localconv.ConvSpec:
    """The validated spec of `layer` (its operands' shapes and arguments)."""
    lhs, rhs, args = operands(layer)
    return localconv.lower(lhs, rhs, *args, pipeline=None).spec


@pytest.mark.xla
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("layer", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_strategy_matches_jax_at_realistic_size(layer, strategy: str) -> None:
    lhs, rhs, args = operands(layer)
    expected = np.asarray(jax.jit(lambda a, b: lax.conv_general_dilated_local(a, b, *args))(lhs, rhs))
    compiled = localconv.lower(lhs, rhs, *args, pipeline=default_pipeline(strategy=strategy)).compile()
    # Prepacked weights are laid out for, and run by, the compiled strategy.
    assert compiled.strategy == strategy
    packed = compiled.prepack(rhs)
    assert packed.array.shape == tuple(rhs.shape[p] for p in packed_order(compiled.spec, strategy))
    for label, weights in (("user layout", rhs), ("prepacked", packed)):
        actual = np.asarray(compiled(lhs, weights))
        np.testing.assert_allclose(
            actual, expected, rtol=1e-4, atol=1e-4, err_msg=f"{strategy}, {label}, {layer[0]}"
        )


def test_layers_are_past_the_miscompile_threshold() -> None:
    sizes = []
    for layer in LAYERS:
        lhs, rhs, args = operands(layer)
        out = jax.eval_shape(lambda a, b, args=args: lax.conv_general_dilated_local(a, b, *args), lhs, rhs)
        sizes.append(int(np.prod(out.shape)))
    assert sum(size > 32768 for size in sizes) >= 4, sizes


def test_cost_model_rules() -> None:
    specs = {layer[0]: layer_spec(layer) for layer in LAYERS}
    assert choose_strategy(specs["b8_c32_32x32_3x3_oihw"]).strategy == "accumulate_loop"
    assert choose_strategy(specs["b8_c32_32x32_3x3_hwio"]).strategy == "accumulate_loop"

    def c64_16x16_hwio(batch: int, out_features: int) -> localconv.ConvSpec:
        return hwio_3x3(batch, 64, 16, out_features)

    assert choose_strategy(c64_16x16_hwio(16, 64)).strategy == "accumulate_loop"  # 1.2 MFLOP/position
    assert choose_strategy(c64_16x16_hwio(16, 256)).strategy == "batched_dot"  # 4.7 MFLOP/position
    # Batch 1 with rhs's spatial dims leading: the dot from 2**16 FLOPs per position.
    matvec = choose_strategy(specs["b1_c64_16x16_3x3_o64_hwio_matvec"])
    assert matvec.strategy == "batched_dot" and f"{2 * 576 * 64:,} FLOPs >= 65,536" in matvec.reason
    assert 2 * 576 * 64 >= MATVEC_DOT_FLOPS > 2 * 576 * 48
    assert choose_strategy(c64_16x16_hwio(1, 48)).strategy == "accumulate_loop"
    assert choose_strategy(c64_16x16_hwio(2, 64)).strategy == "accumulate_loop"
    oihw = localconv.ConvSpec.from_arguments(
        (1, 64, 16, 16), "float32", (64, 576, 16, 16), "float32", (1, 1), "SAME", (3, 3)
    )
    assert choose_strategy(oihw).strategy == "accumulate_loop"
    # One trip whose output's minor dim is not rhs's: the batched dot, in both mixed layouts;
    # matching layouts keep the loop's one trip.
    for name in (
        "b8_c16_32x32_1x1_nchw_hwio",
        "b8_c1_32x32_3x3_nhwc_oihw",
        "b8_c3_32x32_3x3_nchw_hwio_peeled",
    ):
        assert loop_trips(specs[name]) <= 1 and one_trip_across_rhs(specs[name])
        across = choose_strategy(specs[name])
        assert across.strategy == "batched_dot" and "reading rhs across its minor dim" in across.reason
    peeled = specs["b64_c3_32x32_3x3_one_loop_trip"]
    assert loop_trips(peeled) == 1 and not one_trip(peeled)
    assert packed_order(peeled, "accumulate_loop") == (1, 0, 2, 3)
    for name in (
        "b8_c16_32x32_1x1_one_trip",
        "b4_c12_24x24_1x1_one_trip_hwio",
        "b16_c16_24x16_1x1_one_trip_odd",
    ):
        assert one_trip(specs[name]) and not one_trip_across_rhs(specs[name])
        assert choose_strategy(specs[name]).strategy == "accumulate_loop"
    # At most 9 output positions from batch 16, small matmuls and rhs: the row loop.
    few = choose_strategy(specs["b32_c16_7x7_5x5_few_positions"])
    assert few.strategy == "row_loop" and "9 <= 9 output positions, batch 32 >= 16" in few.reason

    c16 = {"in_features": 16}
    assert choose_strategy(square_valid(16, 32, 5, **c16)).strategy == "row_loop"  # 147 kFLOP/position
    assert choose_strategy(square_valid(8, 32, 5, **c16)).strategy == "accumulate_loop"  # batch 8
    assert choose_strategy(square_valid(16, 32, 6, **c16)).strategy == "accumulate_loop"  # 16 positions
    assert choose_strategy(square_valid(16, 64, 4)).strategy == "position_loop"  # 1.2 MFLOP: rule 0b
    assert specs["b64_c8_20x20_7x7_s2"].batch >= LARGE_BATCH
    assert choose_strategy(specs["b64_c8_20x20_7x7_s2"]).strategy == "accumulate_loop"
    assert accumulate_loop_vector_dim(specs["b64_c8_20x20_7x7_s2"]) == "N"
    large_matmuls = localconv.ConvSpec.from_arguments(
        (64, 128, 3, 3), "float32", (512, 1152, 1, 1), "float32", (1, 1), "VALID", (3, 3)
    )
    choice = choose_strategy(large_matmuls)
    assert choice.strategy == "position_loop" and f"{2 * 64 * 1152 * 512:,} FLOPs" in choice.reason
    # Many positions of large matmuls: a batched dot per row where rhs's spatial dims lead
    # (HWIO), the accumulate loop where each position's slice of rhs would be strided (OIHW).
    many = {
        layout: localconv.ConvSpec.from_arguments(
            shape, "float32", rhs_shape, "float32", (1, 1), "SAME", (3, 3), dimension_numbers=layout
        )
        for layout, shape, rhs_shape in (
            (NHWC, (64, 4, 4, 256), (4, 4, 2304, 256)),
            (("NCHW", "OIHW", "NCHW"), (64, 256, 4, 4), (256, 2304, 4, 4)),
        )
    }
    assert 2 * 64 * 2304 * 256 >= LARGE_MATMUL_FLOPS and 4 * 4 >= MANY_POSITIONS
    choice = choose_strategy(many[NHWC])
    assert choice.strategy == "row_loop" and "leading spatial dims" in choice.reason
    assert (
        choose_strategy(many[NHWC], memory_budget=row_patch_bytes(many[NHWC]) - 1).strategy
        == "accumulate_loop"
    )
    assert choose_strategy(many[("NCHW", "OIHW", "NCHW")]).strategy == "accumulate_loop"
    wide = localconv.ConvSpec.from_arguments(
        (64, 32, 16, 16), "float32", (32, 288, 16, 16), "float32", (1, 1), "SAME", (3, 3)
    )
    choice = choose_strategy(wide)
    assert choice.strategy == "accumulate_loop" and "O = 32 >= 32 and K = 288 >= 256" in choice.reason
    small = choose_strategy(specs["b8_c32_32x32_3x3_oihw"], memory_budget=1 << 20)
    assert small.strategy == "position_loop" and "budget" in small.reason
    for spec in specs.values():
        assert choose_strategy(spec, "tpu").strategy == "batched_dot"


def test_one_trip_reading_rhs_across_splits_in_two_for_nhwc_with_oihw() -> None:
    """1x1 NHWC/OIHW layers of 10-16 channels (even) over 2**16 accumulator elements or more
    make two trips of half the rows, which XLA keeps as a loop; elsewhere one trip stays."""
    split = {layer[0]: layer_spec(layer) for layer in LAYERS if "split_trip" in layer[0]}
    assert len(split) == 2
    for spec in split.values():
        assert splits_one_trip(spec) and loop_trip(spec) == (None, 8) and loop_trips(spec) == 2
        assert not one_trip_across_rhs(spec) and choose_strategy(spec).strategy == "accumulate_loop"
    # At batch 8 the trips' 8 updates run the vectors along the batch.
    assert accumulate_loop_vector_dim(split["b8_c16_32x32_1x1_nhwc_oihw_split_trip_batch_vectors"]) == "N"

    def pointwise(batch, c, spatial, o, layout=NHWC_OIHW, window=1):
        return square_valid(batch, o, spatial, layout, in_features=c, window=window, stride=window)

    assert loop_trip(pointwise(4, 12, 32, 32)) == (None, 6)
    assert loop_trip(pointwise(4, 10, 32, 32)) == (None, 5)
    assert splits_one_trip(pointwise(16, 16, 16, 16))  # 2**16 accumulator elements
    assert splits_one_trip(pointwise(8, 16, 64, 128))  # 2**22
    # Odd and too few or too many channels, an accumulator of 2**15 elements, the
    # large-batch rules' batch, a 2x2 window (K = 16 rows too), weights with I minor, and the
    # opposite mix keep one trip (or the usual trips).
    for kept in (
        pointwise(4, 15, 32, 32),
        pointwise(4, 8, 32, 32),
        pointwise(4, 18, 32, 32),
        pointwise(8, 16, 16, 16),
        pointwise(64, 16, 16, 16),
        pointwise(8, 4, 64, 16, window=2),
        pointwise(4, 16, 32, 32, layout=("NHWC", "OHWI", "NHWC")),
        pointwise(4, 16, 32, 32, layout=("NCHW", "HWIO", "NCHW")),
        pointwise(4, 16, 32, 32, layout=NHWC),
    ):
        assert not splits_one_trip(kept)
    strided = square_valid(8, 16, 64, NHWC_OIHW, in_features=16, window=1, stride=2)
    assert not splits_one_trip(strided)
    small = pointwise(8, 16, 16, 16)
    assert loop_trips(small) == 1 and choose_strategy(small).strategy == "batched_dot"


def test_few_positions_of_wide_matmuls() -> None:
    """Rule 0b: at most 9 positions, batch 4-63, O >= 64, 2D or 3D, outside rule 2's dot."""
    expected = {
        "b8_c64_4x4_3x3_o64_few_positions_per_position": "position_loop",
        "b8_c32_8x8_7x7_o128_few_positions_dot": "batched_dot",
        "b8_c64_5x5_3x3_o128_few_positions_dot": "batched_dot",
        "b8_c32_5x5_5x5_o96_one_position_hwio": "position_loop",
    }
    for name, spec in ((layer[0], layer_spec(layer)) for layer in LAYERS if layer[0] in expected):
        choice = choose_strategy(spec)
        assert (
            choice.strategy == expected[name] and "output positions, batch 8 >= 4 and O = " in choice.reason
        )

    def strategy(*args, **kwargs) -> str:
        return choose_strategy(square_valid(*args, **kwargs)).strategy

    # 2x2 positions of OIHW: a matmul per position while a [K, O] slice has <= 2**16 elements
    # (2x2 windows over 64 channels: K = 256) or the dot would transpose >= 4 MFLOP per position.
    assert strategy(8, 256, 3, window=2) == "position_loop"
    assert strategy(8, 257, 3, window=2) == "batched_dot"
    assert strategy(8, 128, 4) == "batched_dot"  # [576, 128] slices, 1.2 MFLOP
    assert strategy(8, 128, 4, in_features=256) == "position_loop"  # 4.7 MFLOP
    # HWIO: the batched dot from 2 positions; one position, a matmul, below rule 2's 4 MFLOP.
    assert strategy(8, 64, 4, layout=NHWC) == "batched_dot"
    assert strategy(8, 64, 3, layout=NHWC) == "position_loop"  # 0.6 MFLOP
    dot = choose_strategy(square_valid(8, 256, 3, layout=NHWC, in_features=256))  # 9.4 MFLOP
    assert dot.strategy == "batched_dot" and "reads rhs in place" in dot.reason
    # The batch, O, positions and spatial dims bounds.
    assert strategy(4, 64, 5) == "batched_dot"  # 9 positions
    assert strategy(3, 64, 5) == "accumulate_loop"
    assert strategy(63, 64, 3) == "position_loop"
    assert strategy(64, 64, 3) == "accumulate_loop"  # the large-batch rules
    assert strategy(8, 63, 5) == "accumulate_loop"
    assert strategy(8, 64, 6) == "accumulate_loop"  # 16 positions
    one_d = localconv.ConvSpec.from_arguments(
        (8, 64, 12), "float32", (128, 320, 8), "float32", (1,), "VALID", (5,), dimension_numbers=NCH
    )
    assert choose_strategy(one_d).strategy == "accumulate_loop"

    def conv3d(depth: int) -> localconv.ConvSpec:
        return localconv.ConvSpec.from_arguments(
            (8, 16, 4, 4, depth),
            "float32",
            (64, 432, 2, 2, depth - 2),
            "float32",
            (1, 1, 1),
            "VALID",
            (3, 3, 3),
        )

    assert choose_strategy(conv3d(3)).strategy == "position_loop"  # 2x2x1 positions
    assert choose_strategy(conv3d(4)).strategy == "batched_dot"  # 2x2x2
    # 9 OIHW positions of 2 * 32 * 576 * 128 = 4.7 MFLOP: the dot would transpose rhs on every call.
    assert strategy(32, 128, 5) == "accumulate_loop"
    assert strategy(32, 128, 5, layout=NHWC) == "batched_dot"
    # The batched dot's patches over the memory budget: the position loop.
    over = square_valid(8, 128, 4)
    choice = choose_strategy(over, memory_budget=estimate(over).patch_bytes - 1)
    assert choice.strategy == "position_loop" and "over the" in choice.reason


def test_gpu_cost_model_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """On GPU: the fused reduce for small layers whose rhs the batched dot would transpose."""
    specs = {layer[0]: layer_spec(layer) for layer in LAYERS}
    # b4 c8 16x16 3x3 OIHW, lhs dilation (2, 1), rhs dilation (1, 2), padding 2: 33x16 outputs,
    # K = 8 * 9, O = 16.
    dilated = specs["b4_c8_16x16_3x3_dilated"]
    assert estimate(dilated).flops == 2 * 4 * 33 * 16 * 72 * 16 <= REDUCE_MAX_FLOPS
    choice = choose_strategy(dilated, "gpu")
    assert choice.strategy == "multiply_reduce" and "transpose rhs" in choice.reason
    # The same layer with HWIO weights: the batched dot reads them in place.
    hwio = choose_strategy(dilated.with_rhs_order((2, 3, 1, 0)), "gpu")
    assert hwio.strategy == "batched_dot" and "spatial dims lead" in hwio.reason
    # Over the limit (b8 c32 32x32 3x3 OIHW: 151M FLOPs): the batched GEMM.
    big = specs["b8_c32_32x32_3x3_oihw"]
    assert estimate(big).flops == 2 * 8 * 1024 * 288 * 32 > REDUCE_MAX_FLOPS
    over = choose_strategy(big, "gpu")
    assert over.strategy == "batched_dot" and f"{estimate(big).flops:,} FLOPs > " in over.reason
    assert choose_strategy(dilated, "tpu").strategy == "batched_dot"
    # The limit is inclusive.
    flops = estimate(dilated).flops
    monkeypatch.setattr(localconv.cost_model, "REDUCE_MAX_FLOPS", flops)
    assert choose_strategy(dilated, "gpu").strategy == "multiply_reduce"
    monkeypatch.setattr(localconv.cost_model, "REDUCE_MAX_FLOPS", flops - 1)
    assert choose_strategy(dilated, "gpu").strategy == "batched_dot"


def test_candidate_strategies_per_backend() -> None:
    """Each strategy is worth timing somewhere, and what the cost model picks is a candidate."""
    assert set(candidate_strategies("cpu")) | set(candidate_strategies("gpu")) == set(STRATEGIES)
    assert "multiply_reduce" not in candidate_strategies("cpu")
    assert set(candidate_strategies("gpu")) == {"batched_dot", "multiply_reduce"}
    for layer in LAYERS:
        spec = layer_spec(layer)
        for backend in ("cpu", "gpu", "tpu"):
            chosen = choose_strategy(spec, backend).strategy
            assert chosen in candidate_strategies(backend), (layer[0], backend)


def test_prepacked_layout_follows_the_strategy() -> None:
    for layer in LAYERS:
        spec = layer_spec(layer)
        perms = spec.dimension_numbers
        strategy = choose_strategy(spec).strategy
        order = packed_order(spec)
        if strategy == "accumulate_loop" and (loop_trips(spec) <= 1 or splits_one_trip(spec)):
            assert order[0] == perms.rhs[1], layer[0]  # I first; the rest is checked by hand below
        elif strategy == "accumulate_loop" and packed_keeps_vectors(spec):
            assert order == (perms.rhs[1], perms.rhs[0], *sorted(perms.rhs[2:])), layer[0]
        elif strategy == "accumulate_loop":
            assert order == (perms.rhs[1], *perms.rhs[2:], perms.rhs[0]), layer[0]
        elif strategy == "row_loop" and row_loop_weights_left(spec):
            assert order == (*perms.rhs[2:], perms.rhs[0], perms.rhs[1]), layer[0]
        else:
            assert order == (*perms.rhs[2:], perms.rhs[1], perms.rhs[0]), layer[0]
        packed = packed_spec(spec)
        assert packed.rhs_shape == tuple(spec.rhs_shape[p] for p in order)
        # The cost model may choose otherwise for the packed layout (a row-loop layout puts O
        # minor); the program built for packed weights runs the strategy they were packed for.
        assert lower_spec(packed, pipeline=default_pipeline(strategy=strategy)).strategy == strategy, layer[0]
    # The one-trip layers, by hand: OIHW -> I, O, H, W; HWIO -> I, H, W, O; WOHI with output
    # CWNH -> I, O, W, H.
    one_trips = {layer[0]: layer for layer in LAYERS if "one_trip" in layer[0] or "split_trip" in layer[0]}
    expected = {
        "b8_c16_32x32_1x1_one_trip": (1, 0, 2, 3),
        "b4_c16_32x32_1x1_nhwc_oihw_split_trip": (1, 2, 3, 0),
        "b4_c12_24x24_1x1_one_trip_hwio": (2, 0, 1, 3),
        "b16_c16_24x16_1x1_one_trip_odd": (3, 1, 0, 2),
    }
    for name, order in expected.items():
        lhs, rhs, args = operands(one_trips[name])
        assert packed_order(localconv.lower(lhs, rhs, *args, pipeline=None).spec) == order, name


def test_lowered_strategy_is_what_runs_not_what_a_composite_asks_for() -> None:
    lhs, rhs = np.ones((2, 3, 8, 8), np.float32), np.ones((4, 27, 8, 8), np.float32)
    args = ((1, 1), "SAME", (3, 3))
    assert (
        localconv.lower(lhs, rhs, *args).strategy
        == choose_strategy(localconv.lower(lhs, rhs, *args, pipeline=None).spec).strategy
    )
    assert localconv.lower(lhs, rhs, *args, pipeline="O0").strategy == "batched_dot"
    # The strategy pass alone tags the composite; XLA still runs its batched-dot decomposition.
    asked = localconv.lower(
        lhs, rhs, *args, pipeline="builtin.module(localconv-contraction-strategy{strategy=row_loop})"
    )
    assert 'localconv.strategy = "row_loop"' in asked.as_text()
    assert asked.strategy == "batched_dot"
    assert asked.compile().strategy == "batched_dot"


def test_a_row_over_the_memory_budget_falls_back_to_position_loop() -> None:
    spec = localconv.ConvSpec.from_arguments(
        (68, 8, 20, 20), "float32", (64, 392, 10, 10), "float32", (2, 2), ((3, 3), (3, 3)), (7, 7)
    )  # 10 MB of rhs: too large to transpose in the call
    row_bytes = 68 * 392 * 10 * 4  # N * K * one row of 10 positions, f32
    assert choose_strategy(spec, memory_budget=row_bytes).strategy == "row_loop"
    over = choose_strategy(spec, memory_budget=row_bytes - 1)
    assert over.strategy == "position_loop" and f"{row_bytes:,} bytes" in over.reason


def test_large_batch_rules_follow_the_accumulate_loops_vectors() -> None:
    """At large batch the row loop takes over where the accumulate loop's vectors would load
    strided or short input rows, or where each position's matmul is large."""

    def layer(lhs_shape, rhs_shape, strides, filter_shape, dims=NCHW):
        return localconv.ConvSpec.from_arguments(
            lhs_shape, "float32", rhs_shape, "float32", strides, "SAME", filter_shape, dimension_numbers=dims
        )

    small = choose_strategy(layer((64, 8, 20, 20), (8, 72, 20, 20), (1, 1), (3, 3)))
    assert small.strategy == "accumulate_loop" and f"{2 * 64 * 72 * 8:,} FLOPs < 4,000,000" in small.reason
    # A batch that is not whole vectors leaves the loop's vectors on the strided or short rows
    # of an rhs too large to transpose in the call (over 8 MiB).
    strided = choose_strategy(layer((68, 8, 80, 80), (64, 72, 40, 40), (2, 2), (3, 3)))
    assert strided.strategy == "row_loop" and "elements 2 apart along spatial dim 1" in strided.reason
    short = choose_strategy(layer((68, 8, 12, 12), (256, 72, 12, 12), (1, 1), (3, 3)))
    assert short.strategy == "row_loop" and "12 < 16 output positions" in short.reason
    # A small rhs is transposed in the call, and the loop runs along O on any rows.
    for lhs_shape, rhs_shape, strides in (
        ((68, 8, 20, 20), (8, 72, 10, 10), (2, 2)),
        ((68, 8, 12, 12), (16, 72, 12, 12), (1, 1)),
    ):
        spec = layer(lhs_shape, rhs_shape, strides, (3, 3))
        assert transposes_rhs(spec) and accumulate_loop_vector_dim(spec) is None
        assert choose_strategy(spec).strategy == "accumulate_loop"
    # A batch of whole vectors carries them instead, and the accumulate loop runs well.
    for lhs_shape, rhs_shape, strides in (
        ((64, 8, 20, 20), (8, 72, 10, 10), (2, 2)),
        ((64, 8, 12, 12), (16, 72, 12, 12), (1, 1)),
    ):
        spec = layer(lhs_shape, rhs_shape, strides, (3, 3))
        assert vector_dim_in_rhs_layout(spec) == "N"
        assert choose_strategy(spec).strategy == "accumulate_loop"
    # With O = 16 the loop transposes that small rhs in the call and runs along O instead.
    assert accumulate_loop_vector_dim(layer((64, 8, 12, 12), (16, 72, 12, 12), (1, 1), (3, 3))) is None
    # HWIO: the vectors run along O and each input element is a broadcast, stride or not.
    hwio = layer((68, 20, 20, 8), (10, 10, 72, 8), (2, 2), (3, 3), NHWC)
    assert choose_strategy(hwio).strategy == "accumulate_loop"
    # Windows that tile the input: the loop reads contiguous patch rows whatever the stride.
    tiles = layer((68, 8, 32, 32), (8, 32, 16, 16), (2, 2), (2, 2))
    assert choose_strategy(tiles).strategy == "accumulate_loop"
    large = choose_strategy(layer((256, 8, 8, 8), (8, 8, 72, 128), (1, 1), (3, 3), NHWC))
    assert large.strategy == "row_loop" and f"{2 * 256 * 72 * 128:,} FLOPs per position" in large.reason


def test_accumulate_loop_at_large_batch_respects_the_budget_only_when_it_builds_patches() -> None:
    """Windows that tile the input: the loop builds patches for a spatial-minor accumulator
    (OIHW), not for an O-minor one (HWIO), and only the former counts against the budget."""
    tiles = {
        dims: localconv.ConvSpec.from_arguments(
            (64, 64, 16, 16) if dims == NCHW else (64, 16, 16, 64),
            "float32",
            (32, 256, 8, 8) if dims == NCHW else (8, 8, 256, 32),
            "float32",
            (2, 2),
            "VALID",
            (2, 2),
            dimension_numbers=dims,
        )
        for dims in (NCHW, NHWC)
    }
    patch_bytes = 64 * 256 * 8 * 8 * 4
    for spec in tiles.values():
        assert choose_strategy(spec, memory_budget=patch_bytes).strategy == "accumulate_loop"
    assert choose_strategy(tiles[NCHW], memory_budget=patch_bytes - 1).strategy == "row_loop"
    assert choose_strategy(tiles[NHWC], memory_budget=patch_bytes - 1).strategy == "accumulate_loop"


def test_batch_vectors_where_rows_vectorize_poorly_and_the_batch_is_whole_vectors() -> None:
    """The accumulate loop's vector dim by layer (the minor rhs spatial dim, N, or O as None),
    and whether it reads stride phases (strided rows, one vector of batch)."""

    def vectors(batch, spatial, strides=(1, 1), window=(3, 3), dims=NCHW, dtype="float32"):
        lhs_shape = (batch, 8, *spatial) if dims == NCHW else (batch, *spatial, 8)
        probe = jax.eval_shape(
            lambda x: lax.conv_general_dilated_patches(x, window, strides, "SAME", dimension_numbers=dims),
            jax.ShapeDtypeStruct(lhs_shape, np.float32),
        )
        out_spatial = probe.shape[2:] if dims == NCHW else probe.shape[1:3]
        rhs_shape = (16, 8 * window[0] * window[1], *out_spatial)
        if dims == NHWC:
            rhs_shape = (*out_spatial, rhs_shape[1], 16)
        spec = localconv.ConvSpec.from_arguments(
            lhs_shape, dtype, rhs_shape, dtype, strides, "SAME", window, dimension_numbers=dims
        )
        return accumulate_loop_vector_dim(spec), stride_phases(spec)

    assert vectors(8, (30, 30)) == ("N", False)  # ragged unit-stride rows, one vector of batch
    assert vectors(8, (32, 32)) == (1, False)  # rows of whole vectors
    assert vectors(8, (12, 12)) == (1, False)  # short rows need two vectors of batch
    assert vectors(16, (12, 12)) == ("N", False)
    assert vectors(8, (40, 40), (2, 2)) == ("N", True)  # strided rows, read from stride phases
    assert vectors(16, (40, 40), (2, 2)) == ("N", False)
    assert vectors(16, (32, 32)) == (1, False)
    # Trips of 5 to 8 window offsets run batch vectors on any rows; 9, 15, 4 do not.
    assert vectors(8, (32, 32), window=(5, 5)) == ("N", False)
    assert vectors(16, (32, 32), window=(7, 7)) == ("N", False)
    assert vectors(16, (32, 32), window=(1, 7)) == ("N", False)
    assert vectors(16, (32, 32), window=(9, 9)) == (1, False)
    assert vectors(8, (32, 32), window=(3, 5)) == (1, False)
    assert vectors(16, (32, 32), window=(2, 2)) == (1, False)
    # 1x1 windows: a trip of 8 rows of the contraction (all 8 channels; tied with spatial
    # vectors, 0.22 against 0.23 ms, and 2.2x faster than trips of 4, the unroll before).
    assert vectors(16, (32, 32), window=(1, 1)) == ("N", False)
    assert vectors(12, (32, 32), window=(5, 5)) == (1, False)  # not whole vectors
    assert vectors(12, (30, 30)) == ("N", False)  # zero-padded to 16: a third more
    assert vectors(10, (30, 30)) == (1, False)  # padding to 16 would add more than a third
    assert vectors(6, (40, 40), (2, 2)) == ("N", True)  # padded to one vector of 8
    assert vectors(16, (32, 32), (2, 2), (2, 2)) == (1, False)  # windows tile: contiguous patch rows
    assert vectors(16, (30, 30), dims=NHWC) == (None, False)  # HWIO: along O
    assert vectors(8, (30, 30), dtype="bfloat16") == ("N", False)  # accumulates in f32: 8 lanes
    assert vectors(4, (30, 30), dtype="complex64") == ("N", False)  # 8-byte elements: 4 lanes
    assert vectors(4, (30, 30)) == ("N", False)  # padded up to one vector from half of one
    assert vectors(5, (40, 40), (2, 2)) == ("N", True)
    assert vectors(4, (32, 32)) == (1, False)  # rows of whole vectors
    assert vectors(3, (30, 30)) == (1, False)  # less than half a vector


def test_prepacked_weights_keep_good_vectors_when_o_is_one_vector_or_the_batch_small() -> None:
    """With O = 8 (one vector of f32) prepacking keeps batch vectors and rows of whole vectors
    ([I, O, spatial...]); ragged rows and wider O pack O-minor, except that rows of whole
    vectors, 16 positions or more, are kept for a batch of 2 to 7 whatever O."""

    def order(batch, spatial, out_features=8, window=(3, 3)):
        lhs_shape = (batch, 4, *spatial)
        rhs_shape = (out_features, 4 * window[0] * window[1], *spatial)
        spec = localconv.ConvSpec.from_arguments(
            lhs_shape, "float32", rhs_shape, "float32", (1, 1), "SAME", window
        )
        return packed_order(spec, "accumulate_loop")

    assert order(16, (12, 12)) == (1, 0, 2, 3)  # batch vectors
    assert order(2, (32, 32)) == (1, 0, 2, 3)  # rows of whole vectors
    assert order(2, (30, 30)) == (1, 2, 3, 0)  # ragged rows: O minor
    assert order(16, (12, 12), out_features=16) == (1, 2, 3, 0)  # two vectors of O
    assert order(4, (30, 30)) == (1, 2, 3, 0)  # batch vectors padded up to one vector: O minor
    assert order(4, (32, 32), out_features=64) == (1, 0, 2, 3)  # a small batch: rows kept
    assert order(7, (32, 32), out_features=16, window=(7, 7)) == (1, 0, 2, 3)
    assert order(1, (32, 32), out_features=16) == (1, 2, 3, 0)  # one image: O minor
    assert order(4, (30, 30), out_features=16) == (1, 2, 3, 0)  # ragged rows: O minor
    assert order(4, (8, 8), out_features=64) == (1, 2, 3, 0)  # rows of 8 positions: O minor
    (kept,) = [layer for layer in LAYERS if layer[0].endswith("_rows_kept")]  # its parity layer
    assert packed_keeps_vectors(layer_spec(kept))


def test_a_small_rhs_is_transposed_in_the_call_for_a_large_batch() -> None:
    """From batch 64, where the loop would run along the batch in rhs's own layout but packs
    O-minor, it transposes a small rhs (at most 8 MiB) to the packed layout in every call and
    runs along O; prepacked weights are already in that layout and are not transposed again."""

    def spec(batch, out_features=16, spatial=(64, 64), dims=NCHW):
        out = [-(-extent // 2) for extent in spatial]
        lhs_shape = (batch, 3, *spatial) if dims == NCHW else (batch, *spatial, 3)
        rhs_shape = (out_features, 75, *out) if dims == NCHW else (*out, 75, out_features)
        return localconv.ConvSpec.from_arguments(
            lhs_shape, "float32", rhs_shape, "float32", (2, 2), "SAME", (5, 5), dimension_numbers=dims
        )

    b64 = spec(64)
    assert vector_dim_in_rhs_layout(b64) == "N" and not packed_keeps_vectors(b64)
    assert transposes_rhs(b64) and accumulate_loop_vector_dim(b64) is None
    assert transposes_rhs(spec(256))
    assert not transposes_rhs(spec(32))  # below the batch that amortizes the transpose
    assert not transposes_rhs(spec(64, out_features=8))  # packs [I, O, H, W]: batch vectors kept
    assert not transposes_rhs(spec(64, dims=NHWC))  # HWIO: already along O

    # Along rows of whole vectors in rhs's own layout, trips of 9 transpose, trips of 3 do not.
    def rows(taps):
        return localconv.ConvSpec.from_arguments(
            (64, 16, 256),
            "float32",
            (16, 16 * taps, 256),
            "float32",
            (1,),
            "SAME",
            (taps,),
            dimension_numbers=NCH,
        )

    assert vector_dim_in_rhs_layout(rows(3)) == 0 and not transposes_rhs(rows(3))
    assert vector_dim_in_rhs_layout(rows(9)) == 0 and transposes_rhs(rows(9))
    strided_rows = spec(68)  # not whole vectors: along strided rows in rhs's own layout
    assert vector_dim_in_rhs_layout(strided_rows) == 1 and transposes_rhs(strided_rows)
    large = spec(64, spatial=(150, 150))
    assert np.prod(large.rhs_shape) * 4 > TRANSPOSED_RHS_MAX_BYTES and not transposes_rhs(large)
    assert accumulate_loop_vector_dim(large) == "N"
    packed = packed_spec(b64, "accumulate_loop")
    assert packed_order(b64, "accumulate_loop") == (1, 2, 3, 0) and not transposes_rhs(packed)


def test_trips_cover_two_channels_of_whole_windows_or_window_rows() -> None:
    """`trip_channels`: two channels per trip where a trip groups the whole window and the
    accumulator has at least 2**18 elements or its vectors run along rows of at most one
    vector (over an even channel count of at least 4), or a window row of at most 8 offsets
    over an even channel count and at least 2**16 elements; one otherwise."""

    def channels(batch, in_features, window, spatial=(32, 32), out_features=32):
        lhs_shape = (batch, in_features, *spatial)
        rhs_shape = (out_features, in_features * math.prod(window), *spatial)
        spec = localconv.ConvSpec.from_arguments(
            lhs_shape, "float32", rhs_shape, "float32", (1,) * len(spatial), "SAME", window
        )
        return loop_trip(spec), trip_channels(spec)

    assert channels(8, 32, (3, 3)) == ((0, 9), 2)  # 8 * 32 * 32 * 32 = 2**18 accumulator elements
    assert channels(4, 32, (3, 3)) == ((0, 9), 1)  # 2**17: in cache
    assert channels(8, 1, (3, 3)) == ((0, 9), 1)  # one channel
    assert channels(8, 8, (5, 5)) == ((1, 5), 2)  # a row of each of two channels' windows
    assert channels(2, 8, (7, 7)) == ((1, 7), 2)  # 2**16 accumulator elements
    assert channels(1, 8, (7, 7)) == ((1, 7), 1)  # 2**15
    assert channels(8, 7, (5, 5)) == ((1, 5), 1)  # an odd channel count
    assert channels(8, 8, (9, 9)) == ((1, 9), 1)  # 18 offsets: more than MAX_WINDOW_GROUP
    assert channels(8, 8, (5, 5, 5), (16, 16, 16), 8) == ((2, 5), 2)
    assert channels(32, 64, (5,), (256,), 64) == ((0, 5), 2)
    # Short rows: 8 or 4 positions pair whole windows of a small accumulator; 16 do not,
    # nor do windows of fewer than 8 offsets, odd channel counts or two channels in all.
    assert channels(1, 64, (3, 3), (8, 8), 64) == ((0, 9), 2)
    assert channels(2, 64, (3, 3), (4, 4), 128) == ((0, 9), 2)
    assert channels(1, 8, (9,), (8,), 64) == ((0, 9), 2)
    assert channels(1, 64, (3, 3), (16, 16), 64) == ((0, 9), 1)
    assert channels(1, 64, (2, 2), (8, 8), 64) == ((0, 4), 1)
    assert channels(1, 63, (3, 3), (8, 8), 64) == ((0, 9), 1)
    assert channels(1, 2, (3, 3), (8, 8), 64) == ((0, 9), 1)
    assert channels(16, 16, (3, 3), (8, 8), 16) == ((0, 9), 1)  # vectors along the batch
    # Two channels in all: that trip is the whole contraction, which is not transposed and
    # prepacks in the output's order (I, O, H, W).
    two = localconv.ConvSpec.from_arguments(
        (64, 2, 16, 16), "float32", (16, 18, 16, 16), "float32", (1, 1), "SAME", (3, 3)
    )
    assert trip_channels(two) == 2 and one_trip(two) and not transposes_rhs(two)
    assert packed_order(two, "accumulate_loop") == (1, 0, 2, 3)
    # The realistic-size parity layers named for them make trips of paired rows.
    paired = [layer_spec(layer) for layer in LAYERS if "paired_rows" in layer[0]]
    assert len(paired) == 4 and all(loop_trip(s)[0] > 0 and trip_channels(s) == 2 for s in paired)
    assert stride_phases(paired[-1])
    short = [layer_spec(layer) for layer in LAYERS if layer[0].endswith("_short_rows")]
    assert len(short) == 2 and all(short_row_windows(s) and trip_channels(s) == 2 for s in short)
    assert all(not large_accumulator(s) for s in short)


def test_batch_goes_next_to_a_minor_o_from_batch_2_where_o_is_wide_or_rows_interleave() -> None:
    """`batch_next_to_minor_o` and `accumulator_order` with a minor O: N next to O from batch 8,
    and from batch 2 where O is two vectors or more or rhs's I is not its major dim."""

    def hwio(batch, out_features):
        return hwio_3x3(batch, 8, 16, out_features)

    def order(spec):
        return accumulator_order(spec, rhs_tokens(spec), 9)

    for batch, out_features in ((2, 8), (4, 16), (8, 8)):  # interleaved rows, whatever O
        assert batch_next_to_minor_o(hwio(batch, out_features))
        assert order(hwio(batch, out_features)) == [0, 1, "N", "O"]
    assert order(hwio(1, 16)) == ["N", 0, 1, "O"]
    # Prepacked [I, H, W, O] (I major): from batch 2 only with O of two vectors or more.
    packed = {o: packed_spec(hwio(4, o), "accumulate_loop") for o in (8, 16)}
    assert all(s.dimension_numbers.rhs[1] == 0 and rhs_tokens(s)[-1] == "O" for s in packed.values())
    assert order(packed[16]) == [0, 1, "N", "O"] and order(packed[8]) == ["N", 0, 1, "O"]
    assert order(packed_spec(hwio(8, 8), "accumulate_loop")) == [0, 1, "N", "O"]
    # The parity layer named for it runs its accumulator that way.
    (layer,) = [layer for layer in LAYERS if layer[0].endswith("_batch_next_to_o")]
    spec = layer_spec(layer)
    assert spec.batch < 8 and accumulate_loop_vector_dim(spec) is None and batch_next_to_minor_o(spec)


@pytest.mark.xla
@pytest.mark.skipif("gpu" not in localconv.runner.available_backends(), reason="needs a GPU")
@pytest.mark.parametrize("layer", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_gpu_strategies_match_jax_on_the_device(layer) -> None:
    """On a GPU: both GPU candidates, and the op under jax.jit with its gradients."""
    lhs, rhs, args = operands(layer)
    device = jax.devices("gpu")[0]
    lhs, rhs = jax.device_put(lhs, device), jax.device_put(rhs, device)

    def reference(a, b):
        return lax.conv_general_dilated_local(a, b, *args, precision="highest")

    expected = np.asarray(jax.jit(reference)(lhs, rhs))

    def assert_near(actual, wanted, share: float, what: str) -> None:
        error = np.max(np.abs(np.asarray(actual) - np.asarray(wanted)))
        assert error <= share * np.max(np.abs(np.asarray(wanted))), (what, error)

    # The batched dot multiplies in TF32 at the default precision, as JAX's lowering does
    # (4e-4 of the largest output on an H100); the fused reduce sums in f32 (2e-6).
    for strategy, share in (("batched_dot", 5e-3), ("multiply_reduce", 2e-5)):
        lowered = localconv.lower(lhs, rhs, *args, pipeline=default_pipeline("gpu", strategy), backend="gpu")
        compiled = lowered.compile()
        assert_near(compiled(lhs, rhs), expected, share, strategy)
        assert_near(compiled(lhs, compiled.prepack(rhs)), expected, share, f"{strategy}, prepacked")

    def loss(conv):
        return lambda a, b: jax.numpy.sum(jax.numpy.sin(conv(a, b)))

    ours = jax.jit(jax.grad(loss(lambda a, b: localconv.conv_general_dilated_local(a, b, *args)), (0, 1)))
    theirs = jax.jit(jax.grad(loss(reference), (0, 1)))
    # The gradients' dots run in TF32 too (up to 8e-3 of the largest on an H100).
    for name, actual, wanted in zip(("lhs", "rhs"), ours(lhs, rhs), theirs(lhs, rhs), strict=True):
        assert_near(actual, wanted, 3e-2, f"gradient of {name}")
