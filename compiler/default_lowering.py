"""The lowering of an unshared convolution with a chosen contraction strategy.

The default lowering, the decomposition of localconv's composite, is the patch gather plus
one batched dot_general (`contraction.emit_batched_dot`); the pipeline may pick another
strategy per op (see `contraction.STRATEGIES`).
"""

from __future__ import annotations

import math

from jaxlib.mlir import ir

from . import irbuild
from .contraction import (
    STRATEGIES,
    emit_accumulate_loop,
    emit_batched_dot,
    emit_position_loop,
)
from .multiply_reduce import emit_multiply_reduce
from .row_loop import emit_row_loop
from .spec import ConvSpec

DEFAULT_STRATEGY = "batched_dot"


def emit_lowering(
    spec: ConvSpec,
    lhs: ir.Value,
    rhs: ir.Value,
    strategy: str = DEFAULT_STRATEGY,
    *,
    loc: ir.Location,
) -> ir.Value:
    """The convolution of `lhs` and `rhs` lowered with contraction `strategy`.

    An empty output is a constant: no strategy is emitted for it, so none has to index windows
    whose offsets exceed the (empty) input, e.g. a window dilation of 2**31.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if math.prod(spec.out_shape) == 0:
        zero = irbuild.zero_scalar(spec.out_dtype, loc=loc)
        return irbuild.broadcast(zero, spec.out_shape, [], loc=loc)
    if strategy == "batched_dot":
        return emit_batched_dot(spec, lhs, rhs, loc=loc)
    if strategy == "accumulate_loop":
        return emit_accumulate_loop(spec, lhs, rhs, loc=loc)
    if strategy == "position_loop":
        return emit_position_loop(spec, lhs, rhs, loc=loc)
    if strategy == "multiply_reduce":
        return emit_multiply_reduce(spec, lhs, rhs, loc=loc)
    return emit_row_loop(spec, lhs, rhs, loc=loc)


def emit_default_lowering(spec: ConvSpec, lhs: ir.Value, rhs: ir.Value, *, loc: ir.Location) -> ir.Value:
    """The default lowering: patch gather plus one batched dot_general."""
    return emit_lowering(spec, lhs, rhs, DEFAULT_STRATEGY, loc=loc)
