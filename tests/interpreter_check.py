"""Runs localconv modules in the StableHLO reference interpreter and compares them with JAX.

    python tests/interpreter_check.py stablehlo|composite|default-pipeline

Builds `localconv.emitter.build_module(spec, form)` (or, for "default-pipeline", the module
`localconv.lower` returns after the default pipeline) for a few tiny float32 cases, evaluates
`@main` with `stablehlo.eval_module` (which runs a composite through its decomposition) and
exits non-zero on the first mismatch. It is a script because the interpreter aborts the whole
process on ops it does not support; test_interpreter.py runs it in a subprocess.
"""

from __future__ import annotations

import sys

import numpy as np
from jax import lax
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo
from parity_check import jax_result
from strategies import Case, make_case

import localconv
from localconv import emitter

FORMS = (*emitter.FORMS, "default-pipeline")
CASES = {
    "no-spatial": make_case((3, 4), 2, (), "VALID", ()),
    "1d-dilated-cropped": make_case(
        (2, 3, 5), 2, (2,), [(2, -1)], (2,), lhs_dilation=(2,), rhs_dilation=(2,)
    ),
    "empty-output": make_case((0, 2, 2), 2, (1,), "VALID", (3,)),
    "2d-same-strided": make_case((2, 2, 5, 4), 3, (2, 1), "SAME", (3, 2)),
    "2d-spec-strings": make_case(
        (4, 2, 3, 5), 2, (1, 2), "SAME_LOWER", (2, 3), dimension_numbers=("WNHC", "HIOW", "CWNH")
    ),
    "3d-conv-dimension-numbers": make_case(
        (3, 2, 1, 3, 4),
        2,
        (1, 1, 2),
        [(1, 0), (0, 1), (-1, 1)],
        (2, 2, 2),
        dimension_numbers=lax.ConvDimensionNumbers((1, 0, 4, 2, 3), (4, 3, 0, 1, 2), (2, 0, 1, 3, 4)),
    ),
}


def run_case(case: Case, form: str) -> None:
    """Interpreter result of `case` in `form` equals JAX's; AssertionError otherwise."""
    spec = localconv.ConvSpec.from_arguments(
        case.lhs_shape, case.lhs_dtype, case.rhs_shape, case.rhs_dtype, *case.params
    )
    if form == "default-pipeline":
        module = localconv.lower_spec(spec, pipeline="default").module
    else:
        module = emitter.build_module(spec, form)
    lhs, rhs = (np.asarray(x) for x in case.operands(seed=1))
    with module.context:
        (result,) = stablehlo.eval_module(
            module, [ir.DenseElementsAttr.get(lhs), ir.DenseElementsAttr.get(rhs)]
        )
    actual = np.array(result)
    expected = np.asarray(jax_result(case, lhs, rhs))
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * case.contraction_length)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in FORMS:
        print(f"usage: interpreter_check.py {'|'.join(FORMS)}", file=sys.stderr)
        return 2
    for name, case in CASES.items():
        print(f"{argv[0]}: {name}", flush=True)  # the last case shown if the interpreter aborts
        run_case(case, argv[0])
    print(f"{len(CASES)} cases agree with JAX")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
