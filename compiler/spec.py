"""The canonical, hashable description of one unshared convolution.

`ConvSpec.from_arguments` takes exactly the arguments of `jax.lax.conv_general_dilated_local`
(with operand shapes and dtypes in place of arrays), validates them and canonicalizes every
spelling once. A `ConvSpec` built from canonical fields (as the composite decoder does) is
validated the same way, so an invalid spec cannot exist.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import params, shapes
from .params import DimensionNumbers


@dataclasses.dataclass(frozen=True)
class PatchSpec:
    """What the patch gather needs: the input, its layout, and the window geometry.

    `lhs_perm` gives the positions of lhs's (batch, feature, spatial...) dims; spatial
    parameters are in the same spatial order; `dtype` is the dtype the patches are built in.
    """

    lhs_shape: tuple[int, ...]
    lhs_perm: tuple[int, ...]
    window_strides: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    filter_shape: tuple[int, ...]
    lhs_dilation: tuple[int, ...]
    rhs_dilation: tuple[int, ...]
    dtype: str

    @property
    def batch(self) -> int:
        """Batch size N."""
        return self.lhs_shape[self.lhs_perm[0]]

    @property
    def in_features(self) -> int:
        """Input channels C."""
        return self.lhs_shape[self.lhs_perm[1]]

    @property
    def in_spatial(self) -> tuple[int, ...]:
        """lhs spatial extents in spatial order."""
        return tuple(self.lhs_shape[p] for p in self.lhs_perm[2:])

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """Output spatial extents in spatial order."""
        return shapes.output_spatial(
            self.in_spatial,
            self.filter_shape,
            self.window_strides,
            self.padding,
            self.lhs_dilation,
            self.rhs_dilation,
        )

    @property
    def patch_size(self) -> int:
        """C * prod(filter_shape): the length of one flattened patch."""
        return shapes.patch_size(self.in_features, self.filter_shape)


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """One unshared convolution: operand types plus canonical parameters.

    Spatial parameters are in rhs-spec spatial order; `padding` holds explicit (low, high)
    pairs; `precision` holds the two `lax.Precision` names; dtypes are numpy names.
    """

    lhs_shape: tuple[int, ...]
    lhs_dtype: str
    rhs_shape: tuple[int, ...]
    rhs_dtype: str
    window_strides: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    filter_shape: tuple[int, ...]
    lhs_dilation: tuple[int, ...]
    rhs_dilation: tuple[int, ...]
    dimension_numbers: DimensionNumbers
    precision: tuple[str, str] = ("DEFAULT", "DEFAULT")
    out_shape: tuple[int, ...] = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        ndim = len(self.lhs_shape)
        if ndim < 2:
            raise TypeError(f"lhs must have rank >= 2 (batch and feature dims), got shape {self.lhs_shape}")
        if len(self.rhs_shape) != ndim:
            raise TypeError(f"rhs must have the rank of lhs ({ndim}), got rhs shape {self.rhs_shape}")
        if ndim - 2 > params.MAX_SPATIAL_DIMS:
            raise ValueError(
                f"lhs must have at most {params.MAX_SPATIAL_DIMS} spatial dimensions, got {ndim - 2}"
            )
        for name, shape in (("lhs", self.lhs_shape), ("rhs", self.rhs_shape)):
            if any(d < 0 for d in shape):
                raise ValueError(f"{name} shape must have non-negative dimensions, got {shape}")
            if any(d >= 2**63 for d in shape) or math.prod(shape) >= 2**63:
                raise ValueError(f"{name} shape {shape} has more elements than a 64-bit index can address")
        for name, dtype in (("lhs", self.lhs_dtype), ("rhs", self.rhs_dtype)):
            if dtype not in params.SUPPORTED_DTYPES:
                raise TypeError(f"{name} dtype must be one of {params.SUPPORTED_DTYPES}, got {dtype}")
        for name, perm in zip(("lhs", "rhs", "out"), self.dimension_numbers, strict=True):
            if sorted(perm) != list(range(ndim)):
                raise TypeError(
                    f"dimension_numbers {name} spec must be a permutation of range({ndim}), got {perm}"
                )
        params.check_spatial_parameters(
            ndim, self.window_strides, self.filter_shape, self.lhs_dilation, self.rhs_dilation
        )
        if len(self.padding) != ndim - 2:
            raise TypeError(
                f"padding must have one (low, high) pair per spatial dimension ({ndim - 2}), "
                f"got {len(self.padding)}: {self.padding}"
            )
        if any(abs(v) >= params.INT64_LIMIT for pair in self.padding for v in pair):
            raise ValueError(
                f"padding entries must be within +-2**63 (they are int64 in the IR), got {self.padding}"
            )
        if any(p not in params.PRECISION_NAMES for p in self.precision) or len(self.precision) != 2:
            raise ValueError(f"precision must name two of {params.PRECISION_NAMES}, got {self.precision}")
        perms = self.dimension_numbers
        out_spatial = shapes.output_spatial(
            self.in_spatial,
            self.filter_shape,
            self.window_strides,
            self.padding,
            self.lhs_dilation,
            self.rhs_dilation,
        )
        size = shapes.patch_size(self.lhs_shape[perms.lhs[1]], self.filter_shape)
        shapes.check_rhs_shape(self.rhs_shape, perms, size, out_spatial)
        out_shape = shapes.output_shape(
            self.lhs_shape[perms.lhs[0]], self.rhs_shape[perms.rhs[0]], out_spatial, perms
        )
        object.__setattr__(self, "out_shape", out_shape)
        patch_elements = math.prod(out_spatial) * self.lhs_shape[perms.lhs[0]] * size
        for name, elements, dtype in (
            ("lhs", math.prod(self.lhs_shape), self.lhs_dtype),
            ("rhs", math.prod(self.rhs_shape), self.rhs_dtype),
            ("the output", math.prod(out_shape), self.out_dtype),
            ("the patch tensor (N * K * output positions)", patch_elements, self.out_dtype),
        ):
            shapes.check_xla_array_bytes(name, elements, dtype)

    @classmethod
    def from_arguments(
        cls,
        lhs_shape: Any,
        lhs_dtype: Any,
        rhs_shape: Any,
        rhs_dtype: Any,
        window_strides: Any,
        padding: Any,
        filter_shape: Any,
        lhs_dilation: Any = None,
        rhs_dilation: Any = None,
        dimension_numbers: Any = None,
        precision: Any = None,
    ) -> ConvSpec:
        """Validates and canonicalizes the arguments of `conv_general_dilated_local`."""
        lhs_shape = params.int_tuple("lhs shape", lhs_shape)
        rhs_shape = params.int_tuple("rhs shape", rhs_shape)
        ndim = len(lhs_shape)
        if ndim < 2:
            raise TypeError(f"lhs must have rank >= 2 (batch and feature dims), got shape {lhs_shape}")
        count = ndim - 2
        filter_shape = params.int_tuple("filter_shape", filter_shape)
        perms = params.dimension_numbers_perms(dimension_numbers, ndim)
        window_strides = params.int_tuple("window_strides", window_strides)
        lhs_dilation = params.optional_int_tuple("lhs_dilation", lhs_dilation, count)
        rhs_dilation = params.optional_int_tuple("rhs_dilation", rhs_dilation, count)
        params.check_spatial_parameters(ndim, window_strides, filter_shape, lhs_dilation, rhs_dilation)
        in_spatial = tuple(lhs_shape[p] for p in perms.lhs[2:])
        window = tuple(map(shapes.dilated_extent, filter_shape, rhs_dilation))
        padding = params.explicit_padding(padding, in_spatial, window, window_strides, lhs_dilation)
        return cls(
            lhs_shape=lhs_shape,
            lhs_dtype=shapes.canonical_dtype("lhs", lhs_dtype),
            rhs_shape=rhs_shape,
            rhs_dtype=shapes.canonical_dtype("rhs", rhs_dtype),
            window_strides=window_strides,
            padding=padding,
            filter_shape=filter_shape,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=perms,
            precision=params.precision_pair(precision),
        )

    @property
    def num_spatial(self) -> int:
        """Number of spatial dimensions."""
        return len(self.lhs_shape) - 2

    @property
    def in_spatial(self) -> tuple[int, ...]:
        """lhs spatial extents in rhs-spec spatial order."""
        return tuple(self.lhs_shape[p] for p in self.dimension_numbers.lhs[2:])

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """Output spatial extents in rhs-spec spatial order."""
        return tuple(self.out_shape[p] for p in self.dimension_numbers.out[2:])

    @property
    def batch(self) -> int:
        """Batch size N."""
        return self.lhs_shape[self.dimension_numbers.lhs[0]]

    @property
    def in_features(self) -> int:
        """Input channels C."""
        return self.lhs_shape[self.dimension_numbers.lhs[1]]

    @property
    def out_features(self) -> int:
        """Output channels O."""
        return self.rhs_shape[self.dimension_numbers.rhs[0]]

    @property
    def patch_size(self) -> int:
        """C * prod(filter_shape): the contraction length."""
        return shapes.patch_size(self.in_features, self.filter_shape)

    @property
    def out_dtype(self) -> str:
        """Result dtype (the higher-precision operand dtype)."""
        return shapes.result_dtype(self.lhs_dtype, self.rhs_dtype)

    @property
    def patch_spec(self) -> PatchSpec:
        """The patch gather of this convolution, built in the result dtype."""
        return PatchSpec(
            self.lhs_shape,
            self.dimension_numbers.lhs,
            self.window_strides,
            self.padding,
            self.filter_shape,
            self.lhs_dilation,
            self.rhs_dilation,
            self.out_dtype,
        )

    def with_rhs_order(self, order: tuple[int, ...]) -> ConvSpec:
        """This convolution with rhs's dims stored in `order` (rhs dims, major first)."""
        perms = self.dimension_numbers
        position = {p: i for i, p in enumerate(order)}
        return dataclasses.replace(
            self,
            rhs_shape=tuple(self.rhs_shape[p] for p in order),
            dimension_numbers=DimensionNumbers(perms.lhs, tuple(position[p] for p in perms.rhs), perms.out),
        )

    @property
    def spec_strings(self) -> tuple[str, str, str]:
        """Dimension numbers as three strings with canonical spatial names."""
        return params.spec_strings(self.dimension_numbers)
