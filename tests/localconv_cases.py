"""Helpers shared by tests that turn generated `strategies.Case`s into localconv specs."""

from __future__ import annotations

import strategies

from localconv import ConvSpec

# Every dtype pair the front end accepts: equal real or complex dtypes, or a mixed pair.
ALL_DTYPES = strategies.dtype_pairs(
    strategies.REAL_DTYPES + strategies.COMPLEX_DTYPES,
    strategies.MIXED_REAL + strategies.MIXED_COMPLEX,
)


def spec_of(case: strategies.Case) -> ConvSpec:
    """The ConvSpec localconv builds for a generated case."""
    return ConvSpec.from_arguments(
        case.lhs_shape, case.lhs_dtype, case.rhs_shape, case.rhs_dtype, *case.params
    )
