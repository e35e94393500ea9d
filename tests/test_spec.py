"""Front-end unit tests: ConvSpec canonicalization and shape rules, checked against JAX.

Pure Python: no MLIR and no XLA. JAX is the oracle through `jax.eval_shape`,
`jax.lax.padtype_to_pads` and `jax.lax.conv_dimension_numbers`, none of which compiles.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from localconv_cases import ALL_DTYPES, spec_of

from localconv import ConvSpec, params
from localconv.params import SUPPORTED_DTYPES, DimensionNumbers

LHS_SHAPE = (2, 3, 5, 6)
RHS_SHAPE = (4, 27, 3, 4)
BASE = {"window_strides": (1, 1), "padding": "VALID", "filter_shape": (3, 3)}


def make_spec(
    lhs_shape: tuple[int, ...] = LHS_SHAPE,
    rhs_shape: tuple[int, ...] = RHS_SHAPE,
    lhs_dtype: Any = "float32",
    rhs_dtype: Any = "float32",
    **kwargs: Any,
) -> ConvSpec:
    return ConvSpec.from_arguments(lhs_shape, lhs_dtype, rhs_shape, rhs_dtype, **{**BASE, **kwargs})


def jax_result(
    lhs_shape: tuple[int, ...],
    lhs_dtype: Any,
    rhs_shape: tuple[int, ...],
    rhs_dtype: Any,
    *args: Any,
    **kwargs: Any,
) -> jax.ShapeDtypeStruct:
    """Shape and dtype of `jax.lax.conv_general_dilated_local`, traced but not compiled."""
    return jax.eval_shape(
        lambda lhs, rhs: lax.conv_general_dilated_local(lhs, rhs, *args, **kwargs),
        jax.ShapeDtypeStruct(lhs_shape, lhs_dtype),
        jax.ShapeDtypeStruct(rhs_shape, rhs_dtype),
    )


def test_spec_is_frozen() -> None:
    spec = make_spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.window_strides = (2, 2)  # type: ignore[misc]


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("window_strides", (0, 1), ValueError),
        ("padding", ((0, 0),), TypeError),
        ("precision", ("DEFAULT", "highest"), ValueError),
        ("lhs_dtype", "int32", TypeError),
        ("rhs_shape", (4, 26, 3, 4), TypeError),
        (
            "dimension_numbers",
            DimensionNumbers((0, 1, 2, 2), (0, 1, 2, 3), (0, 1, 2, 3)),
            (TypeError, ValueError),
        ),
    ],
)
def test_replace_cannot_make_an_invalid_spec(field: str, value: Any, error: Any) -> None:
    """The canonical constructor validates too (the composite decoder relies on it)."""
    with pytest.raises(error, match=field.split("_")[0]):
        dataclasses.replace(make_spec(), **{field: value})


def test_spec_is_hashable() -> None:
    first, second = make_spec(), make_spec()
    assert first is not second
    assert {first: "x"}[second] == "x"
    assert make_spec(window_strides=(2, 1), rhs_shape=(4, 27, 2, 4)) not in {first: "x"}


# Each group: keyword overrides that must all give one spec, then one that must give another.
SAME_FILTER = {"filter_shape": (2, 2), "rhs_shape": (4, 12, 5, 6)}
NHWC = {"lhs_shape": (2, 5, 5, 3), "rhs_shape": (3, 3, 27, 4)}
SPELLING_GROUPS = {
    "padding": (
        [
            {**SAME_FILTER, "padding": "SAME"},
            {**SAME_FILTER, "padding": "same"},
            {**SAME_FILTER, "padding": ((0, 1), (0, 1))},
            {**SAME_FILTER, "padding": [[0, 1], [0, 1]]},
            {**SAME_FILTER, "padding": np.array([[0, 1], [0, 1]])},
            {**SAME_FILTER, "padding": jnp.array([[0, 1], [0, 1]])},
        ],
        {**SAME_FILTER, "padding": "SAME_LOWER"},
    ),
    "precision": (
        [
            {"precision": "highest"},
            {"precision": "float32"},
            {"precision": lax.Precision.HIGHEST},
            {"precision": ("highest", "highest")},
            {"precision": ["highest", "float32"]},
            {"precision": (lax.Precision.HIGHEST, lax.Precision.HIGHEST)},
        ],
        {"precision": "high"},
    ),
    "default_precision": (
        [{}, {"precision": None}, {"precision": "default"}, {"precision": "fastest"}],
        {"precision": ("default", "highest")},
    ),
    "dimension_numbers": (
        [
            {**NHWC, "dimension_numbers": ("NHWC", "WHIO", "NHWC")},
            {**NHWC, "dimension_numbers": ("NXYC", "YXIO", "NXYC")},
            {**NHWC, "dimension_numbers": ["NabC", "baIO", "NabC"]},
            {
                **NHWC,
                "dimension_numbers": lax.conv_dimension_numbers((1,) * 4, (1,) * 4, ("NHWC", "WHIO", "NHWC")),
            },
            {**NHWC, "dimension_numbers": lax.ConvDimensionNumbers((0, 3, 2, 1), (3, 2, 0, 1), (0, 3, 2, 1))},
        ],
        {**NHWC, "dimension_numbers": ("NHWC", "HWIO", "NHWC")},
    ),
    "default_dimension_numbers": (
        [
            {},
            {"dimension_numbers": ("NCHW", "OIHW", "NCHW")},
            {"dimension_numbers": ("NCXY", "OIXY", "NCXY")},
        ],
        {"dimension_numbers": ("NCHW", "OIHW", "NCWH"), "rhs_shape": (4, 27, 3, 4)},
    ),
    "integer_sequences": (
        [
            {},
            {"window_strides": [1, 1], "filter_shape": np.array([3, 3])},
            {"lhs_dilation": (1, 1), "rhs_dilation": [1, 1]},
            {"window_strides": (np.int32(1), np.int64(1))},
        ],
        {"rhs_dilation": (1, 2), "rhs_shape": (4, 27, 3, 2)},
    ),
}


@pytest.mark.parametrize("group", SPELLING_GROUPS, ids=str)
def test_equivalent_spellings_give_one_spec(group: str) -> None:
    spellings, other = SPELLING_GROUPS[group]
    specs = [make_spec(**kwargs) for kwargs in spellings]
    for spec in specs[1:]:
        assert spec == specs[0]
        assert hash(spec) == hash(specs[0])
    assert make_spec(**other) != specs[0]


@settings(max_examples=strategies.examples(200))
@given(
    data=st.data(),
    num_spatial=st.integers(1, 3),
    mode=st.sampled_from(strategies.PADDING_STRINGS),
)
def test_string_padding_resolves_like_jax(data: st.DataObject, num_spatial: int, mode: str) -> None:
    sizes = st.lists(st.integers(0, 9), min_size=num_spatial, max_size=num_spatial)
    positive = st.lists(st.integers(1, 4), min_size=num_spatial, max_size=num_spatial)
    in_spatial, window, strides = (tuple(data.draw(s)) for s in (sizes, positive, positive))
    ours = params.explicit_padding(mode, in_spatial, window, strides, (1,) * num_spatial)
    expected = lax.padtype_to_pads(in_spatial, window, strides, mode)
    assert ours == tuple((int(low), int(high)) for low, high in expected)


def jax_out(case: strategies.Case) -> jax.ShapeDtypeStruct:
    """JAX's result for `case`; C = 0 (which JAX rejects) is traced with C = 1 instead."""
    lhs_shape, rhs_shape = list(case.lhs_shape), list(case.rhs_shape)
    if lhs_shape[case.layout.lhs[1]] == 0:
        lhs_shape[case.layout.lhs[1]] = 1
        rhs_shape[case.layout.rhs[1]] = math.prod(case.filter_shape)
    return jax_result(tuple(lhs_shape), case.lhs_dtype, tuple(rhs_shape), case.rhs_dtype, *case.params)


@settings(max_examples=strategies.examples(150))
@given(case=strategies.cases(dtypes=ALL_DTYPES, min_in_features=0))
def test_out_shape_and_dtype_match_jax(case: strategies.Case) -> None:
    spec = spec_of(case)
    expected = jax_out(case)
    assert spec.out_shape == expected.shape
    assert spec.out_dtype == expected.dtype.name
    if isinstance(case.padding, str):
        window = [1 + d * (k - 1) for k, d in zip(spec.filter_shape, spec.rhs_dilation, strict=True)]
        pads = lax.padtype_to_pads(spec.in_spatial, window, spec.window_strides, case.padding)
        assert spec.padding == tuple((int(low), int(high)) for low, high in pads)


# (lhs shape, rhs shape) in NCHW / OIHW with a 3x3 window, stride 1, VALID.
ZERO_SIZE = {
    "batch_0": ((0, 3, 5, 6), (4, 27, 3, 4)),
    "out_features_0": ((2, 3, 5, 6), (0, 27, 3, 4)),
    "out_spatial_0": ((2, 3, 2, 6), (4, 27, 0, 4)),
    "in_spatial_0": ((2, 3, 0, 6), (4, 27, 0, 4)),
    "everything_0": ((0, 3, 0, 0), (0, 27, 0, 0)),
}


@pytest.mark.parametrize("shapes", ZERO_SIZE.values(), ids=ZERO_SIZE)
def test_zero_size_out_shape_matches_jax(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    lhs_shape, rhs_shape = shapes
    expected = jax_result(lhs_shape, "float32", rhs_shape, "float32", **BASE)
    assert make_spec(lhs_shape, rhs_shape).out_shape == expected.shape


def test_zero_in_features_gives_zero_patch() -> None:
    """C = 0 (JAX rejects it) is valid here: an empty contraction, same out shape as C = 1."""
    spec = make_spec((2, 0, 5, 6), (4, 0, 3, 4))
    assert spec.patch_size == 0
    assert spec.out_shape == make_spec((2, 1, 5, 6), (4, 9, 3, 4)).out_shape == (2, 4, 3, 4)


@pytest.mark.parametrize("x64", [False, True], ids=["x64_off", "x64_on"])
@pytest.mark.parametrize("lhs_dtype, rhs_dtype", list(itertools.product(SUPPORTED_DTYPES, repeat=2)))
def test_result_dtype_follows_jax(lhs_dtype: str, rhs_dtype: str, x64: bool) -> None:
    with jax.enable_x64(x64):
        spec = make_spec(lhs_dtype=lhs_dtype, rhs_dtype=rhs_dtype)
        expected = jax_result(LHS_SHAPE, lhs_dtype, RHS_SHAPE, rhs_dtype, **BASE).dtype
    assert spec.out_dtype == expected.name


@pytest.mark.parametrize("dtype, canonical", [(np.float64, "float32"), (np.complex128, "complex64")])
def test_x64_dtypes_without_x64_are_narrowed_like_jax(dtype: Any, canonical: str) -> None:
    with jax.enable_x64(False):
        spec = make_spec(lhs_dtype=dtype, rhs_dtype=dtype)
        expected = jax_result(LHS_SHAPE, dtype, RHS_SHAPE, dtype, **BASE).dtype
    assert (spec.lhs_dtype, spec.rhs_dtype, spec.out_dtype) == (canonical,) * 3
    assert expected.name == canonical


def test_a_list_of_two_precision_enums_is_refused_as_jax_refuses_it() -> None:
    """JAX turns a list of two strings into a tuple, but passes two enums in a list on as a list."""
    precision = [lax.Precision.HIGHEST, lax.Precision.HIGHEST]
    lhs, rhs = np.ones((1, 1, 3), np.float32), np.ones((1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="Unsupported precision"):
        lax.conv_general_dilated_local(lhs, rhs, (1,), "SAME", (3,), precision=precision)
    with pytest.raises(ValueError, match="precision must be None"):
        make_spec(precision=precision)


@pytest.mark.parametrize(
    "config, expected",
    [
        ("highest", "HIGHEST"),
        ("float32", "HIGHEST"),
        ("high", "HIGH"),
        ("tensorfloat32", "HIGH"),
        ("default", "DEFAULT"),
        ("bfloat16", "DEFAULT"),
    ],
)
def test_precision_none_takes_default_matmul_precision(config: str, expected: str) -> None:
    with jax.default_matmul_precision(config):
        assert make_spec(precision=None).precision == (expected, expected)
        assert make_spec(precision="high").precision == ("HIGH", "HIGH")
    assert make_spec(precision=None).precision == ("DEFAULT", "DEFAULT")


@pytest.mark.parametrize("preset", ["BF16_BF16_F32", "F32_F32_F32", "TF32_TF32_F32"])
def test_default_matmul_precision_preset_is_rejected(preset: str) -> None:
    with jax.default_matmul_precision(preset):
        with pytest.raises(ValueError, match=rf"precision.*jax_default_matmul_precision.*{preset}"):
            make_spec(precision=None)
        assert make_spec(precision="highest").precision == ("HIGHEST", "HIGHEST")


def draw_perms(data: st.DataObject, ndim: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(data.draw(st.permutations(range(ndim)))) for _ in range(3))


@settings(max_examples=strategies.examples(200))
@given(data=st.data(), num_spatial=st.integers(0, 6))
def test_spec_strings_round_trip(data: st.DataObject, num_spatial: int) -> None:
    """Canonical dimension numbers (rhs spatial dims in increasing position) survive strings."""
    ndim = num_spatial + 2
    lhs, rhs, out = draw_perms(data, ndim)
    perms = DimensionNumbers(lhs, (*rhs[:2], *sorted(rhs[2:])), out)
    strings = params.spec_strings(perms)
    assert params.dimension_numbers_perms(strings, ndim) == perms
    assert lax.conv_dimension_numbers((1,) * ndim, (1,) * ndim, strings) == lax.ConvDimensionNumbers(*perms)


@settings(max_examples=strategies.examples(200))
@given(data=st.data(), num_spatial=st.integers(0, 4))
def test_conv_dimension_numbers_are_canonicalized_or_refused(data: st.DataObject, num_spatial: int) -> None:
    """Any accepted ConvDimensionNumbers has a spelling as strings (the composite's encoding).

    With rhs spatial dims out of position order JAX itself is inconsistent (window_strides
    follow lhs_spec order, filter_shape the rhs layout), so a ValueError is a fine answer too.
    """
    ndim = num_spatial + 2
    try:
        perms = params.dimension_numbers_perms(lax.ConvDimensionNumbers(*draw_perms(data, ndim)), ndim)
    except ValueError:
        return
    assert params.dimension_numbers_perms(params.spec_strings(perms), ndim) == perms


@settings(max_examples=strategies.examples(100))
@given(case=strategies.cases(min_in_features=0))
def test_spec_strings_give_back_the_spec(case: strategies.Case) -> None:
    spec = spec_of(case)
    assert spec_of(dataclasses.replace(case, dimension_numbers=spec.spec_strings)) == spec
