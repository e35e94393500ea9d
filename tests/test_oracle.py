"""localconv agrees with oracle.py, a NumPy reference written from the definition.

The oracle itself is checked by hand on two tiny cases and against JAX on a sweep, so a
disagreement with localconv points at localconv. Unlike JAX, the oracle accepts C = 0.
"""

from __future__ import annotations

import jax
import numpy as np
import oracle
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st
from parity_check import jax_result
from strategies import Case

import localconv

SEEDS = st.integers(0, 2**32 - 1)
FLOAT32 = strategies.dtype_pairs(("float32",))


def as_float64(x: jax.Array) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def test_oracle_by_hand() -> None:
    # lhs [1, 2, 3] dilated by 2 is [1, 0, 2, 0, 3]; padding (1, -1) makes it [0, 1, 0, 2, 0].
    # Windows of 2 at stride 2 start at 0 and 2: [0, 1] and [0, 2], each with its own kernel.
    lhs = np.array([[[1.0, 2.0, 3.0]]])
    rhs = np.array([[[10.0, 1000.0], [100.0, 10000.0]]])  # [O=1, I=2, out W=2]
    out = oracle.conv_general_dilated_local(lhs, rhs, (2,), [(1, -1)], (2,), lhs_dilation=(2,))
    np.testing.assert_array_equal(out, [[[0 * 10 + 1 * 100, 0 * 1000 + 2 * 10000]]])


def test_oracle_window_order_by_hand() -> None:
    # rhs spec "IHOW": I fuses (C, window H, window W) row-major; spatial order is H, W.
    lhs = np.arange(2 * 2 * 3, dtype=np.float64).reshape(1, 2, 2, 3)  # N C H W
    filter_shape = (2, 2)
    out_h, out_w = 1, 2
    rhs = np.zeros((2 * 4, out_h, 1, out_w))  # I H O W
    rhs[1 * 4 + 0 * 2 + 1, 0, 0, 1] = 1.0  # c=1, window (h=0, w=1), at output (0, 1)
    out = oracle.conv_general_dilated_local(
        lhs, rhs, (1, 1), "VALID", filter_shape, dimension_numbers=("NCHW", "IHOW", "NCHW")
    )
    expected = np.zeros((1, 1, out_h, out_w))
    expected[0, 0, 0, 1] = lhs[0, 1, 0, 1 + 1]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.xla
@settings(max_examples=strategies.examples(30))
@given(strategies.cases(dtypes=FLOAT32), SEEDS)
def test_oracle_matches_jax(case: Case, seed: int) -> None:
    lhs, rhs = case.operands(seed)
    expected = jax_result(case, lhs, rhs)
    actual = oracle.conv_general_dilated_local(as_float64(lhs), as_float64(rhs), *case.params)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, as_float64(expected), rtol=1e-5, atol=1e-5 * case.contraction_length)


@pytest.mark.xla
@settings(max_examples=strategies.examples(70))
@given(strategies.cases(dtypes=FLOAT32, min_in_features=0), SEEDS)
def test_localconv_matches_oracle(case: Case, seed: int) -> None:
    lhs, rhs = case.operands(seed)
    actual = localconv.conv_general_dilated_local(lhs, rhs, *case.params)
    expected = oracle.conv_general_dilated_local(as_float64(lhs), as_float64(rhs), *case.params)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(
        as_float64(actual), expected, rtol=1e-5, atol=1e-5 * max(case.contraction_length, 1)
    )
