"""The benchmark cases: realistic locally connected layers across the parameter space."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from localconv import ConvSpec


@dataclasses.dataclass(frozen=True)
class Case:
    """One layer: operand shapes follow from the parameters (rhs is computed, not listed)."""

    name: str
    lhs_shape: tuple[int, ...]
    out_features: int
    window_strides: tuple[int, ...]
    padding: Any
    filter_shape: tuple[int, ...]
    dimension_numbers: tuple[str, str, str]
    lhs_dilation: tuple[int, ...] | None = None
    rhs_dilation: tuple[int, ...] | None = None

    def arguments(self) -> tuple:
        """(window_strides, padding, filter_shape, lhs_dilation, rhs_dilation, dimension_numbers)."""
        return (
            self.window_strides,
            self.padding,
            self.filter_shape,
            self.lhs_dilation,
            self.rhs_dilation,
            self.dimension_numbers,
        )

    def spec(self) -> ConvSpec:
        """The validated spec, with rhs's shape derived from the output shape."""
        lhs_spec, rhs_spec, out_spec = self.dimension_numbers
        probe = jax.eval_shape(
            lambda x: jax.lax.conv_general_dilated_patches(
                x,
                self.filter_shape,
                self.window_strides,
                self.padding,
                self.lhs_dilation,
                self.rhs_dilation,
                self.dimension_numbers,
            ),
            jax.ShapeDtypeStruct(self.lhs_shape, np.float32),
        )
        extents = dict(zip(out_spec, probe.shape, strict=True))
        rhs_shape = tuple(
            self.out_features if c == "O" else extents["C"] if c == "I" else extents[c] for c in rhs_spec
        )
        return ConvSpec.from_arguments(
            self.lhs_shape,
            "float32",
            rhs_shape,
            "float32",
            self.window_strides,
            self.padding,
            self.filter_shape,
            self.lhs_dilation,
            self.rhs_dilation,
            self.dimension_numbers,
        )


NCHW = ("NCHW", "OIHW", "NCHW")
NHWC = ("NHWC", "HWIO", "NHWC")

CASES = (
    Case("face_9x9_b1", (1, 16, 63, 63), 16, (1, 1), "VALID", (9, 9), NCHW),
    Case("face_7x7_s2_b8", (8, 16, 55, 55), 16, (2, 2), "VALID", (7, 7), NCHW),
    Case("demo_3x3_b8", (8, 32, 32, 32), 32, (1, 1), "SAME", (3, 3), NCHW),
    Case("nhwc_3x3_b8", (8, 32, 32, 32), 32, (1, 1), "SAME", (3, 3), NHWC),
    Case("conv1d_5_b32", (32, 64, 256), 64, (1,), "SAME", (5,), ("NCH", "OIH", "NCH")),
    Case("conv3d_3_b2", (2, 8, 16, 16, 16), 8, (1, 1, 1), "SAME", (3, 3, 3), ("NCDHW", "OIDHW", "NCDHW")),
    Case("b256_c3_5x5_s2", (256, 3, 64, 64), 16, (2, 2), "SAME", (5, 5), NCHW),
    Case("b256_c128_3x3", (256, 8, 8, 128), 128, (1, 1), "SAME", (3, 3), NHWC),
    Case("b256_tall_c8_3x3", (256, 128, 8, 8), 128, (1, 1), "SAME", (3, 3), NHWC),
    Case("pointwise_1x1_b8", (8, 256, 16, 16), 256, (1, 1), "VALID", (1, 1), NCHW),
    Case("tile_2x2_s2_b16", (16, 32, 32, 32), 64, (2, 2), "VALID", (2, 2), NCHW),
    Case("atrous_3x3_d2_b8", (8, 16, 32, 32), 16, (1, 1), "SAME", (3, 3), NCHW, rhs_dilation=(2, 2)),
    Case(
        "transposed_3x3_ld2_b8",
        (8, 16, 16, 16),
        16,
        (1, 1),
        ((2, 2), (2, 2)),
        (3, 3),
        NCHW,
        lhs_dilation=(2, 2),
    ),
    Case("odd_layout_5x5_b4", (24, 4, 8, 24), 8, (1, 1), ((1, 2), (2, 1)), (5, 5), ("HNCW", "WOIH", "CWNH")),
    Case("explicit_7x7_b64", (64, 8, 20, 20), 8, (1, 1), ((3, 3), (3, 3)), (7, 7), NCHW),
)
