"""`localconv-legalize-composite`: rewrites localconv composites into their lowering.

Every `stablehlo.composite "localconv.conv_general_dilated_local"` is replaced in place by the
lowering chosen for its parameters (the patch gather plus dot_general of the default
lowering); decomposition functions left without users are erased, so no private function
remains. Composites of other names are left alone.

    %0 = stablehlo.composite "localconv.conv_general_dilated_local" %lhs, %rhs {...,
           decomposition = @localconv.conv_general_dilated_local.impl}
  ==>
    %t = stablehlo.transpose %lhs ...   %p = stablehlo.pad ...   %s = stablehlo.slice ...
    %c = stablehlo.concatenate ...      %d = stablehlo.dot_general %patches, %rhs ...
    %0 = stablehlo.transpose %d ...
"""

from __future__ import annotations

from dataclasses import dataclass

from jaxlib.mlir import ir

from localconv.composite import CompositeError, is_localconv_composite, spec_from_composite
from localconv.default_lowering import emit_default_lowering


@dataclass(frozen=True)
class LegalizeComposite:
    """Replaces localconv composites by their lowering and drops unused decompositions."""

    name = "localconv-legalize-composite"
    summary = "Rewrite localconv composites into patch gather + dot_general"

    def __call__(self, module: ir.Operation, pass_: object) -> None:
        decompositions = set()
        for op in _ops_where(module, is_localconv_composite):
            with module.context, op.location:
                try:
                    spec = spec_from_composite(op)
                except CompositeError as err:
                    op.location.emit_error(f"{self.name}: {err}")
                    pass_.signal_pass_failure()
                    return
                decompositions.add(ir.FlatSymbolRefAttr(op.attributes["decomposition"]).value)
                with ir.InsertionPoint(op):
                    result = emit_default_lowering(spec, op.operands[0], op.operands[1], loc=op.location)
                op.results[0].replace_all_uses_with(result)
                op.erase()
        with module.context:
            _erase_unused_private_functions(module, decompositions)


def _ops_where(root: ir.Operation, predicate) -> list[ir.Operation]:
    found = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if predicate(op):
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found


def _erase_unused_private_functions(module: ir.Operation, names: set[str]) -> None:
    referenced = set()
    for op in _ops_where(module, lambda op: op.name != "func.func"):
        for index in range(len(op.attributes)):
            attr = op.attributes[index].attr
            if isinstance(attr, ir.FlatSymbolRefAttr):
                referenced.add(ir.FlatSymbolRefAttr(attr).value)
    for function in _ops_where(module, lambda op: op.name == "func.func"):
        symbol = ir.StringAttr(function.attributes["sym_name"]).value
        private = "sym_visibility" in function.attributes and (
            ir.StringAttr(function.attributes["sym_visibility"]).value == "private"
        )
        if symbol in names and private and symbol not in referenced:
            function.erase()
