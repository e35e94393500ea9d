"""`localconv-fold-transposes`: folds transposes into dot_general and composes chains.

A transpose feeding a `dot_general` operand is absorbed into the dot's dimension numbers
whenever that keeps the order of the operand's free dims (so the dot's result is unchanged);
a transpose of a transpose becomes one transpose; an identity transpose disappears; and the
final transpose of a dot's result is placed where it costs nothing when swapping the dot's
operands yields the transposed order directly (the result is written once, in place).
"""

from __future__ import annotations

import dataclasses

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from localconv import irbuild
from localconv.contraction import STRATEGY_ATTRIBUTE

from .pass_base import ModulePass, apply_patterns


@dataclasses.dataclass(frozen=True)
class FoldTransposes(ModulePass):
    """Absorbs operand transposes into dot_general; composes transpose chains.

      %t = stablehlo.transpose %p, dims = [1, 2, 0, 3] : (tensor<3x5x2x18xf32>) -> ...
      %d = stablehlo.dot_general %t, %w, batching_dims = [1, 2] x [0, 1],
             contracting_dims = [3] x [2]
    ==>
      %d = stablehlo.dot_general %p, %w, batching_dims = [0, 1] x [0, 1],
             contracting_dims = [3] x [2]

      %1 = stablehlo.transpose %0, dims = [2, 1, 0]   (%0 = transpose %x, dims = [1, 0, 2])
    ==>
      %1 = stablehlo.transpose %x, dims = [2, 0, 1]
    """

    name = "localconv-fold-transposes"
    summary = "Fold operand transposes into dot_general; compose transpose chains"

    def run(self, module: ir.Operation) -> None:
        apply_patterns(
            module,
            [
                (stablehlo.TransposeOp, _compose_transposes),
                (stablehlo.DotGeneralOp, _fold_operand_transposes),
            ],
        )


def _permutation(op: ir.Operation) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))


def _transpose_source(value: ir.Value) -> tuple[ir.Value, list[int]] | None:
    if isinstance(value, ir.OpResult) and value.owner.name == "stablehlo.transpose":
        return value.owner.operands[0], _permutation(value.owner)
    return None


def _compose_transposes(op: ir.Operation, rewriter: object) -> bool:
    outer = _permutation(op)
    inner = _transpose_source(op.operands[0])
    if inner is None:
        if outer != sorted(outer):
            return _swap_dot_operands(op, outer, rewriter)
        rewriter.replace_op(op, [op.operands[0]])
        return False
    source, permutation = inner
    with rewriter.ip, op.location:
        result = irbuild.transpose(source, [permutation[d] for d in outer], loc=op.location)
    rewriter.replace_op(op, [result])
    return False


def _swap_dot_operands(op: ir.Operation, permutation: list[int], rewriter: object) -> bool:
    """transpose(dot(a, b)) -> dot(b, a) when the swapped result order is the wanted one.

    A dot_general's result is [batch, lhs free, rhs free]; swapping its operands gives
    [batch, rhs free, lhs free]. When that is exactly the transposed order, the transpose (a
    full pass over the result) disappears.
    """
    source = op.operands[0]
    if not isinstance(source, ir.OpResult) or source.owner.name != "stablehlo.dot_general":
        return True
    dot = source.owner
    if len(list(source.uses)) != 1:
        return True
    dims = stablehlo.DotDimensionNumbers(dot.attributes["dot_dimension_numbers"])
    batch = len(dims.lhs_batching_dimensions)
    lhs_rank, rhs_rank = (len(irbuild.shape_of(v)) for v in dot.operands)
    lhs_free = lhs_rank - batch - len(dims.lhs_contracting_dimensions)
    rhs_free = rhs_rank - batch - len(dims.rhs_contracting_dimensions)
    swapped = list(range(batch)) + [batch + lhs_free + i for i in range(rhs_free)]
    swapped += [batch + i for i in range(lhs_free)]
    if permutation != swapped:
        return True
    _replace_with_dot(
        op,
        rewriter,
        dot,
        (dot.operands[1], list(dims.rhs_batching_dimensions), list(dims.rhs_contracting_dimensions)),
        (dot.operands[0], list(dims.lhs_batching_dimensions), list(dims.lhs_contracting_dimensions)),
        _swapped_precision(dot.attributes),
    )
    return False


def _swapped_precision(attrs) -> ir.ArrayAttr | None:
    if "precision_config" not in attrs:
        return None
    return ir.ArrayAttr.get(list(reversed(list(ir.ArrayAttr(attrs["precision_config"])))))


def _fold_operand_transposes(op: ir.Operation, rewriter: object) -> bool:
    dims = stablehlo.DotDimensionNumbers(op.attributes["dot_dimension_numbers"])
    sides = [
        [op.operands[0], list(dims.lhs_batching_dimensions), list(dims.lhs_contracting_dimensions)],
        [op.operands[1], list(dims.rhs_batching_dimensions), list(dims.rhs_contracting_dimensions)],
    ]
    changed = False
    for side in sides:
        value, batch, contract = side
        found = _transpose_source(value)
        if found is None:
            continue
        source, permutation = found
        rank = len(permutation)
        free = [permutation[d] for d in range(rank) if d not in batch and d not in contract]
        if free != sorted(free):
            continue
        side[:] = [source, [permutation[d] for d in batch], [permutation[d] for d in contract]]
        changed = True
    if not changed:
        return True
    attrs = op.attributes
    precision = attrs["precision_config"] if "precision_config" in attrs else None
    _replace_with_dot(op, rewriter, op, tuple(sides[0]), tuple(sides[1]), precision)
    return False


def _replace_with_dot(op, rewriter, dot, lhs: tuple, rhs: tuple, precision) -> None:
    """Replaces `op` by a dot_general of lhs and rhs, each (value, batching dims, contracting
    dims), keeping `dot`'s algorithm and strategy attributes."""
    attrs = dot.attributes
    with rewriter.ip, op.location:
        new = stablehlo.DotGeneralOp(
            op.results[0].type,
            lhs[0],
            rhs[0],
            stablehlo.DotDimensionNumbers.get(
                lhs_batching_dimensions=lhs[1],
                rhs_batching_dimensions=rhs[1],
                lhs_contracting_dimensions=lhs[2],
                rhs_contracting_dimensions=rhs[2],
            ),
            precision_config=precision,
            algorithm=attrs["algorithm"] if "algorithm" in attrs else None,
            loc=op.location,
        )
        if STRATEGY_ATTRIBUTE in attrs:
            new.attributes[STRATEGY_ATTRIBUTE] = attrs[STRATEGY_ATTRIBUTE]
    rewriter.replace_op(op, [new.result])
