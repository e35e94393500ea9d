"""Parity of localconv with `jax.jit(jax.lax.conv_general_dilated_local)` on one `Case`.

Imported by test_parity.py, and run as a script for the cases that need their own process:

    python tests/parity_check.py --dtypes x64 --examples 12      (with JAX_ENABLE_X64=1)
    python tests/parity_check.py --dtypes complex --examples 20

The script runs a hypothesis sweep (fixed seed) over those dtypes, through the default and O0
pipelines and the forced `multiply_reduce` strategy, and exits non-zero, printing
the falsifying example, on the first mismatch. Complex cases run here rather than in the pytest
process because a crash in MLIR's Python bindings aborts the whole process.
"""

from __future__ import annotations

import argparse
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import strategies
from jax import lax
from strategies import Case

import localconv
from localconv.lowering.pipelines import default_pipeline

# The GPU's fused reduce, forced: the CPU pipelines never pick it, so it is checked here too.
MULTIPLY_REDUCE = default_pipeline(strategy="multiply_reduce")


def jax_result(case: Case, lhs: jax.Array, rhs: jax.Array) -> jax.Array:
    """The expected value: JAX's own unshared convolution, jitted."""
    return jax.jit(lambda x, w: lax.conv_general_dilated_local(x, w, *case.params))(lhs, rhs)


def tolerances(case: Case) -> tuple[float, float]:
    """(rtol, atol) for a sum of C * prod(filter_shape) products of O(1) numbers.

    The epsilon is that of the narrower operand dtype: JAX computes some mixed contractions at
    that precision (complex64 x complex128 gives complex128 with complex64 rounding).
    """
    eps = max(float(jnp.finfo(dtype).eps) for dtype in (case.lhs_dtype, case.rhs_dtype))
    return 4 * eps, 4 * eps * max(case.contraction_length, 1)


def assert_same_result(actual: jax.Array, expected: jax.Array, case: Case, what: str) -> None:
    """Same dtype and shape exactly, values within the dtype's tolerance."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != JAX's {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != JAX's {expected.shape}"
    rtol, atol = tolerances(case)
    wide = np.complex128 if jnp.issubdtype(expected.dtype, jnp.complexfloating) else np.float64
    np.testing.assert_allclose(
        np.asarray(actual).astype(wide),
        np.asarray(expected).astype(wide),
        rtol=rtol,
        atol=atol,
        err_msg=f"{what} differs from jax.lax.conv_general_dilated_local for {case}",
    )


def check_parity(case: Case, seed: int, paths: tuple[str, ...] = ("default", "O0")) -> None:
    """localconv agrees with JAX on random data through each of `paths`.

    "default" is the public `conv_general_dilated_local` (default pipeline); "O0" is
    `lower(..., pipeline="O0").compile()`.
    """
    lhs, rhs = case.operands(seed)
    expected = jax_result(case, lhs, rhs)
    assert expected.shape == case.out_shape, "the strategy's shape rule disagrees with JAX"
    for path in paths:
        if path == "default":
            actual = localconv.conv_general_dilated_local(lhs, rhs, *case.params)
        else:
            actual = localconv.lower(lhs, rhs, *case.params, pipeline=path).compile()(lhs, rhs)
        assert_same_result(actual, expected, case, f"pipeline {path}")


SUBPROCESS_DTYPES = {
    "x64": strategies.dtype_pairs(strategies.X64_DTYPES, strategies.MIXED_X64),
    "complex": strategies.dtype_pairs(strategies.COMPLEX_DTYPES, strategies.MIXED_COMPLEX),
}


def main(argv: list[str]) -> int:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", choices=sorted(SUBPROCESS_DTYPES), required=True)
    parser.add_argument("--examples", type=int, default=12)
    args = parser.parse_args(argv)
    if args.dtypes == "x64" and not jax.config.jax_enable_x64:
        print("--dtypes x64 needs JAX_ENABLE_X64=1", file=sys.stderr)
        return 2

    batches = st.one_of(strategies.rarely_zero(3), strategies.VECTOR_BATCHES)

    @settings(max_examples=args.examples, derandomize=True, deadline=None, database=None, print_blob=True)
    @given(
        strategies.cases(dtypes=SUBPROCESS_DTYPES[args.dtypes], batches=batches), st.integers(0, 2**32 - 1)
    )
    def sweep(case: Case, seed: int) -> None:
        print(case, file=sys.stderr, flush=True)  # the last case shown if the process aborts
        check_parity(case, seed, paths=("default", "O0", MULTIPLY_REDUCE))
        checked.append(math.prod(case.out_shape))

    checked: list[int] = []
    sweep()
    print(f"{len(checked)} cases agree with JAX ({sum(1 for c in checked if c)} non-empty)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
