"""localconv as JAX primitives: jit, grad (any order), vmap, export and sharding.

`conv_local_p` is the unshared convolution. Its MLIR lowering builds the same composite
`lower()` builds, runs the default pipeline on it in JAX's own MLIR context, and calls the
result as a private function of JAX's module, so jit, export and the eager API all run the
optimized IR. It is bilinear; its transposes are written with two more primitives lowered by
the same emitter, so no gradient contains an identity-kernel convolution:

- `patches_p`: the patch gather [out spatial..., N, K] of lhs;
- `patches_transpose_p`: its transpose, the scatter-add of patch gradients back onto lhs
  (pads and adds per window offset, then a strided slice that undoes padding and dilation).

    d lhs = patches_transpose(dot_general(ct, rhs))     (contract O, batch over positions)
    d rhs = dot_general(patches(lhs), ct)                (contract N, batch over positions)
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend import core
from jax.interpreters import ad, batching
from jax.interpreters import mlir as jax_mlir
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import func

from . import emitter
from .params import DimensionNumbers
from .patch_gather import emit_patches, emit_patches_transpose
from .spec import ConvSpec, PatchSpec

conv_local_p = core.Primitive("localconv_conv_general_dilated_local")
patches_p = core.Primitive("localconv_patches")
patches_transpose_p = core.Primitive("localconv_patches_transpose")


def conv_params(spec: ConvSpec) -> dict[str, Any]:
    """The primitive's parameters: the canonical, hashable fields of `spec` without operands."""
    return dict(
        window_strides=spec.window_strides,
        padding=spec.padding,
        filter_shape=spec.filter_shape,
        lhs_dilation=spec.lhs_dilation,
        rhs_dilation=spec.rhs_dilation,
        dimension_numbers=tuple(spec.dimension_numbers),
        precision=spec.precision,
    )


def spec_from_params(lhs: Any, rhs: Any, params: dict[str, Any]) -> ConvSpec:
    """The ConvSpec of operands with `.shape`/`.dtype` (avals or arrays) and primitive params."""
    return ConvSpec(
        lhs_shape=tuple(lhs.shape),
        lhs_dtype=np.dtype(lhs.dtype).name,
        rhs_shape=tuple(rhs.shape),
        rhs_dtype=np.dtype(rhs.dtype).name,
        window_strides=params["window_strides"],
        padding=params["padding"],
        filter_shape=params["filter_shape"],
        lhs_dilation=params["lhs_dilation"],
        rhs_dilation=params["rhs_dilation"],
        dimension_numbers=DimensionNumbers(*params["dimension_numbers"]),
        precision=params["precision"],
    )


def bind_conv(lhs: Any, rhs: Any, spec: ConvSpec) -> Any:
    """Applies the unshared convolution `spec` to (lhs, rhs) under any JAX transformation."""
    return conv_local_p.bind(lhs, rhs, **conv_params(spec))


# --- the convolution ---------------------------------------------------------------------


def _conv_abstract_eval(lhs, rhs, **params):
    spec = spec_from_params(lhs, rhs, params)
    return jax.core.ShapedArray(spec.out_shape, jax.numpy.dtype(spec.out_dtype))


def _conv_lowering(ctx, lhs, rhs, **params):
    from localconv.lowering import run_pipeline
    from localconv.lowering.pipelines import default_pipeline

    spec = spec_from_params(*ctx.avals_in, params)
    module_context = ctx.module_context
    module = emitter.build_module(spec, "composite", context=module_context.context, loc=ir.Location.current)
    platform = module_context.platforms[0] if module_context.platforms else "cpu"
    run_pipeline(module, default_pipeline("gpu" if platform in ("cuda", "rocm", "gpu") else platform))
    main = next(op for op in module.body.operations if op.operation.name == "func.func")
    main.attributes["sym_name"] = ir.StringAttr.get("localconv_conv_general_dilated_local")
    main.attributes["sym_visibility"] = ir.StringAttr.get("private")
    clone = main.operation.clone(ip=module_context.ip)
    name = module_context.symbol_table.insert(clone)
    out_type = jax_mlir.aval_to_ir_type(module_context, ctx.avals_out[0])
    call = func.CallOp([out_type], ir.FlatSymbolRefAttr.get(name.value), [lhs, rhs])
    return call.results


def _conv_transpose_lhs(ct, lhs, rhs, **params):
    spec = spec_from_params(lhs.aval, rhs, params)
    perms = spec.dimension_numbers
    kernel = rhs.astype(spec.out_dtype)
    grad_patches = lax.dot_general(
        ct,
        kernel,
        (([perms.out[1]], [perms.rhs[0]]), (list(perms.out[2:]), list(perms.rhs[2:]))),
        precision=_lax_precision(spec),
    )
    return patches_transpose_p.bind(grad_patches, **_patch_params(spec))


def _conv_transpose_rhs(ct, lhs, rhs, **params):
    spec = spec_from_params(lhs, rhs.aval, params)
    perms = spec.dimension_numbers
    n = spec.num_spatial
    patches = patches_p.bind(lhs, **_patch_params(spec))
    grad = lax.dot_general(
        patches,
        ct,
        (([n], [perms.out[0]]), (list(range(n)), list(perms.out[2:]))),
        precision=_lax_precision(spec),
    )
    source_of = {perms.rhs[1]: n, perms.rhs[0]: n + 1}
    source_of.update({perms.rhs[2 + i]: i for i in range(n)})
    grad = lax.transpose(grad, [source_of[p] for p in range(n + 2)])
    return _cast_cotangent(grad, spec.rhs_dtype)


def _conv_batch(axis_data, args, dims, **params):
    lhs, rhs = args
    lhs_dim, rhs_dim = dims
    if rhs_dim is None:
        return _batch_into_n(lhs, lhs_dim, rhs, params)
    # Per-example weights: one convolution per example, as a loop (no block-diagonal blowup).
    lhs = jax.numpy.moveaxis(lhs, lhs_dim, 0) if lhs_dim is not None else lhs
    rhs = jax.numpy.moveaxis(rhs, rhs_dim, 0)
    if lhs_dim is None:
        out = lax.map(lambda w: conv_local_p.bind(lhs, w, **params), rhs)
    else:
        out = lax.map(lambda xw: conv_local_p.bind(xw[0], xw[1], **params), (lhs, rhs))
    return out, 0


def _batch_into_n(lhs, lhs_dim, rhs, params):
    """Folds the vmapped axis of lhs into its batch dim N (rhs is shared)."""
    perms = DimensionNumbers(*params["dimension_numbers"])
    batch_position = perms.lhs[0]
    lhs = jax.numpy.moveaxis(lhs, lhs_dim, batch_position)
    size = lhs.shape[batch_position]
    shape = list(lhs.shape)
    shape[batch_position : batch_position + 2] = [size * shape[batch_position + 1]]
    out = conv_local_p.bind(lhs.reshape(shape), rhs, **params)
    out_batch = perms.out[0]
    out_shape = list(out.shape)
    out_shape[out_batch : out_batch + 1] = [size, out.shape[out_batch] // size if size else 0]
    return out.reshape(out_shape), out_batch


# --- the patch gather and its transpose ---------------------------------------------------


def _patch_params(spec: ConvSpec) -> dict[str, Any]:
    patch = spec.patch_spec
    return dict(
        lhs_shape=patch.lhs_shape,
        lhs_perm=patch.lhs_perm,
        window_strides=patch.window_strides,
        padding=patch.padding,
        filter_shape=patch.filter_shape,
        lhs_dilation=patch.lhs_dilation,
        rhs_dilation=patch.rhs_dilation,
        dtype=patch.dtype,
        lhs_dtype=spec.lhs_dtype,
    )


def _patch_spec(params: dict[str, Any]) -> PatchSpec:
    return PatchSpec(**{k: v for k, v in params.items() if k != "lhs_dtype"})


def _patch_shape(patch: PatchSpec) -> tuple[int, ...]:
    return (*patch.out_spatial, patch.batch, patch.patch_size)


def _patches_abstract_eval(lhs, **params):
    patch = _patch_spec(params)
    return jax.core.ShapedArray(_patch_shape(patch), jax.numpy.dtype(patch.dtype))


def _patches_transpose_abstract_eval(grad, **params):
    return jax.core.ShapedArray(params["lhs_shape"], jax.numpy.dtype(params["lhs_dtype"]))


def _patches_lowering(ctx, lhs, **params):
    loc = ir.Location.current
    return [emit_patches(_patch_spec(params), lhs, loc=loc)]


def _patches_transpose_lowering(ctx, grad, **params):
    loc = ir.Location.current
    return [emit_patches_transpose(_patch_spec(params), grad, params["lhs_dtype"], loc=loc)]


def _patches_transpose_rule(ct, **params):
    return [patches_transpose_p.bind(ct, **params)]


def _patches_transpose_transpose_rule(ct, **params):
    return [patches_p.bind(_cast_cotangent(ct, params["lhs_dtype"]), **params)]


def _cast_cotangent(value, dtype: str):
    """A cotangent cast to a primal's dtype: a real primal takes the real part, as in JAX."""
    target = jax.numpy.dtype(dtype)
    if jax.numpy.iscomplexobj(value) and not jax.numpy.issubdtype(target, np.complexfloating):
        value = jax.numpy.real(value)
    return value.astype(target)


def _patches_batch(args, dims, **params):
    (lhs,), (dim,) = args, dims
    return _batch_linear(patches_p, lhs, dim, params, params["lhs_perm"][0], len(params["filter_shape"]))


def _patches_transpose_batch(args, dims, **params):
    (grad,), (dim,) = args, dims
    n = len(params["filter_shape"])
    return _batch_linear(patches_transpose_p, grad, dim, params, n, params["lhs_perm"][0])


def _batch_linear(prim, value, dim, params, in_batch, out_batch):
    """Folds a vmapped axis into the N dim of a linear patch primitive."""
    value = jax.numpy.moveaxis(value, dim, in_batch)
    size = value.shape[in_batch]
    shape = list(value.shape)
    shape[in_batch : in_batch + 2] = [size * shape[in_batch + 1]]
    lhs_shape = list(params["lhs_shape"])
    lhs_shape[params["lhs_perm"][0]] *= size
    out = prim.bind(value.reshape(shape), **{**params, "lhs_shape": tuple(lhs_shape)})
    out_shape = list(out.shape)
    out_shape[out_batch : out_batch + 1] = [size, out.shape[out_batch] // size if size else 0]
    return out.reshape(out_shape), out_batch


def _lax_precision(spec: ConvSpec):
    return tuple(lax.Precision[p] for p in spec.precision)


def _jit_impl(prim):
    @functools.lru_cache(maxsize=512)
    def compiled(params_key):
        params = dict(params_key)
        return jax.jit(lambda *args: prim.bind(*args, **params))

    def impl(*args, **params):
        return compiled(tuple(sorted(params.items())))(*args)

    return impl


def _register() -> None:
    conv_local_p.def_impl(_jit_impl(conv_local_p))
    conv_local_p.def_abstract_eval(_conv_abstract_eval)
    jax_mlir.register_lowering(conv_local_p, _conv_lowering)
    ad.defbilinear(conv_local_p, _conv_transpose_lhs, _conv_transpose_rhs)
    batching.fancy_primitive_batchers[conv_local_p] = _conv_batch

    patches_p.def_impl(_jit_impl(patches_p))
    patches_p.def_abstract_eval(_patches_abstract_eval)
    jax_mlir.register_lowering(patches_p, _patches_lowering)
    ad.deflinear(patches_p, _patches_transpose_rule)
    batching.primitive_batchers[patches_p] = _patches_batch

    patches_transpose_p.def_impl(_jit_impl(patches_transpose_p))
    patches_transpose_p.def_abstract_eval(_patches_transpose_abstract_eval)
    jax_mlir.register_lowering(patches_transpose_p, _patches_transpose_lowering)
    ad.deflinear(patches_transpose_p, _patches_transpose_transpose_rule)
    batching.primitive_batchers[patches_transpose_p] = _patches_transpose_batch


_register()
