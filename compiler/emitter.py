"""Builds the StableHLO module of one unshared convolution, `func.func public @main(lhs, rhs)`.

Two forms: `"composite"` (main calls the localconv composite, whose decomposition is a private
function holding the default lowering; localconv's public IR contract) and `"stablehlo"`
(main holds the default lowering itself). Every module returned passes `verify()`.
"""

from __future__ import annotations

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import func

from . import composite, irbuild
from .default_lowering import emit_default_lowering
from .spec import ConvSpec

FORMS = ("composite", "stablehlo")
DECOMPOSITION_NAME = "localconv.conv_general_dilated_local.impl"


def build_module(
    spec: ConvSpec,
    form: str = "composite",
    *,
    context: ir.Context | None = None,
    loc: ir.Location | None = None,
) -> ir.Module:
    """A verified module whose `@main(lhs, rhs)` computes `spec` in the chosen `form`.

    `loc` (default: a name location) is attached to every op, so diagnostics point at the
    user's call site.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    context = context or irbuild.make_context()
    with context, loc or ir.Location.unknown(context):
        loc = loc or ir.Location.name(composite.NAME)
        module = ir.Module.create(loc=loc)
        arg_types = [
            irbuild.tensor_type(spec.lhs_shape, spec.lhs_dtype),
            irbuild.tensor_type(spec.rhs_shape, spec.rhs_dtype),
        ]
        out_type = irbuild.tensor_type(spec.out_shape, spec.out_dtype)
        with ir.InsertionPoint(module.body):
            main = _function("main", arg_types, out_type, loc=loc)
            if form == "composite":
                impl = _function(DECOMPOSITION_NAME, arg_types, out_type, loc=loc, private=True)
                with ir.InsertionPoint(impl.entry_block):
                    func.ReturnOp([emit_default_lowering(spec, *impl.arguments, loc=loc)], loc=loc)
                with ir.InsertionPoint(main.entry_block):
                    result = composite.emit_composite(spec, *main.arguments, DECOMPOSITION_NAME, loc=loc)
                    func.ReturnOp([result], loc=loc)
            else:
                with ir.InsertionPoint(main.entry_block):
                    func.ReturnOp([emit_default_lowering(spec, *main.arguments, loc=loc)], loc=loc)
        module.operation.verify()
    return module


def _function(
    name: str,
    arg_types: list[ir.Type],
    out_type: ir.Type,
    *,
    loc: ir.Location,
    private: bool = False,
) -> func.FuncOp:
    function = func.FuncOp(name, ir.FunctionType.get(arg_types, [out_type]), loc=loc)
    if private:
        function.attributes["sym_visibility"] = ir.StringAttr.get("private")
    function.add_entry_block()
    return function
