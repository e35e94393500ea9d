"""A Flax linen layer for locally connected convolutions that runs localconv's op.

`ConvLocal` is `flax.linen.ConvLocal` with the convolution done by
`localconv.conv_general_dilated_local` instead of `jax.lax.conv_general_dilated_local`: the
same fields, the same parameters (names, shapes, initializers), the same padding modes and
batch-dim handling, so a model swaps the class and keeps its checkpoints. Needs the optional
extra: `pip install 'localconv[flax]'`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax.linen.linear import canonicalize_padding
from jax import lax

from .api import conv_general_dilated_local


class ConvLocal(nn.ConvLocal):
    """`flax.linen.ConvLocal` (unshared weights, channels-last) computed by localconv."""

    @nn.compact
    def __call__(self, inputs: jax.Array) -> jax.Array:
        """The layer applied to `inputs` of shape (*batch_dims, spatial..., features)."""
        kernel_size = (self.kernel_size,) if isinstance(self.kernel_size, int) else tuple(self.kernel_size)
        rank = len(kernel_size)

        def per_dim(value) -> tuple[int, ...]:
            value = 1 if value is None else value
            return (value,) * rank if isinstance(value, int) else tuple(value)

        strides = per_dim(self.strides)
        input_dilation = per_dim(self.input_dilation)
        kernel_dilation = per_dim(self.kernel_dilation)
        if self.feature_group_count != 1:
            raise NotImplementedError(
                "`lax.conv_general_dilated_local` does not support "
                f"`feature_group_count != 1`, got `{self.feature_group_count}`."
            )

        batch_dims = inputs.ndim - (rank + 1)
        batch_shape = inputs.shape[:batch_dims]
        if batch_dims != 1:
            inputs = jnp.reshape(inputs, (-1, *inputs.shape[batch_dims:]))
        inputs, padding = _pad_for_mode(
            inputs, canonicalize_padding(self.padding, rank), kernel_size, kernel_dilation
        )

        dimension_numbers = _channels_last(inputs.ndim)
        in_features = inputs.shape[-1]
        # Shapes (and shape errors) exactly as Flax's layer computes them, so the two agree.
        out_shape = jax.eval_shape(
            lambda lhs, rhs: lax.conv_general_dilated(
                lhs,
                rhs,
                strides,
                padding,
                lhs_dilation=input_dilation,
                rhs_dilation=kernel_dilation,
                dimension_numbers=dimension_numbers,
            ),
            inputs,
            jax.ShapeDtypeStruct((*kernel_size, in_features, self.features), inputs.dtype),
        ).shape
        kernel_shape = (*out_shape[1:-1], int(np.prod(kernel_size)) * in_features, self.features)
        if self.mask is not None and self.mask.shape != kernel_shape:
            raise ValueError(
                f"Mask needs to have the same shape as weights. Shapes are: {self.mask.shape}, {kernel_shape}"
            )
        kernel = self.param("kernel", self.kernel_init, kernel_shape, self.param_dtype)
        if self.mask is not None:
            kernel *= self.mask
        bias = self.param("bias", self.bias_init, out_shape[1:], self.param_dtype) if self.use_bias else None
        inputs, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)

        y = conv_general_dilated_local(
            inputs,
            kernel,
            strides,
            padding,
            kernel_size,
            input_dilation,
            kernel_dilation,
            dimension_numbers,
            self.precision,
        )
        if bias is not None:
            y += bias.reshape((1, *bias.shape))
        if batch_dims != 1:
            y = jnp.reshape(y, (*batch_shape, *y.shape[1:]))
        return y


def _channels_last(ndim: int) -> lax.ConvDimensionNumbers:
    """Flax's dimension numbers: lhs/out (N, spatial..., C), rhs (spatial..., I, O)."""
    lhs = (0, ndim - 1, *range(1, ndim - 1))
    return lax.ConvDimensionNumbers(lhs, (ndim - 1, ndim - 2, *range(ndim - 2)), lhs)


def _pad_for_mode(inputs, padding, kernel_size, kernel_dilation):
    """(inputs, lax padding): Flax's CIRCULAR, REFLECT and CAUSAL modes pad the input first."""
    if padding in ("CIRCULAR", "REFLECT"):
        dilated = [(k - 1) * d + 1 for k, d in zip(kernel_size, kernel_dilation, strict=True)]
        pads = [(0, 0), *(((k - 1) // 2, k // 2) for k in dilated), (0, 0)]
        mode = {"CIRCULAR": "wrap", "REFLECT": "reflect"}[padding]
        return jnp.pad(inputs, pads, mode=mode), "VALID"
    if padding == "CAUSAL":
        if len(kernel_size) != 1:
            raise ValueError("Causal padding is only implemented for 1D convolutions.")
        left = kernel_dilation[0] * (kernel_size[0] - 1)
        return jnp.pad(inputs, [(0, 0), (left, 0), (0, 0)]), "VALID"
    return inputs, padding
