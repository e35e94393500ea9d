"""`localconv-legalize-composite`: rewrites localconv composites into their lowering.

Every `stablehlo.composite "localconv.conv_general_dilated_local"` is replaced in place by the
lowering chosen for its parameters: the contraction strategy in its `localconv.strategy`
attribute (set by `localconv-contraction-strategy`), else the default lowering (patch gather
plus one batched dot_general).
Decomposition functions left without users are erased, so no private function
remains. Composites of other names are left alone. A malformed localconv composite is an
error at its location.
"""

from __future__ import annotations

import dataclasses

from jaxlib.mlir import ir

from localconv.composite import CompositeError, is_localconv_composite, spec_from_composite
from localconv.contraction import STRATEGIES, STRATEGY_ATTRIBUTE
from localconv.default_lowering import DEFAULT_STRATEGY, emit_lowering

from .pass_base import ModulePass, PassError, ops_where


@dataclasses.dataclass(frozen=True)
class LegalizeComposite(ModulePass):
    """Replaces localconv composites by patch gather + dot_general, inlined.

      %0 = stablehlo.composite "localconv.conv_general_dilated_local" %lhs, %rhs
             {composite_attributes = {...}, decomposition = @...impl, version = 1 : i32}
    ==>
      %t = stablehlo.transpose %lhs ...        %p = stablehlo.pad %t ...
      %s0 = stablehlo.slice %p ... (one per window offset)
      %c = stablehlo.concatenate ...           %k = stablehlo.reshape %c ...
      %d = stablehlo.dot_general %k, %rhs, batching_dims = [0, 1] x [2, 3], ...
      %0 = stablehlo.transpose %d ...
    """

    name = "localconv-legalize-composite"
    summary = "Rewrite localconv composites into patch gather + dot_general"

    def run(self, module: ir.Operation) -> None:
        decompositions = set()
        for op in ops_where(module, is_localconv_composite):
            with op.location:
                try:
                    spec = spec_from_composite(op)
                except CompositeError as err:
                    raise PassError(str(err), op.location) from err
                strategy = _strategy_of(op)
                decompositions.add(ir.FlatSymbolRefAttr(op.attributes["decomposition"]).value)
                with ir.InsertionPoint(op):
                    result = emit_lowering(spec, op.operands[0], op.operands[1], strategy, loc=op.location)
            op.results[0].replace_all_uses_with(result)
            op.erase()
        _erase_unused_private_functions(module, decompositions)


def _strategy_of(op: ir.Operation) -> str:
    if STRATEGY_ATTRIBUTE not in op.attributes:
        return DEFAULT_STRATEGY
    attr = op.attributes[STRATEGY_ATTRIBUTE]
    strategy = attr.value if isinstance(attr, ir.StringAttr) else None
    if strategy not in STRATEGIES:
        raise PassError(f"{STRATEGY_ATTRIBUTE} must be one of {list(STRATEGIES)}, got {attr}", op.location)
    return strategy


def _erase_unused_private_functions(module: ir.Operation, names: set[str]) -> None:
    """Erases the private functions in `names` that no composite or call refers to any more.

    Only the symbol-valued attributes of those ops are read: reading arbitrary attributes
    from Python can fail on element types the bindings cannot cast (complex constants).
    """
    symbol_attributes = {"stablehlo.composite": "decomposition", "func.call": "callee"}
    referenced = {
        ir.FlatSymbolRefAttr(op.attributes[symbol_attributes[op.name]]).value
        for op in ops_where(module, lambda op: op.name in symbol_attributes)
    }
    for function in ops_where(module, lambda op: op.name == "func.func"):
        symbol = ir.StringAttr(function.attributes["sym_name"]).value
        private = "sym_visibility" in function.attributes and (
            ir.StringAttr(function.attributes["sym_visibility"]).value == "private"
        )
        if symbol in names and private and symbol not in referenced:
            function.erase()
