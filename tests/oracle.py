"""A naive NumPy unshared convolution, written from the definition of the operation.

    out[n, o, p] = sum over c, w of  x[n, c, p * stride + w * rhs_dilation] * rhs[o, c*F + flat(w), p]

where `x` is lhs with `lhs_dilation - 1` zeros inserted between neighbours and then padded
(negative padding crops), `p` runs over output positions, `w` over the receptive window,
`F = prod(filter_shape)` and `flat(w)` is the row-major index of `w` in `filter_shape`. Spatial
dimension `i` is the i-th spatial character of the rhs spec. Everything is computed in float64
(complex128 for complex operands). Dimension numbers are parsed here, independently of localconv
and of the test strategies.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from jax import lax


def layout(dimension_numbers: Any, ndim: int) -> tuple[tuple[int, ...], ...]:
    """For lhs, rhs and out: the positions of (N or O, C or I, spatial 0, spatial 1, ...)."""
    if dimension_numbers is None:
        return (tuple(range(ndim)),) * 3
    if isinstance(dimension_numbers, lax.ConvDimensionNumbers):
        return tuple(tuple(perm) for perm in dimension_numbers)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    spatial = [c for c in rhs_spec if c not in "OI"]
    return tuple(
        tuple(spec.index(c) for c in (*pair, *spatial))
        for spec, pair in ((lhs_spec, "NC"), (rhs_spec, "OI"), (out_spec, "NC"))
    )


def padding_pairs(padding: Any, in_spatial, window, strides) -> list[tuple[int, int]]:
    """(low, high) pairs; 'SAME' puts the odd element high, 'SAME_LOWER' low."""
    if not isinstance(padding, str):
        return [(int(lo), int(hi)) for lo, hi in padding]
    if padding.upper() == "VALID":
        return [(0, 0)] * len(in_spatial)
    pairs = []
    for size, extent, stride in zip(in_spatial, window, strides, strict=True):
        total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
        pairs.append((total // 2, total - total // 2))
    if padding.upper() == "SAME_LOWER":
        pairs = [(hi, lo) for lo, hi in pairs]
    return pairs


def dilate_and_pad(x: np.ndarray, lhs_dilation, pads) -> np.ndarray:
    """x [N, C, spatial...] with zeros between neighbours, then padded or cropped at the edges."""
    for axis, (d, (lo, hi)) in enumerate(zip(lhs_dilation, pads, strict=True), start=2):
        size = x.shape[axis]
        shape = list(x.shape)
        shape[axis] = 0 if size == 0 else (size - 1) * d + 1
        spread = np.zeros(shape, x.dtype)
        index = [slice(None)] * x.ndim
        index[axis] = slice(None, None, d)
        spread[tuple(index)] = x
        widths = [(0, 0)] * x.ndim
        widths[axis] = (max(lo, 0), max(hi, 0))
        padded = np.pad(spread, widths)
        index[axis] = slice(max(-lo, 0), padded.shape[axis] - max(-hi, 0))
        x = padded[tuple(index)]
    return x


def conv_general_dilated_local(
    lhs,
    rhs,
    window_strides,
    padding,
    filter_shape,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    precision=None,
) -> np.ndarray:
    """The unshared convolution of `lhs` and `rhs` (arguments as in JAX), in float64/complex128.

    `precision` is accepted and ignored: the reference is exact up to float64 rounding.
    """
    del precision
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    is_complex = np.iscomplexobj(lhs) or np.iscomplexobj(rhs)
    dtype = np.complex128 if is_complex else np.float64
    n = lhs.ndim - 2
    lhs_pos, rhs_pos, out_pos = layout(dimension_numbers, lhs.ndim)
    x = np.transpose(lhs, lhs_pos).astype(dtype)  # [N, C, spatial...]
    kernels = np.transpose(rhs, rhs_pos).astype(dtype)  # [O, C*F, out spatial...]
    filter_shape = tuple(filter_shape)
    strides = tuple(window_strides)
    lhs_dilation = tuple(lhs_dilation or (1,) * n)
    rhs_dilation = tuple(rhs_dilation or (1,) * n)
    window = [0 if k == 0 else (k - 1) * d + 1 for k, d in zip(filter_shape, rhs_dilation, strict=True)]
    pads = padding_pairs(padding, x.shape[2:], window, strides)
    x = dilate_and_pad(x, lhs_dilation, pads)
    out_spatial = [
        max(0, (size - extent) // s + 1) for size, extent, s in zip(x.shape[2:], window, strides, strict=True)
    ]
    batch, channels = x.shape[:2]
    out_channels = kernels.shape[0]
    window_size = math.prod(filter_shape)
    out = np.zeros((batch, out_channels, *out_spatial), dtype)
    for p in itertools.product(*map(range, out_spatial)):
        for flat, w in enumerate(itertools.product(*map(range, filter_shape))):
            where = tuple(pi * s + wi * d for pi, s, wi, d in zip(p, strides, w, rhs_dilation, strict=True))
            for c in range(channels):
                taps = x[(slice(None), c, *where)]  # [N]
                weights = kernels[(slice(None), c * window_size + flat, *p)]  # [O]
                out[(slice(None), slice(None), *p)] += np.outer(taps, weights)
    return np.transpose(out, np.argsort(out_pos))
