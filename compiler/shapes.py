"""Shape and dtype rules of the unshared convolution: pure functions, no IR.

Spatial dimension `i` everywhere here is the i-th spatial dimension of the rhs spec, the order
of window_strides, padding, filter_shape and the dilations.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from .params import SUPPORTED_DTYPES, DimensionNumbers


def dilated_extent(size: int, dilation: int) -> int:
    """Extent of `size` elements with `dilation - 1` holes between neighbours."""
    return 0 if size == 0 else 1 + dilation * (size - 1)


def output_spatial(
    in_spatial: tuple[int, ...],
    filter_shape: tuple[int, ...],
    window_strides: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Output spatial extents; raises ValueError where negative padding eats the whole input."""
    out = []
    for i, (size, k, stride, (low, high), ld, rd) in enumerate(
        zip(
            in_spatial,
            filter_shape,
            window_strides,
            padding,
            lhs_dilation,
            rhs_dilation,
            strict=True,
        )
    ):
        padded = dilated_extent(size, ld) + low + high
        if padded < 0:
            raise ValueError(
                f"padding {padding[i]} of spatial dimension {i} removes more than the "
                f"(dilated) input extent {dilated_extent(size, ld)}"
            )
        window = dilated_extent(k, rd)
        if max(padded, window, dilated_extent(size, ld)) >= 2**63:
            raise ValueError(
                f"spatial dimension {i}: the dilated and padded extents ({padded}, window "
                f"{window}) exceed what a 64-bit index can address"
            )
        out.append(max((padded - window) // stride + 1, 0))
    return tuple(out)


def check_rhs_shape(
    rhs_shape: tuple[int, ...],
    perms: DimensionNumbers,
    patch_size: int,
    out_spatial: tuple[int, ...],
) -> None:
    """Checks rhs is [output spatial..., C * prod(filter_shape), O] in rhs spec positions."""
    expected = list(rhs_shape)
    expected[perms.rhs[1]] = patch_size
    for i, extent in enumerate(out_spatial):
        expected[perms.rhs[2 + i]] = extent
    if tuple(expected) != tuple(rhs_shape):
        raise TypeError(
            "rhs must have shape "
            f"{tuple(expected)} (output spatial extents {out_spatial} at the spatial positions "
            f"and C * prod(filter_shape) = {patch_size} at the 'I' position of the rhs spec), "
            f"got {tuple(rhs_shape)}"
        )


def output_shape(
    batch: int, features: int, out_spatial: tuple[int, ...], perms: DimensionNumbers
) -> tuple[int, ...]:
    """The result shape in out spec order."""
    shape = [0] * (len(out_spatial) + 2)
    for position, extent in zip(perms.out, (batch, features, *out_spatial), strict=True):
        shape[position] = extent
    return tuple(shape)


def canonical_dtype(name: str, dtype: object) -> str:
    """The dtype JAX computes in (float64 is float32 unless x64 is on), as a numpy name."""
    try:
        canonical = jax.dtypes.canonicalize_dtype(np.dtype(dtype))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} dtype must be one of {SUPPORTED_DTYPES}, got {dtype!r}") from err
    if canonical.name not in SUPPORTED_DTYPES:
        raise TypeError(f"{name} dtype must be one of {SUPPORTED_DTYPES}, got {np.dtype(dtype).name}")
    return canonical.name


def result_dtype(lhs_dtype: str, rhs_dtype: str) -> str:
    """The result dtype of mixed inputs: the higher-precision one, as XLA's dot_general picks."""

    def rank(name: str) -> tuple[bool, int, int, int]:
        dtype = jax.numpy.dtype(name)
        is_complex = np.issubdtype(dtype, np.complexfloating)
        info = jax.numpy.finfo(dtype)
        return (is_complex, info.maxexp, info.nmant, info.bits)

    return lhs_dtype if rank(lhs_dtype) >= rank(rhs_dtype) else rhs_dtype


def itemsize(dtype: str) -> int:
    """Bytes per element of a dtype name (bfloat16 included)."""
    return jax.numpy.dtype(dtype).itemsize


def check_xla_array_bytes(what: str, elements: int, dtype: str) -> None:
    """ValueError where an array of `elements` `dtype`s is past XLA's limit, which sizes arrays
    in bytes as an int64 and aborts the process beyond it."""
    size = elements * itemsize(dtype)
    if size >= 2**63:
        raise ValueError(f"{what} would take {size:,} bytes; XLA arrays hold fewer than 2**63 bytes")


def patch_size(features: int, filter_shape: tuple[int, ...]) -> int:
    """Length of one flattened patch: input channels times window positions."""
    return features * math.prod(filter_shape)
