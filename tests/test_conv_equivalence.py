"""An unshared convolution whose kernel is the same at every output position is a convolution.

Tiling one `conv_general_dilated` kernel k[O, C, window...] over the output positions,

    rhs[O, c * prod(filter_shape) + flat(w), out position...] = k[O, c, w...]

(in the rhs layout of the dimension numbers), makes localconv's result equal to
`jax.lax.conv_general_dilated(lhs, k)` with the same strides, padding, dilations, dimension
numbers and precision.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from parity_check import assert_same_result
from strategies import Case

import localconv

pytestmark = pytest.mark.xla


def shared_kernel(case: Case, seed: int) -> np.ndarray:
    """A random kernel [O, C, filter...] in canonical (logical) order."""
    out_features = case.rhs_shape[case.layout.rhs[0]]
    in_features = case.lhs_shape[case.layout.lhs[1]]
    rng = np.random.default_rng(seed)
    return rng.standard_normal((out_features, in_features, *case.filter_shape))


def to_layout(canonical: np.ndarray, positions: tuple[int, ...]) -> np.ndarray:
    """Moves logical dim k of `canonical` to physical position `positions[k]`."""
    return np.transpose(canonical, np.argsort(positions))


def tiled_rhs(kernel: np.ndarray, case: Case) -> np.ndarray:
    """The unshared rhs that uses `kernel` at every output position, in the case's rhs layout."""
    out_features, in_features = kernel.shape[:2]
    patch = in_features * int(np.prod(kernel.shape[2:]))
    flat = kernel.reshape(out_features, patch)  # c-major, then the window row-major
    spatial = case.out_spatial
    tiled = np.broadcast_to(flat.reshape(flat.shape + (1,) * len(spatial)), flat.shape + spatial)
    return to_layout(tiled, case.layout.rhs)


@settings(max_examples=strategies.examples(60))
@given(
    strategies.cases(dtypes=strategies.dtype_pairs(("float32", "float16"))),
    st.integers(0, 2**32 - 1),
)
def test_shared_kernel_equals_conv_general_dilated(case: Case, seed: int) -> None:
    lhs, _ = case.operands(seed)
    kernel = shared_kernel(case, seed)
    rhs = jnp.asarray(tiled_rhs(kernel, case), dtype=case.rhs_dtype)
    assert rhs.shape == case.rhs_shape
    (window_strides, padding, _, lhs_dilation, rhs_dilation, dimension_numbers, precision) = case.params
    expected = jax.jit(
        lambda x, k: lax.conv_general_dilated(
            x,
            k,
            window_strides,
            padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers,
            precision=precision,
        )
    )(lhs, jnp.asarray(to_layout(kernel, case.layout.rhs), dtype=case.rhs_dtype))
    actual = localconv.conv_general_dilated_local(lhs, rhs, *case.params)
    assert_same_result(actual, expected, case, "shared-kernel local conv vs conv_general_dilated")
