"""Every invalid argument of `conv_general_dilated_local` is refused up front.

One table holds one case per class of invalid input. For each case localconv must raise the
listed exception type with a message that names the parameter (and, where it helps, the
offending value), through both public entry points, before any IR is built. The error type is
also checked against JAX: where JAX raises a TypeError or ValueError, localconv raises the same
type; where JAX fails in a less fitting way (RuntimeError, IndexError, ZeroDivisionError, an
MLIR verifier error) localconv raises a ValueError. Cases marked `stricter` are the documented
deviations where JAX accepts the input and localconv raises TypeError.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import localconv
from localconv import emitter, irbuild, primitive, runner
from localconv.params import SUPPORTED_DTYPES

# NCHW input, 3x3 window, stride 1, VALID: 3x4 output positions, I = 3 * 3 * 3 = 27, O = 4.
LHS_SHAPE = (2, 3, 5, 6)
RHS_SHAPE = (4, 27, 3, 4)
BASE_KWARGS = {"window_strides": (1, 1), "padding": "VALID", "filter_shape": (3, 3)}


def f32(shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, np.float32)


@dataclasses.dataclass(frozen=True)
class Case:
    """One invalid call: `lhs`/`rhs` default to the valid NCHW operands above."""

    id: str
    error: type[Exception]
    match: str
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    lhs: Any = None
    rhs: Any = None
    stricter: bool = False

    def arguments(self) -> tuple[Any, Any, dict[str, Any]]:
        lhs = f32(LHS_SHAPE) if self.lhs is None else self.lhs
        rhs = f32(RHS_SHAPE) if self.rhs is None else self.rhs
        return lhs, rhs, {**BASE_KWARGS, **self.kwargs}


def shape_re(shape: tuple[int, ...]) -> str:
    return re.escape(str(tuple(shape)))


def layout_shape(spec: str, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes[c] for c in spec)


def rhs_mismatch_cases() -> list[Case]:
    """rhs off by one in I and in each spatial dim, for several dimension-number layouts."""
    lhs_sizes = {"N": 2, "C": 3, "H": 5, "W": 6}
    rhs_sizes = {"O": 4, "I": 27, "H": 3, "W": 4}
    cases = []
    for specs in (
        ("NCHW", "OIHW", "NCHW"),
        ("NHWC", "HWIO", "NHWC"),
        ("HCNW", "WIOH", "WNHC"),
    ):
        expected = layout_shape(specs[1], rhs_sizes)
        for dim in "IHW":
            actual = layout_shape(specs[1], {**rhs_sizes, dim: rhs_sizes[dim] + 1})
            cases.append(
                Case(
                    f"rhs_{dim}_off_by_one_{specs[1]}",
                    TypeError,
                    rf"rhs must have shape {shape_re(expected)}.*got {shape_re(actual)}",
                    {"dimension_numbers": specs},
                    lhs=f32(layout_shape(specs[0], lhs_sizes)),
                    rhs=f32(actual),
                )
            )
    return cases


_CDN = lax.ConvDimensionNumbers

# fmt: off
CASES = [
    # Operands: like JAX, arrays and scalars only.
    Case("lhs_nested_list", TypeError, r"lhs must be an array or a scalar, got list",
         lhs=f32(LHS_SHAPE).tolist()),
    Case("rhs_tuple", TypeError, r"rhs must be an array or a scalar, got tuple",
         rhs=tuple(f32(RHS_SHAPE).tolist())),
    # Ranks.
    Case("lhs_rank_1", TypeError, r"lhs.*rank.*\(3,\)",
         {"window_strides": (), "filter_shape": ()}, lhs=f32((3,)), rhs=f32((4, 27))),
    Case("lhs_rank_0", TypeError, r"lhs.*rank.*\(\)",
         {"window_strides": (), "filter_shape": ()}, lhs=f32(()), rhs=f32(())),
    Case("rhs_rank_3", TypeError, r"rhs.*rank.*\(4, 27, 3\)", rhs=f32((4, 27, 3))),
    Case("rhs_rank_5", TypeError, r"rhs.*rank.*\(4, 27, 3, 4, 1\)", rhs=f32((4, 27, 3, 4, 1)),
         stricter=True),
    Case("filter_shape_too_short", TypeError, r"filter_shape.*2 entries.*\(3,\)",
         {"filter_shape": (3,)}),
    Case("filter_shape_too_long", TypeError, r"filter_shape.*2 entries.*\(3, 3, 1\)",
         {"filter_shape": (3, 3, 1)}),
    # rhs shape inconsistent with lhs and the window.
    *rhs_mismatch_cases(),
    # Padding.
    Case("padding_unknown_string", ValueError, r"padding.*'FOO'", {"padding": "FOO"}),
    Case("padding_too_few_pairs", TypeError, r"padding.*\(2\).*got 1",
         {"padding": ((0, 0),)}),
    Case("padding_too_many_pairs", TypeError, r"padding.*\(2\).*got 3",
         {"padding": ((0, 0),) * 3}),
    Case("padding_triples", ValueError, r"padding.*\(0, 0, 0\)",
         {"padding": ((0, 0, 0), (0, 0, 0))}),
    Case("padding_floats", ValueError, r"padding.*0\.0", {"padding": ((0.0, 0.0), (0.0, 0.0))}),
    Case("padding_bare_int", ValueError, r"padding.*got 1$", {"padding": 1}),
    Case("padding_none", ValueError, r"padding.*got None", {"padding": None}),
    Case("padding_bools", TypeError, r"padding.*True",
         {"padding": ((True, False), (0, 0))}, rhs=f32((4, 27, 4, 4)), stricter=True),
    Case("padding_negative_beyond_input", ValueError, r"padding.*\(-6, 0\)",
         {"padding": ((-6, 0), (0, 0))}),
    Case("padding_negative_beyond_dilated_input", ValueError, r"padding.*\(-10, 0\)",
         {"padding": ((-10, 0), (0, 0)), "lhs_dilation": (2, 1)}),
    Case("padding_same_with_lhs_dilation", ValueError, r"padding 'SAME'.*lhs_dilation \(2, 1\)",
         {"padding": "SAME", "lhs_dilation": (2, 1)}),
    Case("padding_valid_with_lhs_dilation", ValueError, r"padding 'VALID'.*lhs_dilation",
         {"lhs_dilation": (2, 1)}),
    # Strides, dilations and the window: signs, counts and element types.
    Case("window_strides_zero", ValueError, r"window_strides.*\(0, 1\)",
         {"window_strides": (0, 1)}),
    Case("window_strides_zero_same", ValueError, r"window_strides.*\(0, 1\)",
         {"window_strides": (0, 1), "padding": "SAME"}),
    Case("window_strides_negative", ValueError, r"window_strides.*\(-1, 1\)",
         {"window_strides": (-1, 1)}),
    Case("lhs_dilation_zero", TypeError, r"lhs_dilation.*\(0, 1\)",
         {"lhs_dilation": (0, 1), "padding": ((0, 0), (0, 0))}),
    Case("rhs_dilation_zero", TypeError, r"rhs_dilation.*\(0, 1\)", {"rhs_dilation": (0, 1)}),
    Case("rhs_dilation_negative", TypeError, r"rhs_dilation.*\(-1, 1\)",
         {"rhs_dilation": (-1, 1)}),
    Case("filter_shape_zero", ValueError, r"filter_shape.*\(0, 3\)", {"filter_shape": (0, 3)}),
    Case("filter_shape_negative", TypeError, r"filter_shape.*\(-1, 3\)",
         {"filter_shape": (-1, 3)}),
    Case("window_strides_too_short", ValueError, r"window_strides.*\(2\).*\(1,\)",
         {"window_strides": (1,)}),
    Case("window_strides_too_long", ValueError, r"window_strides.*\(2\).*\(1, 1, 1\)",
         {"window_strides": (1, 1, 1)}),
    Case("lhs_dilation_too_short", ValueError, r"lhs_dilation.*\(2\).*\(1,\)",
         {"lhs_dilation": (1,), "padding": ((0, 0), (0, 0))}),
    Case("rhs_dilation_too_long", ValueError, r"rhs_dilation.*\(2\).*\(1, 1, 1\)",
         {"rhs_dilation": (1, 1, 1)}),
    Case("window_strides_bare_int", TypeError, r"window_strides.*got 1$",
         {"window_strides": 1}),
    Case("window_strides_float", TypeError, r"window_strides.*1\.0",
         {"window_strides": (1.0, 1)}, stricter=True),
    Case("window_strides_bool", TypeError, r"window_strides.*True",
         {"window_strides": (True, 1)}, stricter=True),
    Case("lhs_dilation_float", TypeError, r"lhs_dilation.*1\.0",
         {"lhs_dilation": (1.0, 1), "padding": ((0, 0), (0, 0))}, stricter=True),
    Case("rhs_dilation_bool", TypeError, r"rhs_dilation.*True",
         {"rhs_dilation": (True, 1)}, stricter=True),
    Case("filter_shape_float", TypeError, r"filter_shape.*3\.0", {"filter_shape": (3.0, 3)}),
    Case("filter_shape_bool", TypeError, r"filter_shape.*True",
         {"filter_shape": (True, 3)}, rhs=f32((4, 9, 5, 4)), stricter=True),
    # Dimension numbers.
    Case("dimension_numbers_spec_too_short", TypeError, r"dimension_numbers\[0\].*'NCH'",
         {"dimension_numbers": ("NCH", "OIHW", "NCHW")}),
    Case("dimension_numbers_two_specs", TypeError, r"dimension_numbers.*3.*got 2",
         {"dimension_numbers": ("NCHW", "OIHW")}),
    Case("dimension_numbers_missing_N", TypeError, r"dimension_numbers\[0\].*'N'.*'XCHW'",
         {"dimension_numbers": ("XCHW", "OIHW", "NCHW")}),
    Case("dimension_numbers_missing_C", TypeError, r"dimension_numbers\[2\].*'C'.*'NXHW'",
         {"dimension_numbers": ("NCHW", "OIHW", "NXHW")}),
    Case("dimension_numbers_missing_O", TypeError, r"dimension_numbers\[1\].*'O'.*'XIHW'",
         {"dimension_numbers": ("NCHW", "XIHW", "NCHW")}),
    Case("dimension_numbers_missing_I", TypeError, r"dimension_numbers\[1\].*'I'.*'OXHW'",
         {"dimension_numbers": ("NCHW", "OXHW", "NCHW")}),
    Case("dimension_numbers_duplicate", TypeError, r"dimension_numbers\[0\].*'NCHH'",
         {"dimension_numbers": ("NCHH", "OIHW", "NCHW")}),
    Case("dimension_numbers_spatial_sets_differ", TypeError, r"dimension_numbers.*'OIHX'",
         {"dimension_numbers": ("NCHW", "OIHX", "NCHW")}),
    Case("dimension_numbers_plain_string", TypeError, r"dimension_numbers.*'NCHW'",
         {"dimension_numbers": "NCHW"}),
    Case("dimension_numbers_not_strings", TypeError, r"dimension_numbers.*\(1, 2, 3\)",
         {"dimension_numbers": (1, 2, 3)}),
    Case("conv_dimension_numbers_lhs_repeats", ValueError, r"dimension_numbers.*\(0, 1, 2, 2\)",
         {"dimension_numbers": _CDN((0, 1, 2, 2), (0, 1, 2, 3), (0, 1, 2, 3))}),
    Case("conv_dimension_numbers_out_repeats", ValueError, r"dimension_numbers.*\(0, 1, 3, 3\)",
         {"dimension_numbers": _CDN((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 3, 3))}),
    Case("conv_dimension_numbers_lhs_too_short", ValueError, r"dimension_numbers.*\(0, 1, 2\)",
         {"dimension_numbers": _CDN((0, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3))}),
    # Precision.
    Case("precision_dot_algorithm_preset", ValueError, r"precision.*BF16_BF16_F32",
         {"precision": lax.DotAlgorithmPreset.BF16_BF16_F32}),
    Case("precision_preset_name", ValueError, r"precision.*'BF16_BF16_F32'",
         {"precision": "BF16_BF16_F32"}),
    Case("precision_uppercase_name", ValueError, r"precision.*'HIGHEST'",
         {"precision": "HIGHEST"}),
    Case("precision_list_pair", ValueError, r"precision.*\[Precision\.HIGHEST",
         {"precision": [lax.Precision.HIGHEST, lax.Precision.HIGHEST]}),
    Case("precision_mixed_pair", ValueError, r"precision.*\(Precision\.HIGHEST, 'highest'\)",
         {"precision": (lax.Precision.HIGHEST, "highest")}),
    Case("precision_int", ValueError, r"precision.*got 1$", {"precision": 1}),
    # Dtypes and non-array operands.
    Case("dtype_int32", TypeError, r"lhs dtype.*int32",
         lhs=np.ones(LHS_SHAPE, np.int32), rhs=np.ones(RHS_SHAPE, np.int32), stricter=True),
    Case("dtype_int64", TypeError, r"lhs dtype.*int64", lhs=np.ones(LHS_SHAPE, np.int64),
         stricter=True),
    Case("dtype_rhs_int32", TypeError, r"rhs dtype.*int32", rhs=np.ones(RHS_SHAPE, np.int32),
         stricter=True),
    Case("dtype_bool", TypeError, r"lhs dtype.*bool",
         lhs=np.ones(LHS_SHAPE, np.bool_), rhs=np.ones(RHS_SHAPE, np.bool_), stricter=True),
    Case("dtype_float8", TypeError, r"lhs.*float8_e4m3fn",
         lhs=np.ones(LHS_SHAPE, jnp.float8_e4m3fn), stricter=True),
    Case("dtype_object", TypeError, r"lhs.*object", lhs=np.ones(LHS_SHAPE, object)),
    Case("dtype_string", TypeError, r"lhs.*(<U1|str)", lhs=np.full(LHS_SHAPE, "a")),
    Case("lhs_dict", TypeError, r"lhs.*dict", lhs={"a": 1}),
    Case("rhs_dict", TypeError, r"rhs.*dict", rhs={"a": 1}),
]
# fmt: on


class IRBuilt(Exception):
    """Raised by the tripwires: something past validation was reached."""


@pytest.fixture
def no_ir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes building a context, a module or an executable raise IRBuilt."""

    def tripwire(*args: Any, **kwargs: Any) -> None:
        raise IRBuilt("IR construction was reached")

    monkeypatch.setattr(irbuild, "make_context", tripwire)
    monkeypatch.setattr(emitter, "build_module", tripwire)
    monkeypatch.setattr(runner, "compile_module", tripwire)
    # Binding the primitive is the step after validation (JAX may have the IR cached).
    monkeypatch.setattr(primitive, "bind_conv", tripwire)


def call_localconv(lhs: Any, rhs: Any, **kwargs: Any) -> Any:
    return localconv.conv_general_dilated_local(lhs, rhs, **kwargs)


def lower_localconv(lhs: Any, rhs: Any, **kwargs: Any) -> Any:
    return localconv.lower(lhs, rhs, **kwargs, pipeline=None)


ENTRY_POINTS = [
    pytest.param(call_localconv, id="conv_general_dilated_local"),
    pytest.param(lower_localconv, id="lower"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_input_raises_before_ir(case: Case, entry: Any, no_ir: None) -> None:
    lhs, rhs, kwargs = case.arguments()
    with pytest.raises(case.error, match=case.match):
        entry(lhs, rhs, **kwargs)


def contract_error_type(error: Exception) -> type[Exception]:
    """The type localconv must raise where JAX raised `error`."""
    if isinstance(error, TypeError):
        return TypeError
    if isinstance(error, (ValueError, RuntimeError, IndexError, ZeroDivisionError)):
        return ValueError
    raise AssertionError(f"JAX raised an unclassified {type(error).__name__}: {error}")


@pytest.mark.xla
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # JAX's, for zero strides
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_error_type_follows_jax(case: Case) -> None:
    lhs, rhs, kwargs = case.arguments()
    if case.stricter:
        # A documented deviation: JAX accepts the input, localconv refuses it with TypeError.
        jax.eval_shape(functools.partial(lax.conv_general_dilated_local, **kwargs), lhs, rhs)
        assert case.error is TypeError
        return
    try:
        lax.conv_general_dilated_local(lhs, rhs, **kwargs)
    except Exception as error:  # any JAX failure; classified below
        assert contract_error_type(error) is case.error, f"JAX raised {error!r}"
    else:
        pytest.fail("JAX accepts this input: mark the case stricter or fix it")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES)
def test_valid_input_reaches_ir(dtype: str, entry: Any, no_ir: None) -> None:
    """The tripwires fire on valid input, so the tests above would notice late validation."""
    lhs = np.ones(LHS_SHAPE, jnp.dtype(dtype))
    rhs = np.ones(RHS_SHAPE, jnp.dtype(dtype))
    with pytest.raises(IRBuilt):
        entry(lhs, rhs, **BASE_KWARGS)
