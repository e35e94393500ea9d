"""A StableHLO module's `@main` as a JAX primitive, so the runner compiles and calls it through JAX.

The runner compiles each module as `jax.jit` of one call of `module_call_p`, lowered on the
device, and keeps the ahead-of-time `jax.stages.Compiled`. Its calls go through JAX's C++
dispatch: 4.7 us per call on the 2-core VM, against 10 us through the Python binding of XLA's
`execute` and the runner's own argument checks; on an H200 host a tiny layer took 46 us per
queued call that way against 62, and such dispatch bounds every small layer's throughput on a
GPU. The program XLA compiles is the module's: JAX's `@main` only calls it (XLA inlines the
call), with the caller's XLA options; JAX's persistent compilation cache applies where it is on.
As for any `jax.jit` program, XLA's HLO text begins with tables of the Python frames that
compiled it, and its ops' metadata point into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.extend import core
from jax.interpreters import mlir as jax_mlir
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import func

module_call_p = core.Primitive("localconv_module_call")
module_call_p.multiple_results = True


def compile_module_call(
    text: str,
    input_types: Sequence[tuple[tuple[int, ...], np.dtype]],
    output_types: Sequence[tuple[tuple[int, ...], np.dtype]],
    device: Any,
    compiler_options: Mapping[str, str] | None,
) -> jax.stages.Compiled:
    """The module in `text` (its `@main` takes `input_types` and returns `output_types`, as
    (shape, dtype) pairs) compiled for `device` with `compiler_options`.

    Every argument is kept (`keep_unused`), so the program takes what `@main` declares; XLA
    names it `jit_main`.
    """
    out_avals = tuple(jax.core.ShapedArray(shape, dtype) for shape, dtype in output_types)

    def main(*args):
        return module_call_p.bind(*args, text=text, out_avals=out_avals)

    call = jax.jit(main, keep_unused=True)
    sharding = jax.sharding.SingleDeviceSharding(device)
    arguments = [jax.ShapeDtypeStruct(shape, dtype, sharding=sharding) for shape, dtype in input_types]
    return call.lower(*arguments).compile(compiler_options=dict(compiler_options or {}) or None)


@module_call_p.def_abstract_eval
def _abstract_eval(*args, text: str, out_avals: tuple) -> list:
    return list(out_avals)


def _lowering(ctx, *args, text: str, out_avals: tuple):
    module_context = ctx.module_context
    module = ir.Module.parse(text, context=module_context.context)
    name = jax_mlir.merge_mlir_modules(
        module_context.module, "localconv_main", module, dst_symtab=module_context.symbol_table
    )
    result_types = [jax_mlir.aval_to_ir_type(module_context, aval) for aval in ctx.avals_out]
    return func.CallOp(result_types, ir.FlatSymbolRefAttr.get(name), list(args)).results


jax_mlir.register_lowering(module_call_p, _lowering)
