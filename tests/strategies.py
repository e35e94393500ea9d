"""Hypothesis strategies for valid `conv_general_dilated_local` argument sets.

A `Case` holds the arguments in the spellings a user would pass them, plus the logical layout
(where batch, feature and each spatial dimension sit in every operand) that this module chose
when it built them. Shapes are derived here from the definition of the operation, not from
localconv or JAX, so tests can cross-check both against it.

Spatial dimension `i` is always the i-th spatial character of the rhs spec, the order of
window_strides, padding, filter_shape and the dilations.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from jax import lax

REAL_DTYPES = ("float16", "bfloat16", "float32")
COMPLEX_DTYPES = ("complex64",)
X64_DTYPES = ("float64", "complex128")
# Mixed (lhs, rhs) pairs; the result takes the higher-precision dtype of the two.
MIXED_REAL = (
    ("float32", "float16"),
    ("float16", "float32"),
    ("float16", "bfloat16"),
    ("bfloat16", "float16"),
    ("bfloat16", "float32"),
)
MIXED_COMPLEX = (("complex64", "float32"), ("float32", "complex64"), ("float16", "complex64"))
MIXED_X64 = (
    ("float64", "float32"),
    ("float32", "float64"),
    ("complex128", "float64"),
    ("float64", "complex64"),
    ("complex64", "complex128"),
)

PADDING_STRINGS = ("SAME", "SAME_LOWER", "VALID", "same", "valid", "same_lower")
PRECISION_STRINGS = (
    "highest",
    "float32",
    "high",
    "bfloat16_3x",
    "tensorfloat32",
    "default",
    "bfloat16",
    "fastest",
)
SPATIAL_CHARS = "ABDEFGHJKLMPQRSTUVWXYZ"


@dataclasses.dataclass(frozen=True)
class Layout:
    """Positions of the logical dims: lhs/out (N, C, spatial...), rhs (O, I, spatial...)."""

    lhs: tuple[int, ...]
    rhs: tuple[int, ...]
    out: tuple[int, ...]

    @classmethod
    def of(cls, dimension_numbers: Any, ndim: int) -> Layout:
        """The layout that None, three spec strings or a ConvDimensionNumbers describe."""
        if dimension_numbers is None:
            return cls(*(tuple(range(ndim)),) * 3)
        if isinstance(dimension_numbers, lax.ConvDimensionNumbers):
            return cls(*(tuple(perm) for perm in dimension_numbers))
        lhs_spec, rhs_spec, out_spec = dimension_numbers
        order = [c for c in rhs_spec if c not in "OI"]

        def positions(spec: str, pair: str) -> tuple[int, ...]:
            return tuple(spec.index(c) for c in (*pair, *order))

        return cls(positions(lhs_spec, "NC"), positions(rhs_spec, "OI"), positions(out_spec, "NC"))


@dataclasses.dataclass(frozen=True)
class Case:
    """One valid set of arguments, with the shapes derived from the definition."""

    lhs_shape: tuple[int, ...]
    lhs_dtype: str
    rhs_shape: tuple[int, ...]
    rhs_dtype: str
    window_strides: Any
    padding: Any
    filter_shape: Any
    lhs_dilation: Any
    rhs_dilation: Any
    dimension_numbers: Any
    precision: Any
    layout: Layout
    out_shape: tuple[int, ...]

    @property
    def params(self) -> tuple[Any, ...]:
        """The arguments after (lhs, rhs), in the positional order of the JAX function."""
        return (
            self.window_strides,
            self.padding,
            self.filter_shape,
            self.lhs_dilation,
            self.rhs_dilation,
            self.dimension_numbers,
            self.precision,
        )

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """Output spatial extents in rhs-spec spatial order."""
        return tuple(self.out_shape[p] for p in self.layout.out[2:])

    @property
    def contraction_length(self) -> int:
        """C * prod(filter_shape): the number of products summed into each output element."""
        return self.lhs_shape[self.layout.lhs[1]] * math.prod(self.filter_shape)

    def operands(self, seed: int) -> tuple[jax.Array, jax.Array]:
        """Random lhs and rhs of this case's shapes and dtypes (standard normal entries)."""
        rng = np.random.default_rng(seed)
        return random_array(rng, self.lhs_shape, self.lhs_dtype), random_array(
            rng, self.rhs_shape, self.rhs_dtype
        )


def make_case(
    lhs_shape: tuple[int, ...],
    out_features: int,
    window_strides: Any,
    padding: Any,
    filter_shape: Any,
    lhs_dilation: Any = None,
    rhs_dilation: Any = None,
    dimension_numbers: Any = None,
    precision: Any = None,
    dtypes: tuple[str, str] = ("float32", "float32"),
) -> Case:
    """The case with this lhs; rhs and result shapes follow from the definition."""
    layout = Layout.of(dimension_numbers, len(lhs_shape))
    batch, in_features, *in_spatial = (lhs_shape[p] for p in layout.lhs)
    out_spatial = output_spatial(
        tuple(in_spatial), filter_shape, window_strides, padding, lhs_dilation, rhs_dilation
    )
    patch = in_features * math.prod(filter_shape)
    return Case(
        lhs_shape=tuple(lhs_shape),
        lhs_dtype=dtypes[0],
        rhs_shape=place((out_features, patch, *out_spatial), layout.rhs),
        rhs_dtype=dtypes[1],
        window_strides=window_strides,
        padding=padding,
        filter_shape=filter_shape,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dimension_numbers,
        precision=precision,
        layout=layout,
        out_shape=place((batch, out_features, *out_spatial), layout.out),
    )


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> jax.Array:
    """Standard normal entries (real and imaginary parts for complex dtypes) of `dtype`."""
    values = rng.standard_normal(shape)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        values = values + 1j * rng.standard_normal(shape)
    return jnp.asarray(values, dtype=dtype)


def dilated(size: int, dilation: int) -> int:
    """Extent of `size` elements with `dilation - 1` holes between neighbours."""
    return 0 if size == 0 else 1 + dilation * (size - 1)


def resolve_padding(
    padding: Any, in_spatial: tuple[int, ...], window: tuple[int, ...], strides: tuple[int, ...]
) -> list[tuple[int, int]]:
    """(low, high) pairs, string padding resolved like `jax.lax.padtype_to_pads`."""
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    mode = padding.upper()
    if mode == "VALID":
        return [(0, 0)] * len(in_spatial)
    pads = []
    for size, extent, stride in zip(in_spatial, window, strides, strict=True):
        out = -(-size // stride)
        total = max((out - 1) * stride + extent - size, 0)
        low, high = total // 2, total - total // 2
        pads.append((low, high) if mode == "SAME" else (high, low))
    return pads


def output_spatial(in_spatial, filter_shape, strides, padding, lhs_dilation, rhs_dilation) -> tuple[int, ...]:
    """Output spatial extents, from the definition of a dilated, padded, strided window."""
    lhs_dilation = lhs_dilation or (1,) * len(in_spatial)
    rhs_dilation = rhs_dilation or (1,) * len(in_spatial)
    window = tuple(map(dilated, filter_shape, rhs_dilation))
    pads = resolve_padding(padding, in_spatial, window, strides)
    out = []
    for size, ld, (low, high), extent, stride in zip(
        in_spatial, lhs_dilation, pads, window, strides, strict=True
    ):
        padded = dilated(size, ld) + low + high
        out.append(max(0, (padded - extent) // stride + 1))
    return tuple(out)


def place(logical: tuple[int, ...], positions: tuple[int, ...]) -> tuple[int, ...]:
    """The physical shape that puts logical dim k at position `positions[k]`."""
    shape = [0] * len(logical)
    for extent, position in zip(logical, positions, strict=True):
        shape[position] = extent
    return tuple(shape)


def rarely_zero(high: int, low: int = 1) -> st.SearchStrategy[int]:
    """Integers in [low, high], and 0 about one time in twenty."""
    return st.tuples(st.integers(0, 19), st.integers(low, high)).map(lambda t: 0 if t[0] == 0 else t[1])


@st.composite
def dimension_numbers(draw, num_spatial: int) -> Any:
    """None, three spec strings with arbitrary spatial characters, or ConvDimensionNumbers."""
    ndim = num_spatial + 2
    kind = draw(st.sampled_from(["none", "strings", "strings", "strings", "conv_dimension_numbers"]))
    if kind == "none":
        return None
    if kind == "conv_dimension_numbers":
        lhs, rhs, out = (tuple(draw(st.permutations(range(ndim)))) for _ in range(3))
        # JAX builds its patch kernel with the window dims in increasing rhs position, so it
        # is only self-consistent when rhs spatial i sits before rhs spatial i + 1.
        return lax.ConvDimensionNumbers(lhs, (*rhs[:2], *sorted(rhs[2:])), out)
    chars = draw(
        st.lists(st.sampled_from(SPATIAL_CHARS), min_size=num_spatial, max_size=num_spatial, unique=True)
    )
    return tuple("".join(draw(st.permutations([*pair, *chars]))) for pair in ("NC", "OI", "NC"))


def precisions() -> st.SearchStrategy[Any]:
    """Every precision spelling conv_general_dilated_local accepts."""
    enums = st.sampled_from(list(lax.Precision))
    strings = st.sampled_from(PRECISION_STRINGS)
    return st.one_of(st.none(), enums, strings, st.tuples(enums, enums), st.tuples(strings, strings))


def dtype_pairs(dtypes: tuple[str, ...], mixed: tuple[tuple[str, str], ...] = ()):
    """(lhs, rhs) dtype pairs: two equal dtypes from `dtypes`, or (as often) a `mixed` pair."""
    same = st.sampled_from(dtypes).map(lambda d: (d, d))
    return st.one_of(same, st.sampled_from(mixed)) if mixed else same


REAL_DTYPE_PAIRS = dtype_pairs(REAL_DTYPES, MIXED_REAL)
# Batches of whole vectors for every dtype (2 to 8 lanes), a third short of them, or half a
# vector, so that the accumulate loop runs its vectors along the batch (zero-padded to whole
# vectors) where rows are strided, ragged or short, or a trip makes 5-8 updates
# (`batch_vectors`).
VECTOR_BATCHES = st.sampled_from([4, 6, 8, 12, 16])
SPATIAL_DIMS = st.sampled_from([0, 1, 1, 2, 2, 2, 3])
# Large batches (whole vectors or not) with one to three vectors of output features, where the
# accumulate loop may transpose a small rhs in the call (`transposes_rhs`).
LARGE_BATCHES = st.sampled_from([64, 68, 100])
WIDE_OUT_FEATURES = st.sampled_from([8, 16, 24])


@st.composite
def cases(
    draw,
    dtypes: st.SearchStrategy[tuple[str, str]] = REAL_DTYPE_PAIRS,
    spatial_dims: st.SearchStrategy[int] = SPATIAL_DIMS,
    max_size: int = 7,
    min_in_features: int = 1,
    batches: st.SearchStrategy[int] | None = None,
    out_features: st.SearchStrategy[int] | None = None,
) -> Case:
    """A valid argument set for `conv_general_dilated_local` with small random shapes.

    `min_in_features` is 1 by default because JAX rejects C = 0 (its patch extraction uses C
    as feature_group_count); pass 0 where the expected values come from the oracle, which is
    defined for C = 0 (a sum of no products).
    """
    n = draw(spatial_dims)
    dimension_numbers_ = draw(dimension_numbers(n))
    layout = Layout.of(dimension_numbers_, n + 2)
    batch = draw(rarely_zero(3) if batches is None else batches)
    in_features = draw(rarely_zero(4) if min_in_features == 0 else st.integers(min_in_features, 4))
    in_spatial = [draw(rarely_zero(max_size)) for _ in range(n)]
    filter_shape = [draw(st.integers(1, 3)) for _ in range(n)]
    strides = [draw(st.integers(1, 3)) for _ in range(n)]
    rhs_dilation = [draw(st.sampled_from([1, 1, 1, 2, 3])) for _ in range(n)]
    if draw(st.booleans()):
        padding: Any = draw(st.sampled_from(PADDING_STRINGS))
        lhs_dilation = [1] * n
    else:
        lhs_dilation = [draw(st.sampled_from([1, 1, 2, 3])) for _ in range(n)]
        padding = []
        for size, ld in zip(in_spatial, lhs_dilation, strict=True):
            extent = dilated(size, ld)
            low = draw(st.integers(-min(extent, 3), 3))
            high = draw(st.integers(-min(extent + low, 3), 3))
            padding.append((low, high))
        padding = draw(st.sampled_from([list, tuple]))(padding)

    spell = draw(st.sampled_from([tuple, list]))

    def optional(values: list[int]) -> Any:
        return None if set(values) <= {1} and draw(st.booleans()) else spell(values)

    return make_case(
        place((batch, in_features, *in_spatial), layout.lhs),
        draw(rarely_zero(4) if out_features is None else out_features),
        spell(strides),
        padding,
        spell(filter_shape),
        optional(lhs_dilation),
        optional(rhs_dilation),
        dimension_numbers_,
        draw(precisions()),
        dtypes=draw(dtypes),
    )


def examples(count: int) -> int:
    """`count` examples under the default 100-example profile, scaled for the loaded profile."""
    return max(1, count * settings.default.max_examples // 100)
