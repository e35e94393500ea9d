"""Front-end fuzzing: every invalid argument set is refused quickly, clearly and before any IR.

Each test draws a valid case from `strategies.cases`, breaks exactly one thing about it (one
class of invalid input per test) and calls the public entry points with it:
`ConvSpec.from_arguments`, `localconv.lower(..., pipeline=None)` with `jax.ShapeDtypeStruct`
operands (so shapes near 2**63 never allocate), and `localconv.conv_general_dilated_local`
where the operands are small enough to build as NumPy arrays. Every call must

- raise `TypeError` or `ValueError`,
- with a message that names the parameter that was broken (the operand, for operand faults),
- within `TIME_LIMIT_S`,
- without reaching MLIR or XLA: tripwires replace `irbuild.make_context`,
  `emitter.build_module`, `runner.compile_module` and `primitive.bind_conv` for the whole
  module and raise `IRBuilt`, a `BaseException` no `except Exception` can swallow.

Everything here is pure Python; nothing is compiled. A CI run tries about 2,400 invalid
argument sets in total (each through two or three entry points). For a long run set

    LOCALCONV_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_frontend.py -p no:cacheprovider

which spreads 20,000 examples over the tests below by the same weights (HYPOTHESIS_PROFILE
=thorough also scales the default by ten). `--hypothesis-show-statistics` prints the count each
test ran.
"""

from __future__ import annotations

import dataclasses
import decimal
import fractions
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import strategies
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st
from jax import lax

import localconv
from localconv import emitter, irbuild, primitive, runner
from localconv.params import PADDING_NAMES

TIME_LIMIT_S = 1.0
INT64_MAX = 2**63 - 1
PARAMS = (
    "window_strides",
    "padding",
    "filter_shape",
    "lhs_dilation",
    "rhs_dilation",
    "dimension_numbers",
    "precision",
)
INT_SEQUENCE_PARAMS = ("window_strides", "filter_shape", "lhs_dilation", "rhs_dilation")
# Share of the total example count each test gets.
WEIGHTS = {
    "wrong_types": 0.20,
    "nonpositive": 0.10,
    "huge": 0.15,
    "ranks": 0.10,
    "dimension_numbers": 0.15,
    "rhs_off_by_one": 0.10,
    "dtypes": 0.10,
    "non_arrays": 0.10,
}
TOTAL_EXAMPLES = int(os.environ.get("LOCALCONV_FUZZ_EXAMPLES", "0")) or strategies.examples(2400)


def fuzz_settings(category: str) -> settings:
    # No explain phase: on a failure it reruns hundreds of variants and adds nothing here.
    return settings(
        max_examples=math.ceil(TOTAL_EXAMPLES * WEIGHTS[category]),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


# --- tripwires ---------------------------------------------------------------------------


class IRBuilt(BaseException):
    """Raised by the tripwires: validation let the input through to IR or XLA."""


@pytest.fixture(scope="module", autouse=True)
def tripwires() -> Any:
    """Every step past validation raises IRBuilt for the whole module."""

    def tripwire(*args: Any, **kwargs: Any) -> None:
        raise IRBuilt("validation let the input through: IR construction or XLA was reached")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(irbuild, "make_context", tripwire)
        patch.setattr(emitter, "build_module", tripwire)
        patch.setattr(runner, "compile_module", tripwire)
        patch.setattr(primitive, "bind_conv", tripwire)
        yield


# --- invalid calls and the entry points ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Operand:
    """An operand by shape and dtype (what `lower` reads from a ShapeDtypeStruct)."""

    shape: Any
    dtype: Any


@dataclasses.dataclass(frozen=True)
class Raw:
    """An operand passed as it is (a non-array value)."""

    value: Any


@dataclasses.dataclass(frozen=True)
class Call:
    """One invalid call and the parameters its error message may name."""

    lhs: Operand | Raw
    rhs: Operand | Raw
    params: dict[str, Any]
    names: tuple[str, ...]
    what: str


def call_from_case(case: strategies.Case, what: str, names: tuple[str, ...], **changes: Any) -> Call:
    """`case` with some operands or parameters replaced."""
    params = dict(zip(PARAMS, case.params, strict=True))
    lhs = changes.pop("lhs", Operand(case.lhs_shape, case.lhs_dtype))
    rhs = changes.pop("rhs", Operand(case.rhs_shape, case.rhs_dtype))
    assert set(changes) <= set(PARAMS), changes
    return Call(lhs, rhs, {**params, **changes}, names, what)


def struct(operand: Operand) -> Any:
    """A `jax.ShapeDtypeStruct` when it keeps shape and dtype exactly, else the Operand itself."""
    shape = operand.shape
    plain = isinstance(shape, tuple) and all(type(d) is int for d in shape)
    if plain:
        try:
            value = jax.ShapeDtypeStruct(shape, operand.dtype)
            if value.shape == shape and value.dtype == jnp.dtype(operand.dtype):
                return value
        except (TypeError, ValueError):
            pass
    return operand


def small_array(operand: Operand | Raw) -> Any:
    """The operand as a NumPy array when that is cheap and needs no conversion, else None."""
    if isinstance(operand, Raw):
        return operand.value
    shape = operand.shape
    if not isinstance(shape, tuple) or not all(type(d) is int and 0 <= d <= 64 for d in shape):
        return None
    if math.prod(shape) > 4096:
        return None
    try:
        dtype = jnp.dtype(operand.dtype)
    except (TypeError, ValueError):
        return None
    # float64/complex128 would be narrowed by a device copy (jnp.asarray): not pure Python.
    if dtype.name in ("float64", "complex128"):
        return None
    return np.zeros(shape, dtype)


def via_from_arguments(call: Call) -> Any:
    if isinstance(call.lhs, Raw) or isinstance(call.rhs, Raw):
        return None
    return lambda: localconv.ConvSpec.from_arguments(
        call.lhs.shape, call.lhs.dtype, call.rhs.shape, call.rhs.dtype, **call.params
    )


def via_lower(call: Call) -> Any:
    lhs, rhs = (x.value if isinstance(x, Raw) else struct(x) for x in (call.lhs, call.rhs))
    return lambda: localconv.lower(lhs, rhs, **call.params, pipeline=None)


def via_conv(call: Call) -> Any:
    lhs, rhs = small_array(call.lhs), small_array(call.rhs)
    if lhs is None or rhs is None:
        return None
    return lambda: localconv.conv_general_dilated_local(lhs, rhs, **call.params)


ENTRY_POINTS = {"from_arguments": via_from_arguments, "lower": via_lower, "conv": via_conv}


def name_pattern(name: str) -> str:
    """A regex for the parameter `name` as a whole word (`lhs` does not match `lhs_dilation`)."""
    return rf"\b{re.escape(name)}\b"


def check_refused(call: Call) -> None:
    """Every applicable entry point refuses `call` as the module docstring requires."""
    pattern = "|".join(map(name_pattern, call.names))
    problems = []
    for entry, make in ENTRY_POINTS.items():
        thunk = make(call)
        if thunk is None:
            continue
        start = time.perf_counter()
        try:
            thunk()
        except (TypeError, ValueError) as error:
            elapsed = time.perf_counter() - start
            if elapsed >= TIME_LIMIT_S:
                problems.append(f"{entry}: refusing it took {elapsed:.2f} s")
            if not re.search(pattern, str(error)):
                problems.append(
                    f"{entry}: the error names none of {call.names}: {type(error).__name__}: {error}"
                )
        except IRBuilt:
            problems.append(f"{entry}: it passed validation and reached IR construction")
        else:
            problems.append(f"{entry}: it was accepted")
    assert not problems, f"{call.what}:\n  " + "\n  ".join(problems)


# --- building blocks ----------------------------------------------------------------------

BASE = strategies.cases(spatial_dims=st.sampled_from([1, 1, 2, 2, 3]))
ANY_BASE = strategies.cases()


def layout_specs(case: strategies.Case) -> tuple[str, str, str]:
    """Spec strings describing `case`'s layout (spatial dims named H, W, D)."""
    n = len(case.lhs_shape) - 2

    def spec(positions: tuple[int, ...], pair: str) -> str:
        chars = [""] * (n + 2)
        for char, position in zip(pair + "HWD"[:n], positions, strict=True):
            chars[position] = char
        return "".join(chars)

    layout = case.layout
    return spec(layout.lhs, "NC"), spec(layout.rhs, "OI"), spec(layout.out, "NC")


def spatial_values(case: strategies.Case, name: str) -> list[int]:
    """The per-spatial-dimension parameter `name` of `case` as a list (None becomes ones)."""
    value = dict(zip(PARAMS, case.params, strict=True))[name]
    return [1] * (len(case.lhs_shape) - 2) if value is None else list(value)


def explicit_pairs(case: strategies.Case) -> list[tuple[int, int]]:
    """`case`'s padding as (low, high) pairs, strings resolved."""
    in_spatial = tuple(case.lhs_shape[p] for p in case.layout.lhs[2:])
    rhs_dilation = spatial_values(case, "rhs_dilation")
    window = tuple(map(strategies.dilated, case.filter_shape, rhs_dilation))
    return strategies.resolve_padding(case.padding, in_spatial, window, tuple(case.window_strides))


def recomputed(
    case: strategies.Case, lhs_shape: tuple[int, ...] | None = None, **params: Any
) -> strategies.Case:
    """`case` with new lhs shape or parameters and the rhs shape they imply by the definition."""
    values = dict(zip(PARAMS, case.params, strict=True))
    values.update(params)
    return strategies.make_case(
        lhs_shape or case.lhs_shape,
        case.rhs_shape[case.layout.rhs[0]],
        dtypes=(case.lhs_dtype, case.rhs_dtype),
        **values,
    )


def overflowing(case: strategies.Case) -> tuple[str, ...]:
    """The operands of `case` with a dimension or an element count beyond int64."""
    return tuple(
        name
        for name, shape in (("lhs", case.lhs_shape), ("rhs", case.rhs_shape))
        if max(shape, default=0) > INT64_MAX or math.prod(shape) > INT64_MAX
    )


# --- 1. wrong types -----------------------------------------------------------------------

BAD_ITEMS = st.sampled_from(
    [
        1.0,
        2.5,
        -0.0,
        float("nan"),
        float("inf"),
        1e300,
        "1",
        "a",
        "",
        None,
        True,
        False,
        np.bool_(True),
        [1],
        (1,),
        [],
        [[1]],
        1j,
        np.float32(1.0),
        np.float64(3.0),
        np.array([1]),
        b"1",
        decimal.Decimal(1),
        fractions.Fraction(3, 1),
        {1: 1},
        {1},
        Ellipsis,
    ]
)
BAD_WHOLE = st.sampled_from(
    [
        3,
        1.0,
        "1",
        "1,1",
        b"11",
        {1: 1},
        {1, 2},
        np.float64(1.0),
        np.array(3),
        np.array([1.5, 2.0]),
        print,
        True,
    ]
)


@st.composite
def bad_int_sequence(draw, value: list[int], allow_none: bool) -> Any:
    """`value` (a list of ints) made into something that is not a sequence of ints."""
    kind = draw(
        st.sampled_from(["item", "item", "whole", "nested", "ragged"] + ([] if allow_none else ["none"]))
    )
    if kind == "item" and value:
        items = list(value)
        items[draw(st.integers(0, len(items) - 1))] = draw(BAD_ITEMS)
        return draw(st.sampled_from([list, tuple]))(items)
    if kind == "nested":
        return [list(value)] if value else [[1]]
    if kind == "ragged":
        return [[1, 2], [3]] + list(value)
    if kind == "none":
        return None
    return draw(BAD_WHOLE)


@st.composite
def bad_padding(draw, case: strategies.Case) -> Any:
    """Padding that is neither a known mode nor a sequence of (low, high) integer pairs."""
    pairs = explicit_pairs(case)
    kind = draw(st.sampled_from(["item", "pair_length", "pair_type", "string", "whole"]))
    if kind == "string":
        return draw(st.text(max_size=12).filter(lambda s: s.upper() not in PADDING_NAMES))
    if kind == "whole" or not pairs:
        return draw(st.sampled_from([None, 0, 1, 1.5, b"SAME", {"SAME": 1}, ["SAME"], [1, 1], np.array(0)]))
    i = draw(st.integers(0, len(pairs) - 1))
    items: list[Any] = [list(p) for p in pairs]
    if kind == "item":
        items[i][draw(st.integers(0, 1))] = draw(BAD_ITEMS)
    elif kind == "pair_length":
        items[i] = draw(st.sampled_from([[0], [0, 0, 0], []]))
    else:
        items[i] = draw(st.sampled_from([0, None, "00", b"00", 1.5, {0, 1}]))
    return items


@st.composite
def bad_dimension_numbers(draw, case: strategies.Case) -> Any:
    specs = layout_specs(case)
    ndim = len(case.lhs_shape)
    perms = (case.layout.lhs, case.layout.rhs, case.layout.out)
    kind = draw(st.sampled_from(["whole", "count", "non_string", "conv_dimension_numbers"]))
    if kind == "whole":
        return draw(
            st.sampled_from([3, 1.5, specs[0], b"NCHW", {"lhs": specs[0]}, {specs}, np.array(list(specs))])
        )
    if kind == "count":
        return draw(st.sampled_from([specs[:2], specs[:1], (*specs, specs[2]), ()]))
    if kind == "non_string":
        items: list[Any] = list(specs)
        items[draw(st.integers(0, 2))] = draw(
            st.sampled_from([None, 5, list(range(ndim)), specs[0].encode()])
        )
        return tuple(items)
    broken = [list(p) for p in perms]
    k = draw(st.integers(0, 2))
    broken[k][draw(st.integers(0, ndim - 1))] = draw(st.sampled_from([None, 1.0, "0", True, [0]]))
    return lax.ConvDimensionNumbers(*map(tuple, broken))


PRECISION_ALIASES = {*strategies.PRECISION_STRINGS}
BAD_PRECISIONS = st.one_of(
    st.sampled_from(
        [
            1,
            2.0,
            "HIGHEST",
            "ultra",
            b"highest",
            [lax.Precision.HIGHEST, lax.Precision.HIGHEST],
            (lax.Precision.HIGHEST,),
            (lax.Precision.HIGH,) * 3,
            (lax.Precision.HIGHEST, "highest"),
            (None, None),
            {"lhs": "highest"},
            lax.DotAlgorithmPreset.F32_F32_F32,
            ("highest", "fast"),
        ]
    ),
    st.text(max_size=10).filter(lambda s: s not in PRECISION_ALIASES),
)


@st.composite
def wrong_types(draw) -> Call:
    case = draw(BASE)
    target = draw(
        st.sampled_from([*INT_SEQUENCE_PARAMS, "padding", "dimension_numbers", "precision", "lhs", "rhs"])
    )
    if target in ("lhs", "rhs"):
        operand = (
            Operand(case.lhs_shape, case.lhs_dtype)
            if target == "lhs"
            else Operand(case.rhs_shape, case.rhs_dtype)
        )
        shape = draw(bad_int_sequence(list(operand.shape), allow_none=False))
        return call_from_case(
            case, f"{target} shape {shape!r}", (target,), **{target: Operand(shape, operand.dtype)}
        )
    if target in INT_SEQUENCE_PARAMS:
        optional = target in ("lhs_dilation", "rhs_dilation")
        value = draw(bad_int_sequence(spatial_values(case, target), allow_none=optional))
    elif target == "padding":
        value = draw(bad_padding(case))
    elif target == "dimension_numbers":
        value = draw(bad_dimension_numbers(case))
    else:
        value = draw(BAD_PRECISIONS)
    return call_from_case(case, f"{target}={value!r}", (target,), **{target: value})


@fuzz_settings("wrong_types")
@given(call=wrong_types())
def test_wrong_types_are_refused(call: Call) -> None:
    """Floats, strings, bools, None, nested and ragged sequences where integers or specs go."""
    check_refused(call)


# --- 2. zero and negative sizes -----------------------------------------------------------

NONPOSITIVE = st.one_of(st.integers(-3, 0), st.integers(max_value=0), st.sampled_from([-(2**31), -(2**63)]))


@st.composite
def nonpositive(draw) -> Call:
    case = draw(BASE)
    target = draw(st.sampled_from([*INT_SEQUENCE_PARAMS, "lhs", "rhs", "padding"]))
    if target in INT_SEQUENCE_PARAMS:
        values = spatial_values(case, target)
        values[draw(st.integers(0, len(values) - 1))] = draw(NONPOSITIVE)
        return call_from_case(case, f"{target}={values}", (target,), **{target: tuple(values)})
    if target == "padding":
        # Negative padding that removes more than the whole (dilated) input extent.
        pairs = explicit_pairs(case)
        i = draw(st.integers(0, len(pairs) - 1))
        size = case.lhs_shape[case.layout.lhs[2 + i]]
        extent = strategies.dilated(size, spatial_values(case, "lhs_dilation")[i])
        total = -extent - draw(st.integers(1, 2**40))
        low = draw(st.integers(min(total, 0), max(total, 0)))
        pairs[i] = (low, total - low)
        return call_from_case(case, f"padding={pairs}", ("padding",), padding=pairs)
    shape = list(case.lhs_shape if target == "lhs" else case.rhs_shape)
    shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(max_value=-1))
    operand = Operand(tuple(shape), case.lhs_dtype if target == "lhs" else case.rhs_dtype)
    return call_from_case(case, f"{target} shape {tuple(shape)}", (target,), **{target: operand})


@fuzz_settings("nonpositive")
@given(call=nonpositive())
def test_zero_and_negative_sizes_are_refused(call: Call) -> None:
    """Zero or negative windows, strides and dilations, negative dims, padding eating the input."""
    check_refused(call)


# --- 3. huge values -----------------------------------------------------------------------

HUGE = st.one_of(
    st.sampled_from([2**63, 2**63 + 1, 2**64, 2**64 + 7, 10**30, 2**100]),
    st.integers(2**63, 2**130),
)


@st.composite
def huge(draw) -> Call:
    case = draw(BASE)
    n = len(case.lhs_shape) - 2
    kind = draw(st.sampled_from(["operand_dim", "elements", "parameter"]))
    if kind == "operand_dim":
        # Beyond int64 in one dim; rhs follows from the definition.
        value = draw(HUGE)
        if draw(st.booleans()):  # rhs's O: no other shape depends on it
            shape = list(case.rhs_shape)
            shape[case.layout.rhs[0]] = value
            return call_from_case(
                case, f"rhs shape {tuple(shape)}", ("rhs",), rhs=Operand(tuple(shape), case.rhs_dtype)
            )
        logical = draw(st.integers(0, n + 1))
        lhs_shape = list(case.lhs_shape)
        lhs_shape[case.layout.lhs[logical]] = value
        broken = recomputed(case, tuple(lhs_shape))
        # N only changes the result; C and spatial extents change rhs too.
        names = ("lhs",) if logical == 0 else ("lhs", "rhs")
        return call_from_case(broken, f"lhs shape {tuple(lhs_shape)}", names)
    if kind == "elements":
        # Every dim fits int64, but an operand has more than 2**63 - 1 elements.
        exponents = draw(st.lists(st.integers(0, 62), min_size=n + 3, max_size=n + 3))
        batch, features, out_features, *spatial = (2**e for e in exponents)
        lhs_shape = strategies.place((batch, features, *spatial), case.layout.lhs)
        broken = strategies.make_case(
            lhs_shape,
            out_features,
            (1,) * n,
            "VALID",
            (1,) * n,
            dimension_numbers=case.dimension_numbers,
            dtypes=(case.lhs_dtype, case.rhs_dtype),
        )
        assume(max(broken.lhs_shape + broken.rhs_shape) <= INT64_MAX)
        names = overflowing(broken)
        assume(names)
        return call_from_case(broken, f"{broken.lhs_shape} * {broken.rhs_shape}", names)
    # One parameter entry beyond int64; rhs follows from the definition.
    target = draw(st.sampled_from([*INT_SEQUENCE_PARAMS, "padding", "padding_cancelling"]))
    i = draw(st.integers(0, n - 1))
    value = draw(HUGE)
    pairs = explicit_pairs(case)
    if target.startswith("padding"):
        low = value if draw(st.booleans()) else -value
        high = -low + draw(st.integers(-1, 3)) if target == "padding_cancelling" else draw(st.integers(-1, 3))
        pairs[i] = (low, high)
        broken = recomputed(case, padding=pairs)
        target = "padding"
    else:
        values = spatial_values(case, target)
        values[i] = value
        # lhs_dilation is only defined with explicit padding.
        extra = {"padding": pairs} if target == "lhs_dilation" else {}
        broken = recomputed(case, **{target: tuple(values)}, **extra)
    changed = dict(zip(PARAMS, broken.params, strict=True))[target]
    return call_from_case(broken, f"{target}={changed}", (target, *overflowing(broken)))


@fuzz_settings("huge")
@given(call=huge())
def test_values_beyond_int64_are_refused(call: Call) -> None:
    """Dims, element counts and parameters StableHLO's i64 shapes and attributes cannot hold."""
    check_refused(call)


def test_huge_boundary_examples() -> None:
    """The exact int64 boundaries: 2**63 elements, a 2**63 dim, a 2**63 stride."""
    for lhs_shape, rhs_shape, names in [
        ((2**31, 2**32, 1), (1, 2**32, 1), ("lhs",)),
        ((2**63, 1, 1), (1, 1, 1), ("lhs",)),
        ((1, 1, 1), (2**63, 1, 1), ("rhs",)),
    ]:
        call = Call(
            Operand(lhs_shape, "float32"),
            Operand(rhs_shape, "float32"),
            {"window_strides": (1,), "padding": "VALID", "filter_shape": (1,)},
            names,
            f"{lhs_shape} * {rhs_shape}",
        )
        check_refused(call)
    check_refused(
        Call(
            Operand((1, 1, 4), "float32"),
            Operand((1, 1, 1), "float32"),
            {"window_strides": (2**63,), "padding": "VALID", "filter_shape": (1,)},
            ("window_strides",),
            "window_strides=(2**63,)",
        )
    )


# --- 4. wrong ranks -----------------------------------------------------------------------


@st.composite
def wrong_ranks(draw) -> Call:
    case = draw(BASE)
    n = len(case.lhs_shape) - 2
    kind = draw(st.sampled_from(["lhs_rank", "rhs_rank", "parameter", "spec_length", "too_many_spatial"]))
    if kind == "lhs_rank":
        rank = draw(st.integers(0, 1))
        shape = tuple(draw(st.lists(st.integers(0, 4), min_size=rank, max_size=rank)))
        rhs = tuple(draw(st.lists(st.integers(0, 4), min_size=rank, max_size=rank)))
        return Call(
            Operand(shape, case.lhs_dtype),
            Operand(rhs, case.rhs_dtype),
            {"window_strides": (), "padding": "VALID", "filter_shape": ()},
            ("lhs",),
            f"lhs shape {shape}",
        )
    if kind == "rhs_rank":
        shape = list(case.rhs_shape)
        if draw(st.booleans()):
            del shape[draw(st.integers(0, len(shape) - 1))]
        else:
            shape[draw(st.integers(0, len(shape))) : 0] = [1] * draw(st.integers(1, 2))
        return call_from_case(
            case, f"rhs shape {tuple(shape)}", ("rhs",), rhs=Operand(tuple(shape), case.rhs_dtype)
        )
    if kind == "parameter":
        target = draw(st.sampled_from([*INT_SEQUENCE_PARAMS, "padding"]))
        values: list[Any] = explicit_pairs(case) if target == "padding" else spatial_values(case, target)
        if draw(st.booleans()) or not values:
            values = values + [(0, 0) if target == "padding" else 1] * draw(st.integers(1, 3))
        else:
            values = values[: draw(st.integers(0, len(values) - 1))]
        return call_from_case(case, f"{target}={values}", (target,), **{target: tuple(values)})
    if kind == "spec_length":
        specs = list(layout_specs(case))
        k = draw(st.integers(0, 2))
        if draw(st.booleans()):
            specs[k] = specs[k] + draw(st.sampled_from("XYZ"))
        else:
            j = draw(st.integers(0, n + 1))
            specs[k] = specs[k][:j] + specs[k][j + 1 :]
        perms = [list(p) for p in (case.layout.lhs, case.layout.rhs, case.layout.out)]
        perms[k] = perms[k][:-1] if draw(st.booleans()) else [*perms[k], n + 2]
        value = draw(st.sampled_from([tuple(specs), lax.ConvDimensionNumbers(*map(tuple, perms))]))
        return call_from_case(
            case, f"dimension_numbers={value}", ("dimension_numbers",), dimension_numbers=value
        )
    # More spatial dimensions than localconv supports: a consistent, all-ones convolution.
    count = draw(st.integers(23, 40))
    ones = (1,) * count
    return Call(
        Operand((1, 1, *ones), "float32"),
        Operand((1, 1, *ones), "float32"),
        {"window_strides": ones, "padding": "VALID", "filter_shape": ones},
        ("lhs", "rhs"),
        f"{count} spatial dimensions",
    )


@fuzz_settings("ranks")
@given(call=wrong_ranks())
def test_wrong_ranks_are_refused(call: Call) -> None:
    """Operand ranks, parameter counts and spec lengths that disagree; too many spatial dims."""
    check_refused(call)


@pytest.mark.parametrize("target", ["lhs", "rhs", *INT_SEQUENCE_PARAMS])
def test_astronomically_long_sequences_are_refused_quickly(target: str) -> None:
    """A sequence of length 2**62 where a few entries go is refused without walking it.

    Run in a subprocess with a SIGALRM timer, so a validation that iterates the sequence dies
    after TIME_LIMIT_S instead of hanging the test run or filling memory.
    """
    script = textwrap.dedent(
        f"""
        import signal, sys
        import jax, localconv
        long = range(2**62)
        args = dict(lhs=jax.ShapeDtypeStruct((1, 1, 4), "float32"),
                    rhs=jax.ShapeDtypeStruct((1, 1, 4), "float32"),
                    window_strides=(1,), padding=((0, 0),), filter_shape=(1,))
        if {target!r} in ("lhs", "rhs"):
            class Long:
                shape, dtype = long, "float32"
            args[{target!r}] = Long()
        else:
            args[{target!r}] = long
        signal.setitimer(signal.ITIMER_REAL, {TIME_LIMIT_S})
        try:
            localconv.lower(**args, pipeline=None)
        except (TypeError, ValueError) as err:
            print(type(err).__name__, str(err)[:300])
            sys.exit(0)
        sys.exit(3)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode != -signal.SIGALRM, (
        f"{target}=range(2**62) still being validated after {TIME_LIMIT_S} s"
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stdout}{result.stderr[-2000:]}"
    assert re.search(name_pattern(target), result.stdout), result.stdout


# --- 5. inconsistent dimension numbers -----------------------------------------------------


@st.composite
def inconsistent_dimension_numbers(draw) -> Call:
    case = draw(BASE)
    ndim = len(case.lhs_shape)
    if draw(st.booleans()):
        specs = list(layout_specs(case))
        k = draw(st.integers(0, 2))
        j = draw(st.integers(0, ndim - 1))
        spec = specs[k]
        used = set("".join(specs))
        kind = draw(st.sampled_from(["duplicate", "foreign", "role", "lowercase"]))
        if kind == "duplicate":
            char = draw(st.sampled_from(sorted(set(spec) - {spec[j]})))
        elif kind == "foreign":
            char = draw(st.sampled_from(sorted(set("XYZABEFG0123_-* ") - used)))
        elif kind == "role":
            char = draw(st.sampled_from("OI" if k != 1 else "NC"))
        else:
            char = spec[j].lower()
        specs[k] = spec[:j] + char + spec[j + 1 :]
        value: Any = tuple(specs)
    else:
        perms = [list(p) for p in (case.layout.lhs, case.layout.rhs, case.layout.out)]
        k = draw(st.integers(0, 2))
        j = draw(st.integers(0, ndim - 1))
        kind = draw(st.sampled_from(["repeat", "out_of_range", "rhs_spatial_order"]))
        if kind == "rhs_spatial_order" and ndim >= 4:
            perms[1][2:] = sorted(perms[1][2:], reverse=True)
        elif kind == "repeat":
            perms[k][j] = perms[k][(j + 1) % ndim]
        else:
            perms[k][j] = draw(st.sampled_from([-1, ndim, ndim + 5, 2**63]))
        value = lax.ConvDimensionNumbers(*map(tuple, perms))
    return call_from_case(case, f"dimension_numbers={value}", ("dimension_numbers",), dimension_numbers=value)


@fuzz_settings("dimension_numbers")
@given(call=inconsistent_dimension_numbers())
def test_inconsistent_dimension_numbers_are_refused(call: Call) -> None:
    """Spec strings and ConvDimensionNumbers that are not the permutations they must be."""
    check_refused(call)


# --- 6. rhs off by one --------------------------------------------------------------------

# Mostly small, so that most draws keep every element count below 2**63.
NEAR_2_31 = st.sampled_from([1, 2, 3, 1, 2, 3, 2**31 - 1, 2**31, 2**31 + 1, 2**32])


@st.composite
def big_cases(draw) -> strategies.Case:
    """Valid cases with some extents near 2**31 (representable, never allocated)."""
    n = draw(st.integers(1, 2))
    dimension_numbers = draw(strategies.dimension_numbers(n))
    layout = strategies.Layout.of(dimension_numbers, n + 2)
    lhs = strategies.place(tuple(draw(NEAR_2_31) for _ in range(n + 2)), layout.lhs)
    case = strategies.make_case(
        lhs,
        draw(NEAR_2_31),
        tuple(draw(st.sampled_from([1, 2, 2**31])) for _ in range(n)),
        draw(st.sampled_from(["SAME", "VALID"])),
        tuple(draw(st.integers(1, 3)) for _ in range(n)),
        dimension_numbers=dimension_numbers,
    )
    assume(all(math.prod(s) <= INT64_MAX for s in (case.lhs_shape, case.rhs_shape, case.out_shape)))
    return case


@st.composite
def rhs_off_by_one(draw) -> Call:
    case = draw(st.one_of(ANY_BASE, big_cases()))
    n = len(case.lhs_shape) - 2
    delta = draw(st.sampled_from([-1, 1]))
    if draw(st.integers(0, 4)) == 0:
        lhs = list(case.lhs_shape)
        lhs[case.layout.lhs[1]] += delta
        assume(lhs[case.layout.lhs[1]] >= 0)
        return call_from_case(
            case, f"lhs C {delta:+}", ("lhs", "rhs"), lhs=Operand(tuple(lhs), case.lhs_dtype)
        )
    logical = draw(st.integers(1, n + 1))  # I or a spatial dim, never O
    shape = list(case.rhs_shape)
    shape[case.layout.rhs[logical]] += delta
    return call_from_case(
        case, f"rhs shape {tuple(shape)}", ("rhs",), rhs=Operand(tuple(shape), case.rhs_dtype)
    )


@fuzz_settings("rhs_off_by_one")
@given(call=rhs_off_by_one())
def test_rhs_off_by_one_is_refused(call: Call) -> None:
    """rhs one off in I or a spatial dim (or lhs one off in C), also at extents near 2**31."""
    check_refused(call)


# --- 7. unsupported dtypes ----------------------------------------------------------------

BAD_DTYPES = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint32,
    np.uint64,
    np.bool_,
    object,
    "U3",
    "S3",
    "V4",
    np.dtype([("a", "f4"), ("b", "i4")]),
    "M8[s]",
    "m8[s]",
    jnp.float8_e4m3fn,
    jnp.float8_e5m2,
    jnp.int4,
    "int8",
    "float33",
    "not a dtype",
    3,
    2.5,
    [np.float32],
    {"dtype": "float32"},
] + ([np.longdouble, np.clongdouble] if np.dtype(np.longdouble).itemsize > 8 else [])


@st.composite
def unsupported_dtypes(draw) -> Call:
    case = draw(ANY_BASE)
    which = draw(st.sampled_from(["lhs", "rhs"]))
    dtype = draw(st.sampled_from(BAD_DTYPES))
    shape = case.lhs_shape if which == "lhs" else case.rhs_shape
    return call_from_case(case, f"{which} dtype {dtype!r}", (which,), **{which: Operand(shape, dtype)})


@fuzz_settings("dtypes")
@given(call=unsupported_dtypes())
def test_unsupported_dtypes_are_refused(call: Call) -> None:
    """Integer, bool, object, string, void, datetime and 8-bit float dtypes, and non-dtypes."""
    check_refused(call)


# --- 8. non-array operands ----------------------------------------------------------------

NON_ARRAYS = st.one_of(
    st.sampled_from(
        [
            None,
            "abc",
            b"abc",
            {"a": 1},
            {1, 2},
            object(),
            print,
            Ellipsis,
            slice(1),
            [[1.0], [1.0, 2.0]],
            [[[1.0, 2.0]], [[1.0]]],
            [None, 1.0],
            ["a", "b"],
            [1.0, "a"],
            [[1.0], "x"],
            ({"a": 1},),
            np.float32(1.5),
            np.complex64(1j),
            True,
            range(3),
        ]
    ),
    st.text(max_size=8),
)


@st.composite
def non_arrays(draw) -> Call:
    case = draw(ANY_BASE)
    which = draw(st.sampled_from(["lhs", "rhs"]))
    value = draw(NON_ARRAYS)
    return call_from_case(case, f"{which}={value!r}", (which,), **{which: Raw(value)})


@fuzz_settings("non_arrays")
@given(call=non_arrays())
def test_non_array_operands_are_refused(call: Call) -> None:
    """Operands that are not arrays: None, text, mappings, sets, ragged or mixed lists, scalars."""
    check_refused(call)


# --- the tripwires work -------------------------------------------------------------------


@settings(max_examples=strategies.examples(30))
@given(case=st.one_of(ANY_BASE, big_cases()))
def test_valid_input_trips_the_wire(case: strategies.Case) -> None:
    """Valid input passes validation and reaches IR, so the tests above would see late checks."""
    call = call_from_case(case, "valid", ())
    spec = via_from_arguments(call)()
    assert spec.out_shape == case.out_shape
    with pytest.raises(IRBuilt):
        via_lower(call)()
    conv = via_conv(call)
    if conv is not None:
        with pytest.raises(IRBuilt):
            conv()
