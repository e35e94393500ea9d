"""The constant evaluator behind `localconv-recognize-jax-patches` evaluates only what NumPy matches.

A compare whose `compare_type` NumPy does not share (TOTALORDER orders -0.0 below +0.0; an
UNSIGNED compare of signed integers) must give None, or a pass could "prove" a kernel that is
not the identity.
"""

from __future__ import annotations

import numpy as np
import pytest
from jaxlib.mlir import ir

from localconv import irbuild
from localconv.lowering.constant_eval import evaluate


def compared(lhs: str, rhs: str, element: str, compare_type: str | None) -> np.ndarray | None:
    """`evaluate` of `compare EQ` (or LT for integers) of two scalar constants."""
    direction = "EQ" if element.startswith("f") else "LT"
    suffix = f", {compare_type}" if compare_type else ""
    types = f"(tensor<{element}>, tensor<{element}>) -> tensor<i1>"
    text = f"""
    func.func @main() -> tensor<i1> {{
      %a = stablehlo.constant dense<{lhs}> : tensor<{element}>
      %b = stablehlo.constant dense<{rhs}> : tensor<{element}>
      %c = stablehlo.compare {direction}, %a, %b{suffix} : {types}
      return %c : tensor<i1>
    }}
    """
    with irbuild.make_context():
        module = ir.Module.parse(text)
        func = module.body.operations[0]
        compare = list(func.regions[0].blocks[0].operations)[2]
        return evaluate(compare.results[0])


@pytest.mark.parametrize(
    ("lhs", "rhs", "element", "compare_type", "expected"),
    [
        ("-0.0", "0.0", "f32", None, True),
        ("-0.0", "0.0", "f32", "FLOAT", True),
        ("-0.0", "0.0", "f32", "TOTALORDER", None),
        ("-1", "1", "i32", None, True),
        ("-1", "1", "i32", "SIGNED", True),
        ("-1", "1", "i32", "UNSIGNED", None),
    ],
)
def test_compares_are_evaluated_only_as_numpy_compares(lhs, rhs, element, compare_type, expected) -> None:
    result = compared(lhs, rhs, element, compare_type)
    assert (result if result is None else bool(result)) == expected
