"""Every pipeline computes what JAX computes: `O0`, `default`, and each pass alone after `O0`.

`default` also runs with every choice of every pass option that has choices (e.g. each
contraction strategy), so each lowering form is checked after the full cleanup.

The sweep is biased towards the inputs the rewrites look for: windows that tile the input
(stride == window, which the space-to-depth rewrite turns into reshape + transpose), pads that
are never read, negative padding (a crop), input and window dilation, and arbitrary layouts
spelled with arbitrary spatial letters. Shapes come from the definition of the operation; the
expected values come from `jax.jit(jax.lax.conv_general_dilated_local)`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax

import localconv
from localconv.lowering.pipelines import pipeline_elements
from localconv.lowering.registry import PASSES

SPATIAL_LETTERS = "ABDEFGHJKLMPQRSTUVWXYZ"


def option_variants_of_default() -> list[str]:
    """The default pipeline with one pass option forced to each of its choices."""
    elements = pipeline_elements("default")
    variants = []
    for index, element in enumerate(elements):
        for field in PASSES[element].option_fields() if element in PASSES else ():
            for choice in field.metadata.get("choices", ()):
                forced = f"{element}{{{field.name.replace('_', '-')}={choice}}}"
                variants.append(
                    f"builtin.module({','.join([*elements[:index], forced, *elements[index + 1 :]])})"
                )
    return variants


PARITY_PIPELINES = (
    "O0",
    "default",
    *(f"builtin.module(localconv-legalize-composite,{name})" for name in sorted(PASSES)),
    *option_variants_of_default(),
)


def dilated(size: int, dilation: int) -> int:
    """Extent of `size` elements with `dilation - 1` holes between neighbours."""
    return 0 if size == 0 else 1 + dilation * (size - 1)


def same_padding(size: int, window: int, stride: int, lower: bool) -> tuple[int, int]:
    """'SAME' padding: ceil(size / stride) outputs, the odd element high ('SAME_LOWER': low)."""
    total = max((-(-size // stride) - 1) * stride + window - size, 0)
    low, high = total // 2, total - total // 2
    return (high, low) if lower else (low, high)


def place(logical: tuple[int, ...], positions: tuple[int, ...]) -> tuple[int, ...]:
    """The physical shape that puts logical dim k at position `positions[k]`."""
    shape = [0] * len(logical)
    for extent, position in zip(logical, positions, strict=True):
        shape[position] = extent
    return tuple(shape)


@dataclasses.dataclass(frozen=True)
class LocalConv:
    """One f32 `conv_general_dilated_local` call: shapes and parameters, JAX's spellings."""

    lhs_shape: tuple[int, ...]
    rhs_shape: tuple[int, ...]
    window_strides: tuple[int, ...]
    padding: Any
    filter_shape: tuple[int, ...]
    lhs_dilation: tuple[int, ...] | None
    rhs_dilation: tuple[int, ...] | None
    dimension_numbers: tuple[str, str, str] | None
    out_shape: tuple[int, ...]
    contraction_length: int

    @property
    def params(self) -> tuple[Any, ...]:
        """The arguments after (lhs, rhs), positionally."""
        return (
            self.window_strides,
            self.padding,
            self.filter_shape,
            self.lhs_dilation,
            self.rhs_dilation,
            self.dimension_numbers,
        )

    def jax_local(self, lhs: Any, rhs: Any) -> jax.Array:
        return lax.conv_general_dilated_local(lhs, rhs, *self.params)

    def jax_patches(self, lhs: Any) -> jax.Array:
        return lax.conv_general_dilated_patches(
            lhs,
            self.filter_shape,
            self.window_strides,
            self.padding,
            self.lhs_dilation,
            self.rhs_dilation,
            self.dimension_numbers,
        )

    def operands(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        return (
            rng.standard_normal(self.lhs_shape).astype(np.float32),
            rng.standard_normal(self.rhs_shape).astype(np.float32),
        )


KINDS = ("tiling", "dilated", "string-padding")
SPATIAL_DIMS = st.sampled_from([1, 2, 2, 3])


@st.composite
def local_convs(
    draw: st.DrawFn,
    kind: str | None = None,
    spatial_dims: st.SearchStrategy[int] = SPATIAL_DIMS,
) -> LocalConv:
    """Valid f32 local convolutions; spatial dim i is the i-th spatial letter of the rhs spec.

    `kind` picks the family: "tiling" (stride == window, no window dilation, any padding),
    "dilated" (explicit, possibly negative padding with lhs and rhs dilation), or
    "string-padding" ('VALID', 'SAME', 'SAME_LOWER'); None draws one of them.
    """
    kind = kind or draw(st.sampled_from(KINDS))
    n = draw(spatial_dims)
    if draw(st.integers(0, 3)) == 0:
        dimension_numbers = None
        iota = tuple(range(n + 2))
        lhs_pos = rhs_pos = out_pos = iota
    else:
        letters = draw(st.lists(st.sampled_from(SPATIAL_LETTERS), min_size=n, max_size=n, unique=True))
        lhs_spec, rhs_spec, out_spec = (
            "".join(draw(st.permutations([*pair, *letters]))) for pair in ("NC", "OI", "NC")
        )
        dimension_numbers = (lhs_spec, rhs_spec, out_spec)
        order = [c for c in rhs_spec if c not in "OI"]
        lhs_pos, rhs_pos, out_pos = (
            tuple(spec.index(c) for c in (*pair, *order))
            for spec, pair in ((lhs_spec, "NC"), (rhs_spec, "OI"), (out_spec, "NC"))
        )

    max_size = 7 if n < 3 else 5
    filter_shape = tuple(draw(st.integers(1, 3)) for _ in range(n))
    if kind == "tiling" and max(filter_shape) == 1:
        filter_shape = (*filter_shape[:-1], draw(st.integers(2, 3)))
    smallest = filter_shape if kind == "tiling" else (1,) * n
    in_spatial = tuple(draw(st.integers(low, max_size)) for low in smallest)
    if kind == "tiling":
        strides = filter_shape
        rhs_dilation = (1,) * n
    else:
        strides = tuple(draw(st.integers(1, 3)) for _ in range(n))
        rhs_dilation = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(n))
    window = tuple(map(dilated, filter_shape, rhs_dilation))

    explicit = kind == "dilated" or (kind == "tiling" and draw(st.booleans()))
    if explicit:
        dilations = [1, 2, 3] if kind == "dilated" else [1]
        lhs_dilation = tuple(draw(st.sampled_from(dilations)) for _ in range(n))
        allow_empty = draw(st.integers(0, 5)) == 0
        pads = []
        for size, ld, extent in zip(in_spatial, lhs_dilation, window, strict=True):
            low = draw(st.integers(-min(dilated(size, ld), 3), 3))
            fewest = -min(dilated(size, ld) + low, 3) if allow_empty else extent - dilated(size, ld) - low
            high = draw(st.integers(fewest, max(fewest, 3)))
            pads.append((low, high))
        padding: Any = tuple(pads)
    else:
        lhs_dilation = (1,) * n
        padding = draw(st.sampled_from(["VALID", "SAME", "SAME_LOWER"]))
        pads = [
            (0, 0) if padding == "VALID" else same_padding(size, extent, stride, padding == "SAME_LOWER")
            for size, extent, stride in zip(in_spatial, window, strides, strict=True)
        ]

    out_spatial = tuple(
        max(0, (dilated(size, ld) + low + high - extent) // stride + 1)
        for size, ld, (low, high), extent, stride in zip(
            in_spatial, lhs_dilation, pads, window, strides, strict=True
        )
    )
    batch, channels, out_features = (draw(st.integers(1, 3)) for _ in range(3))
    patch = channels * math.prod(filter_shape)
    return LocalConv(
        lhs_shape=place((batch, channels, *in_spatial), lhs_pos),
        rhs_shape=place((out_features, patch, *out_spatial), rhs_pos),
        window_strides=strides,
        padding=padding,
        filter_shape=filter_shape,
        lhs_dilation=None if set(lhs_dilation) == {1} and draw(st.booleans()) else lhs_dilation,
        rhs_dilation=None if set(rhs_dilation) == {1} and draw(st.booleans()) else rhs_dilation,
        dimension_numbers=dimension_numbers,
        out_shape=place((batch, out_features, *out_spatial), out_pos),
        contraction_length=patch,
    )


def assert_close(actual: Any, expected: Any, contraction_length: int, what: str) -> None:
    """f32 agreement up to rounding of a sum of `contraction_length` products of N(0, 1) values."""
    np.testing.assert_allclose(
        np.asarray(actual), np.asarray(expected), rtol=1e-5, atol=2e-6 * contraction_length, err_msg=what
    )


@pytest.mark.xla
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=24, derandomize=True, deadline=None)
@given(data=st.data())
def test_every_pipeline_matches_jax(kind: str, data: st.DataObject):
    case = data.draw(local_convs(kind), label="case")
    lhs, rhs = case.operands()
    expected = jax.jit(case.jax_local)(lhs, rhs)
    assert expected.shape == case.out_shape
    failures = []
    for pipeline in PARITY_PIPELINES:
        lowered = localconv.lower(lhs, rhs, *case.params, pipeline=pipeline)
        actual = lowered.compile()(lhs, rhs)
        try:
            assert actual.shape == expected.shape
            assert_close(actual, expected, case.contraction_length, pipeline)
        except AssertionError as err:
            failures.append(f"{pipeline}: {err}")
    assert not failures, "\n".join(failures)


@pytest.mark.xla
@pytest.mark.parametrize("pipeline", PARITY_PIPELINES)
def test_space_to_depth_case_matches_jax(pipeline: str):
    """A tiling window (space-to-depth) in permuted layouts with out-of-order spatial letters."""
    case = LocalConv(
        lhs_shape=(6, 2, 8, 3),
        rhs_shape=(4, 3, 12, 5),
        window_strides=(2, 2),
        padding="VALID",
        filter_shape=(2, 2),
        lhs_dilation=None,
        rhs_dilation=None,
        dimension_numbers=("HNWC", "WHIO", "NWHC"),
        out_shape=(2, 4, 3, 5),
        contraction_length=12,
    )
    lhs, rhs = case.operands(seed=1)
    expected = jax.jit(case.jax_local)(lhs, rhs)
    assert expected.shape == case.out_shape
    actual = localconv.lower(lhs, rhs, *case.params, pipeline=pipeline).compile()(lhs, rhs)
    assert_close(actual, expected, case.contraction_length, pipeline)
