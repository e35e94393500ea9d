"""The `localconv.conv_general_dilated_local` composite, localconv's public IR contract.

`lower(..., pipeline=None)` emits it; `spec_from_composite` reads it back, from the emitted op
and from its text, and refuses malformed ones with a CompositeError naming the attribute.
"""

from __future__ import annotations

import re

import jax
import pytest
import strategies
from hypothesis import given, settings
from jaxlib.mlir import ir
from localconv_cases import ALL_DTYPES, spec_of

import localconv
from localconv import ConvSpec, irbuild
from localconv.lowering.pass_base import ops_where

NAME = "localconv.conv_general_dilated_local"
LHS = jax.ShapeDtypeStruct((2, 3, 5, 6), "float32")
RHS = jax.ShapeDtypeStruct((4, 27, 3, 4), "float32")


def lower_base(pipeline: str | None = None) -> localconv.Lowered:
    return localconv.lower(LHS, RHS, (1, 1), "VALID", (3, 3), pipeline=pipeline)


def walk(op: ir.Operation) -> list[ir.Operation]:
    """`op` and every operation nested in it."""
    return ops_where(op, lambda _: True)


def functions(module: ir.Module) -> dict[str, ir.Operation]:
    return {
        ir.StringAttr(op.attributes["sym_name"]).value: op
        for op in walk(module.operation)
        if op.name == "func.func"
    }


def composites(op: ir.Operation) -> list[ir.Operation]:
    return [o for o in walk(op) if o.name == "stablehlo.composite"]


def main_composite(module: ir.Module) -> ir.Operation:
    (op,) = composites(functions(module)["main"])
    return op


def parse(text: str) -> ir.Module:
    return ir.Module.parse(text, context=irbuild.make_context())


def decode(module: ir.Module) -> ConvSpec:
    """`spec_from_composite` of main's composite, under an active context and location."""
    with module.context, ir.Location.unknown():
        return localconv.spec_from_composite(main_composite(module))


def test_lower_without_pipeline_keeps_the_composite() -> None:
    module = lower_base().module
    funcs = functions(module)
    main = funcs["main"]
    op = main_composite(module)
    assert ir.StringAttr(op.attributes["name"]).value == NAME
    assert ir.IntegerAttr(op.attributes["version"]).value == 1
    entry = main.regions[0].blocks[0]
    assert list(op.operands) == list(entry.arguments)
    assert ir.FunctionType(ir.TypeAttr(main.attributes["function_type"]).value).results == [
        op.results[0].type
    ]
    decomposition = ir.FlatSymbolRefAttr(op.attributes["decomposition"]).value
    assert decomposition in funcs and decomposition != "main"
    assert not composites(lower_base("default").module.operation)


def test_spec_from_composite_needs_no_active_context() -> None:
    """A caller holding an op (e.g. walking a module) need not enter its context first."""
    lowered = lower_base()
    assert localconv.spec_from_composite(main_composite(lowered.module)) == lowered.spec


def check_round_trip(spec: ConvSpec) -> None:
    lowered = localconv.lower_spec(spec, pipeline=None)
    for module in (lowered.module, parse(lowered.as_text())):
        decoded = decode(module)
        assert decoded == spec
        assert decoded.out_shape == spec.out_shape


@settings(max_examples=strategies.examples(60))
@given(case=strategies.cases(dtypes=ALL_DTYPES, min_in_features=0))
def test_spec_from_composite_rebuilds_the_spec(case: strategies.Case) -> None:
    check_round_trip(spec_of(case))


@settings(max_examples=strategies.examples(20))
@given(case=strategies.cases(dtypes=strategies.dtype_pairs(strategies.X64_DTYPES, strategies.MIXED_X64)))
def test_spec_from_composite_rebuilds_x64_specs(case: strategies.Case) -> None:
    with jax.enable_x64(True):
        check_round_trip(spec_of(case))


def stub_decomposition(text: str) -> str:
    """`text` with the decomposition body replaced by a zero constant of the result type.

    The composite's operand and result types can then be edited everywhere at once and the
    module still verifies, so only `spec_from_composite` sees the inconsistency.
    """
    head, marker, _ = text.partition(f"  func.func private @{NAME}.impl")
    assert marker, "the module has no decomposition function"
    signature = re.search(r"func\.func @main\((.*)\) -> (tensor<[^>]*>)", head)
    assert signature is not None
    arguments, out = signature.groups()
    return (
        f"{head}  func.func private @{NAME}.impl({arguments}) -> {out} {{\n"
        f"    %0 = stablehlo.constant dense<0.0> : {out}\n"
        f"    return %0 : {out}\n  }}\n}}\n"
    )


BASE_TEXT = stub_decomposition(lower_base().as_text())
OUT_TYPE = "tensor<2x4x3x4xf32>"
LHS_TYPE = "tensor<2x3x5x6xf32>"
RHS_TYPE = "tensor<4x27x3x4xf32>"
STRIDES = "window_strides = array<i64: 1, 1>"
FILTER = "filter_shape = array<i64: 3, 3>"
PADDING = "padding = dense<0> : tensor<2x2xi64>"
DIMS = '["NCHW", "OIHW", "NCHW"]'
PRECISION = '["DEFAULT", "DEFAULT"]'

# (id, text to replace, replacement, regex the CompositeError message must match)
# fmt: off
MALFORMED = [
    ("missing_precision", f"precision = {PRECISION}, ", "", r"missing \['precision'\]"),
    ("missing_window_strides", f", {STRIDES}", "", r"missing \['window_strides'\]"),
    ("extra_attribute", "{dimension_numbers", "{feature_group_count = 1 : i64, dimension_numbers",
     r"unexpected \['feature_group_count'\]"),
    ("padding_as_i64_array", PADDING, "padding = array<i64: 0, 0, 0, 0>",
     r"padding must be tensor<n x 2 x i64>, got array<i64: 0, 0, 0, 0>"),
    ("padding_flat", PADDING, "padding = dense<0> : tensor<4xi64>", r"padding must be tensor<n x 2"),
    ("padding_i32", PADDING, "padding = dense<0> : tensor<2x2xi32>", r"padding must be tensor<n x 2"),
    ("window_strides_as_i32_tensor", STRIDES, "window_strides = dense<1> : tensor<2xi32>",
     r"window_strides must be array<i64"),
    ("window_strides_as_2d_tensor", STRIDES, "window_strides = dense<1> : tensor<1x2xi64>",
     r"window_strides must be array<i64"),
    ("filter_shape_as_i32_array", FILTER, "filter_shape = array<i32: 3, 3>",
     r"filter_shape must be array<i64"),
    ("window_strides_zero", STRIDES, "window_strides = array<i64: 0, 1>", r"window_strides.*\(0, 1\)"),
    ("filter_shape_too_long", FILTER, "filter_shape = array<i64: 3, 3, 1>", r"filter_shape.*\(3, 3, 1\)"),
    ("dimension_numbers_two_strings", DIMS, '["NCHW", "OIHW"]',
     r"dimension_numbers must be an array of 3 strings"),
    ("dimension_numbers_as_string", DIMS, '"NCHW,OIHW,NCHW"',
     r"dimension_numbers must be an array of 3 strings"),
    ("dimension_numbers_spatial_mismatch", DIMS, '["NCHW", "OIHW", "NCHX"]', r"dimension_numbers.*NCHX"),
    ("precision_unknown_name", PRECISION, '["DEFAULT", "FASTEST"]', r"precision.*FASTEST"),
    ("precision_one_name", PRECISION, '["DEFAULT"]', r"precision must be an array of 2 strings"),
    ("precision_as_enum_attributes", PRECISION,
     "[#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]",
     r"precision must be an array of 2 strings"),
    ("version_2", "version = 1 : i32", "version = 2 : i32", r"version must be 1, got 2"),
    ("wrong_result_shape", OUT_TYPE, "tensor<2x4x3x5xf32>",
     rf"result type must be {OUT_TYPE}, got tensor<2x4x3x5xf32>"),
    ("wrong_result_dtype", OUT_TYPE, "tensor<2x4x3x4xf64>",
     rf"result type must be {OUT_TYPE}, got tensor<2x4x3x4xf64>"),
    ("inconsistent_rhs_shape", RHS_TYPE, "tensor<4x26x3x4xf32>",
     r"rhs must have shape \(4, 27, 3, 4\).*got \(4, 26, 3, 4\)"),
    ("integer_lhs", LHS_TYPE, "tensor<2x3x5x6xi32>", r"lhs dtype.*int32"),
]
# fmt: on


def test_stubbed_module_still_decodes() -> None:
    """The unedited base of the malformed cases is valid, so each failure is its edit's."""
    assert decode(parse(BASE_TEXT)) == lower_base().spec


@pytest.mark.parametrize("old, new, match", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_composite_raises_composite_error(old: str, new: str, match: str) -> None:
    assert old in BASE_TEXT
    module = parse(BASE_TEXT.replace(old, new))
    with pytest.raises(localconv.CompositeError, match=match) as info:
        decode(module)
    assert isinstance(info.value, ValueError)
