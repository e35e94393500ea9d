"""Canonicalization of the user-facing parameters of `conv_general_dilated_local`.

Every spelling JAX accepts for a parameter is turned here, once, into one canonical and
hashable value; nothing downstream re-parses user input. Each function raises `TypeError` or
`ValueError` (the type JAX raises for the same mistake) with a message that names the
parameter, what was expected and what was given.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from jax import lax

PRECISION_NAMES = ("DEFAULT", "HIGH", "HIGHEST")
PADDING_NAMES = ("SAME", "SAME_LOWER", "VALID")
SUPPORTED_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")

# Spelling JAX accepts for each precision level (`jax.lax.Precision` aliases).
_PRECISION_ALIASES = {
    "highest": "HIGHEST",
    "float32": "HIGHEST",
    "high": "HIGH",
    "bfloat16_3x": "HIGH",
    "tensorfloat32": "HIGH",
    "default": "DEFAULT",
    "bfloat16": "DEFAULT",
    "fastest": "DEFAULT",
}


class DimensionNumbers(NamedTuple):
    """Canonical dimension numbers: for each operand, the positions of its dimensions.

    `lhs` and `out` are (batch, feature, spatial...), `rhs` is (out feature, in feature,
    spatial...); spatial dimension `i` is the i-th spatial character of the rhs spec, the order
    in which window_strides, padding, filter_shape and the dilations are given.
    """

    lhs: tuple[int, ...]
    rhs: tuple[int, ...]
    out: tuple[int, ...]


MAX_RANK = 64
INT64_LIMIT = 2**63


def int_tuple(name: str, value: Any) -> tuple[int, ...]:
    """Returns `value` as a tuple of Python ints; bools, floats and non-sequences are refused.

    Sequences longer than any supported rank are refused before being read, so an
    astronomically long range cannot hang validation.
    """
    if not _is_sequence(value):
        raise TypeError(f"{name} must be a sequence of integers, got {value!r:.200}")
    if len(value) > MAX_RANK:
        raise ValueError(f"{name} must have at most {MAX_RANK} entries (one per dimension), got {len(value)}")
    items = []
    for item in value:
        if isinstance(item, (bool, np.bool_)) or not _is_integer(item):
            raise TypeError(f"{name} must be a sequence of integers, got {value!r:.200}")
        items.append(operator.index(item))
    return tuple(items)


def optional_int_tuple(name: str, value: Any, count: int) -> tuple[int, ...]:
    """Like `int_tuple`, with `None` meaning 1 in each of `count` spatial dimensions."""
    return (1,) * count if value is None else int_tuple(name, value)


def check_spatial_parameters(
    ndim: int,
    window_strides: tuple[int, ...],
    filter_shape: tuple[int, ...],
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
) -> None:
    """Checks counts and signs of the per-spatial-dimension parameters of rank-`ndim` operands.

    The exception types are those JAX raises for the same mistakes.
    """
    count = ndim - 2
    if len(filter_shape) != count:
        raise TypeError(
            f"filter_shape must have lhs.ndim - 2 = {count} entries (one per spatial "
            f"dimension), got {len(filter_shape)}: {filter_shape}"
        )
    if any(k < 1 for k in filter_shape):
        error = TypeError if any(k < 0 for k in filter_shape) else ValueError
        raise error(f"filter_shape must contain only positive integers, got {filter_shape}")
    for name, values in (
        ("filter_shape", filter_shape),
        ("window_strides", window_strides),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
    ):
        if any(v >= INT64_LIMIT for v in values):
            raise ValueError(f"{name} entries must be below 2**63 (they are int64 in the IR), got {values}")
    for name, values, error in (
        ("window_strides", window_strides, ValueError),
        ("lhs_dilation", lhs_dilation, TypeError),
        ("rhs_dilation", rhs_dilation, TypeError),
    ):
        if len(values) != count:
            raise ValueError(
                f"{name} must have one entry per spatial dimension ({count}), got {len(values)}: {values}"
            )
        if any(v < 1 for v in values):
            raise error(f"{name} must contain only positive integers, got {values}")


def dimension_numbers_perms(value: Any, ndim: int) -> DimensionNumbers:
    """Canonical dimension numbers from None, a `ConvDimensionNumbers` or three spec strings."""
    if value is None:
        iota = tuple(range(ndim))
        return DimensionNumbers(iota, iota, iota)
    if isinstance(value, lax.ConvDimensionNumbers):
        return _perms_from_conv_dimension_numbers(value, ndim)
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            "dimension_numbers must be None, a ConvDimensionNumbers or a tuple of three "
            f"strings, got {type(value).__name__}: {value!r}"
        )
    if len(value) != 3:
        raise TypeError(f"dimension_numbers must have 3 strings, got {len(value)}: {value!r}")
    if not all(isinstance(spec, str) for spec in value):
        raise TypeError(f"dimension_numbers must contain three strings, got {value!r}")
    for index, spec in enumerate(value):
        if len(spec) != ndim:
            raise TypeError(
                f"dimension_numbers[{index}] must have lhs.ndim = {ndim} characters, got {spec!r}"
            )
    return _perms_from_strings(*value)


def _perms_from_strings(lhs_spec: str, rhs_spec: str, out_spec: str) -> DimensionNumbers:
    specs = (lhs_spec, rhs_spec, out_spec)
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for index, (spec, (first, second)) in enumerate(zip(specs, pairs, strict=True)):
        if spec.count(first) != 1 or spec.count(second) != 1:
            raise TypeError(
                f"dimension_numbers[{index}] must contain '{first}' and '{second}' exactly once, got {spec!r}"
            )
        if len(set(spec)) != len(spec):
            raise TypeError(f"dimension_numbers[{index}] must not repeat a character, got {spec!r}")
    spatial_sets = [set(spec) - set(pair) for spec, pair in zip(specs, pairs, strict=True)]
    if not spatial_sets[0] == spatial_sets[1] == spatial_sets[2]:
        raise TypeError(
            f"dimension_numbers must use the same spatial characters in all three specs, got {specs!r}"
        )
    spatial_order = [c for c in rhs_spec if c not in "OI"]

    def perm(spec: str, pair: tuple[str, str]) -> tuple[int, ...]:
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spec.index(c) for c in spatial_order)

    return DimensionNumbers(*(perm(s, p) for s, p in zip(specs, pairs, strict=True)))


def _perms_from_conv_dimension_numbers(value: Any, ndim: int) -> DimensionNumbers:
    perms = []
    for name, perm in zip(("lhs_spec", "rhs_spec", "out_spec"), value, strict=True):
        items = int_tuple(f"dimension_numbers.{name}", perm)
        if sorted(items) != list(range(ndim)):
            raise ValueError(f"dimension_numbers.{name} must be a permutation of range({ndim}), got {items}")
        perms.append(items)
    rhs_spatial = perms[1][2:]
    if list(rhs_spatial) != sorted(rhs_spatial):
        # JAX reads filter_shape in rhs layout order but strides in this order here; spec
        # strings have one meaning, so ask for them instead.
        raise ValueError(
            "dimension_numbers.rhs_spec must list the rhs spatial dims in increasing order "
            f"(the order filter_shape uses), got {perms[1]}; give spec strings instead"
        )
    return DimensionNumbers(*perms)


def spec_strings(perms: DimensionNumbers) -> tuple[str, str, str]:
    """The three spec strings of canonical dimension numbers, spatial dims named H, W, D, ...

    The names depend only on the spatial index, so equal dimension numbers give equal strings.
    """
    ndim = len(perms.lhs)
    names = spatial_names(ndim - 2)

    def spec(perm: tuple[int, ...], pair: str) -> str:
        chars = [""] * ndim
        for char, position in zip(pair + names, perm, strict=True):
            chars[position] = char
        return "".join(chars)

    return spec(perms.lhs, "NC"), spec(perms.rhs, "OI"), spec(perms.out, "NC")


SPATIAL_ALPHABET = "HWD" + "ABEFGJKLMPQRSTUVXYZ"
MAX_SPATIAL_DIMS = len(SPATIAL_ALPHABET)


def spatial_names(count: int) -> str:
    """Names for `count` spatial dims: H, W, D, then letters that are not N, C, O or I."""
    alphabet = SPATIAL_ALPHABET
    if count > len(alphabet):
        raise ValueError(f"at most {len(alphabet)} spatial dimensions are supported, got {count}")
    return alphabet[:count]


def explicit_padding(
    value: Any,
    in_spatial: tuple[int, ...],
    window: tuple[int, ...],
    strides: tuple[int, ...],
    lhs_dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """Canonical (low, high) padding pairs; string padding is resolved as JAX resolves it.

    `window` is the dilated window extent, `in_spatial` the undilated input extent.
    """
    count = len(in_spatial)
    if isinstance(value, str):
        mode = value.upper()
        if mode not in PADDING_NAMES:
            raise ValueError(f"padding must be one of {PADDING_NAMES} or (low, high) pairs, got {value!r}")
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(
                f"padding {value!r} cannot be combined with lhs_dilation {lhs_dilation} "
                "(string padding is not defined for transposed convolution, as in JAX); "
                "give explicit (low, high) pairs"
            )
        if mode == "VALID":
            return ((0, 0),) * count
        pads = []
        for size, extent, stride in zip(in_spatial, window, strides, strict=True):
            out = -(-size // stride)
            total = max((out - 1) * stride + extent - size, 0)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if mode == "SAME" else (large, small))
        return tuple(pads)
    if not _is_sequence(value):
        raise ValueError(
            f"padding must be 'SAME', 'SAME_LOWER', 'VALID' or a sequence of (low, high) pairs, got {value!r}"
        )
    if len(value) > MAX_RANK:
        raise TypeError(
            f"padding must have one (low, high) pair per spatial dimension ({count}), "
            f"got {len(value)} entries"
        )
    pairs = []
    for pair in value:
        if _is_sequence(pair) and any(isinstance(p, (bool, np.bool_)) for p in pair):
            raise TypeError(f"padding must hold integer (low, high) pairs, not bools, got {value!r}")
        if isinstance(pair, (str, bytes)) or not _is_sequence(pair) or len(pair) != 2:
            raise ValueError(f"padding must be a sequence of (low, high) integer pairs, got {value!r}")
        if any(isinstance(p, (bool, np.bool_)) or not _is_integer(p) for p in pair):
            raise ValueError(f"padding must be a sequence of (low, high) integer pairs, got {value!r}")
        pairs.append((operator.index(pair[0]), operator.index(pair[1])))
    if len(pairs) != count:
        raise TypeError(
            f"padding must have one (low, high) pair per spatial dimension ({count}), "
            f"got {len(pairs)}: {tuple(pairs)}"
        )
    return tuple(pairs)


def precision_pair(value: Any) -> tuple[str, str]:
    """Canonical precision: the names of the lhs and rhs `lax.Precision` levels.

    `None` takes `jax_default_matmul_precision` as JAX does. Dot-algorithm presets are refused,
    as JAX's conv_general_dilated_local refuses them.
    """
    if value is None:
        default = jax.config.jax_default_matmul_precision
        if default is None:
            return ("DEFAULT", "DEFAULT")
        try:
            return precision_pair(default)
        except ValueError:
            raise ValueError(
                "precision is None and jax_default_matmul_precision is "
                f"{default!r}, which conv_general_dilated_local does not support"
            ) from None
    if isinstance(value, (str, lax.Precision)):
        level = _precision_level(value)
        if level is None:
            raise _precision_error(value)
        return (level, level)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        # JAX canonicalizes a list of two strings to a tuple but passes a list of two enums on
        # as it is, which conv_general_dilated_local then refuses.
        both_enums = isinstance(value, tuple) and all(isinstance(p, lax.Precision) for p in value)
        both_strings = all(isinstance(p, str) for p in value)
        levels = tuple(_precision_level(p) for p in value)
        if (both_enums or both_strings) and None not in levels:
            return levels  # type: ignore[return-value]
    raise _precision_error(value)


def _precision_level(value: Any) -> str | None:
    if isinstance(value, lax.Precision):
        return value.name
    if isinstance(value, str):
        return _PRECISION_ALIASES.get(value)
    return None


def _precision_error(value: Any) -> ValueError:
    return ValueError(
        "precision must be None, a lax.Precision, one of the strings "
        f"{sorted(_PRECISION_ALIASES)}, or a tuple of two of these (both enums or both strings, "
        "strings also as a list); "
        f"got {value!r}"
    )


def _is_sequence(value: Any) -> bool:
    if isinstance(value, (np.ndarray, jax.Array)):
        return value.ndim >= 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _is_integer(value: Any) -> bool:
    try:
        operator.index(value)
    except TypeError:
        return False
    return True
