"""`localconv-recognize-jax-patches`: replaces JAX's identity-kernel patch convolution.

JAX lowers `conv_general_dilated_patches` (and so `conv_general_dilated_local`) to a
`stablehlo.convolution` with `feature_group_count = C` whose kernel is a one-hot identity built
by an iota/compare/convert/broadcast/reshape chain. This pass evaluates the kernel exactly
(`constant_eval`) and, only when it is precisely the one-hot kernel JAX builds for that window,
replaces the convolution by localconv's patch gather followed by a transpose into the
convolution's output layout. A `dot_general` consuming it is then fused with the gather by
`localconv-fold-transposes`. Any other kernel (scaled, near-identity, permuted, or not a
constant expression) is left untouched.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo

from localconv import irbuild
from localconv.patch_gather import emit_patches
from localconv.spec import PatchSpec

from . import constant_eval
from .pass_base import ModulePass, apply_patterns


@dataclasses.dataclass(frozen=True)
class RecognizeJaxPatches(ModulePass):
    """Turns identity-kernel convolutions into patch gathers.

      %k = ... iota / compare / convert / broadcast_in_dim / reshape (one-hot kernel) ...
      %p = stablehlo.convolution(%x, %k) ... {feature_group_count = C : i64, ...}
    ==>
      %t = stablehlo.transpose %x ...   %s = stablehlo.slice ... (one per window offset)
      %c = stablehlo.concatenate ...    %r = stablehlo.reshape %c ...
      %p = stablehlo.transpose %r ...   (the convolution's output layout)
    """

    name = "localconv-recognize-jax-patches"
    summary = "Replace JAX's identity-kernel patch convolutions by a patch gather"

    def run(self, module: ir.Operation) -> None:
        apply_patterns(module, [(stablehlo.ConvolutionOp, _rewrite_patch_convolution)])


def patch_spec_of(op: ir.Operation | stablehlo.ConvolutionOp) -> PatchSpec | None:
    """The patch gather a convolution computes, if its kernel is JAX's exact one-hot kernel."""
    conv = op if isinstance(op, stablehlo.ConvolutionOp) else op.opview
    attrs = conv.operation.attributes
    dims = stablehlo.ConvDimensionNumbers(attrs["dimension_numbers"])
    lhs_type = ir.RankedTensorType(conv.lhs.type)
    kernel_type = ir.RankedTensorType(conv.rhs.type)
    result_type = ir.RankedTensorType(conv.result.type)
    if not (lhs_type.has_static_shape and kernel_type.has_static_shape):
        return None
    if not lhs_type.element_type == kernel_type.element_type == result_type.element_type:
        return None
    n = len(dims.input_spatial_dimensions)
    features = lhs_type.shape[dims.input_feature_dimension]
    filter_shape = tuple(kernel_type.shape[d] for d in dims.kernel_spatial_dimensions)
    window = math.prod(filter_shape)
    if (
        _int_attr(attrs, "batch_group_count", 1) != 1
        or _int_attr(attrs, "feature_group_count", 1) != features
        or features < 1
        or kernel_type.shape[dims.kernel_input_feature_dimension] != 1
        or kernel_type.shape[dims.kernel_output_feature_dimension] != features * window
        or any(_array_attr(attrs, "window_reversal", n, False))
    ):
        return None
    try:
        dtype = irbuild.dtype_name(lhs_type.element_type)
    except ValueError:
        return None
    padding = ((0, 0),) * n
    if "padding" in attrs:
        flat = [int(v) for v in ir.DenseIntElementsAttr(attrs["padding"])]
        padding = tuple((flat[2 * i], flat[2 * i + 1]) for i in range(n))
    patch = PatchSpec(
        lhs_shape=tuple(lhs_type.shape),
        lhs_perm=(
            dims.input_batch_dimension,
            dims.input_feature_dimension,
            *dims.input_spatial_dimensions,
        ),
        window_strides=tuple(_array_attr(attrs, "window_strides", n, 1)),
        padding=padding,
        filter_shape=filter_shape,
        lhs_dilation=tuple(_array_attr(attrs, "lhs_dilation", n, 1)),
        rhs_dilation=tuple(_array_attr(attrs, "rhs_dilation", n, 1)),
        dtype=dtype,
    )
    expected_out = [0] * (n + 2)
    for position, extent in zip(
        (dims.output_batch_dimension, dims.output_feature_dimension, *dims.output_spatial_dimensions),
        (patch.batch, patch.patch_size, *patch.out_spatial),
        strict=True,
    ):
        expected_out[position] = extent
    if list(result_type.shape) != expected_out:
        return None
    kernel = constant_eval.evaluate(conv.rhs)
    if kernel is None or not np.array_equal(kernel, _one_hot_kernel(features, filter_shape, dims)):
        return None
    return patch


def _one_hot_kernel(
    features: int, filter_shape: tuple[int, ...], dims: stablehlo.ConvDimensionNumbers
) -> np.ndarray:
    """JAX's kernel: output feature c * W + f selects window offset f of input feature c."""
    window = math.prod(filter_shape)
    eye = np.broadcast_to(np.eye(window, dtype=np.float64), (features, window, window))
    canonical = eye.reshape(features * window, 1, *filter_shape)
    positions = [
        dims.kernel_output_feature_dimension,
        dims.kernel_input_feature_dimension,
        *dims.kernel_spatial_dimensions,
    ]
    return np.moveaxis(canonical, list(range(len(positions))), positions)


def _rewrite_patch_convolution(op: ir.Operation, rewriter: object) -> bool:
    patch = patch_spec_of(op)
    if patch is None:
        return True
    dims = stablehlo.ConvDimensionNumbers(op.attributes["dimension_numbers"])
    n = len(patch.filter_shape)
    source_of = {dims.output_batch_dimension: n, dims.output_feature_dimension: n + 1}
    source_of.update({p: i for i, p in enumerate(dims.output_spatial_dimensions)})
    with rewriter.ip, op.location:
        patches = emit_patches(patch, op.operands[0], loc=op.location)
        result = irbuild.transpose(patches, [source_of[p] for p in range(n + 2)], loc=op.location)
    rewriter.replace_op(op, [result])
    return False


def _int_attr(attrs: ir.OpAttributeMap, name: str, default: int) -> int:
    return ir.IntegerAttr(attrs[name]).value if name in attrs else default


def _array_attr(attrs: ir.OpAttributeMap, name: str, count: int, default: object) -> list:
    if name not in attrs:
        return [default] * count
    attr = attrs[name]
    return list(
        ir.DenseBoolArrayAttr(attr) if isinstance(attr, ir.DenseBoolArrayAttr) else ir.DenseI64ArrayAttr(attr)
    )
