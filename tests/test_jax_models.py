"""The default pipeline on JAX's own lowerings: local layers are recognized, real convs are not.

JAX lowers `conv_general_dilated_local` (and `conv_general_dilated_patches`) to a
`stablehlo.convolution` with a one-hot kernel. Run on `jax.jit(f).lower(...)`'s module, the
default pipeline must leave no such convolution behind and still compute what `jax.jit(f)`
computes, for single layers, for a small two-layer locally connected model with pytree
parameters, and at an op count that does not grow with the spatial size. A convolution whose
kernel is not exactly that one-hot kernel (a function argument, a constant 2.0, an almost
one-hot kernel) must be left alone.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from jax import lax
from jaxlib.mlir import ir
from test_pipeline_parity import LocalConv, assert_close, local_convs

import localconv
from localconv import irbuild, runner
from localconv.lowering import run_pipeline

CONVOLUTION = "stablehlo.convolution"


def jax_module(f: Callable[..., Any], *args: Any) -> ir.Module:
    """`jax.jit(f)`'s StableHLO for `args`, parsed into a fresh localconv context."""
    return ir.Module.parse(jax.jit(f).lower(*args).as_text(), context=irbuild.make_context())


def op_counts(module: ir.Module) -> collections.Counter[str]:
    """How many ops of each name the module holds (the module op itself included)."""
    counts: collections.Counter[str] = collections.Counter()

    def visit(op: ir.Operation) -> ir.WalkResult:
        counts[op.name] += 1
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return counts


def run_module(module: ir.Module, *args: Any) -> list[jax.Array]:
    """Executes the module's @main through XLA on the flattened `args`."""
    leaves = jax.tree_util.tree_leaves(args)
    inputs, _ = runner.main_signature(module)
    assert [s.shape for s in inputs] == [np.shape(a) for a in leaves]
    return runner.compile_module(module)(*leaves)


@pytest.mark.xla
@settings(max_examples=40, derandomize=True, deadline=None)
@given(case=local_convs())
def test_jax_local_conv_is_recognized_and_matches_jax(case: LocalConv):
    lhs, rhs = case.operands()
    module = jax_module(case.jax_local, lhs, rhs)
    assert op_counts(module)[CONVOLUTION] == 1, "JAX's lowering changed: expected one patch convolution"
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 0
    (actual,) = run_module(module, lhs, rhs)
    assert_close(actual, jax.jit(case.jax_local)(lhs, rhs), case.contraction_length, "default")


@pytest.mark.xla
@settings(max_examples=40, derandomize=True, deadline=None)
@given(case=local_convs())
def test_jax_patches_are_recognized_and_match_jax(case: LocalConv):
    lhs, _ = case.operands()
    module = jax_module(case.jax_patches, lhs)
    assert op_counts(module)[CONVOLUTION] == 1, "JAX's lowering changed: expected one patch convolution"
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 0
    (actual,) = run_module(module, lhs)
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(jax.jit(case.jax_patches)(lhs)))


def locally_connected(x: jax.Array, layer: dict[str, jax.Array], layout: str, **conv: Any) -> jax.Array:
    """One locally connected layer (unshared kernel plus per-channel bias) in `layout`."""
    specs = ("NHWC", "HWIO", "NHWC") if layout == "NHWC" else ("NCHW", "OIHW", "NCHW")
    y = lax.conv_general_dilated_local(x, layer["kernel"], dimension_numbers=specs, **conv)
    bias = layer["bias"] if layout == "NHWC" else layer["bias"][:, None, None]
    return y + bias


def two_layer_model(layout: str) -> Callable[[dict[str, Any], jax.Array], jax.Array]:
    """3x3 'SAME' layer, relu, then a 2x2 stride-2 layer (a tiling window), each with bias."""

    def model(params: dict[str, Any], x: jax.Array) -> jax.Array:
        hidden = locally_connected(
            x, params["conv1"], layout, window_strides=(1, 1), padding="SAME", filter_shape=(3, 3)
        )
        hidden = jax.nn.relu(hidden)
        return locally_connected(
            hidden, params["conv2"], layout, window_strides=(2, 2), padding="VALID", filter_shape=(2, 2)
        )

    return model


def model_inputs(layout: str, size: int, seed: int = 0) -> tuple[dict[str, Any], np.ndarray]:
    """Parameters and an input batch: 3 -> 5 -> 4 channels, on a size x size image."""
    rng = np.random.default_rng(seed)
    batch, c0, c1, c2 = 2, 3, 5, 4
    half = size // 2

    def kernel(out_size: int, fan_in: int, out_channels: int) -> np.ndarray:
        shape = (out_size, out_size, fan_in, out_channels)
        if layout == "NCHW":
            shape = (out_channels, fan_in, out_size, out_size)
        return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)

    params = {
        "conv1": {"kernel": kernel(size, c0 * 9, c1), "bias": rng.standard_normal(c1).astype(np.float32)},
        "conv2": {"kernel": kernel(half, c1 * 4, c2), "bias": rng.standard_normal(c2).astype(np.float32)},
    }
    x_shape = (batch, size, size, c0) if layout == "NHWC" else (batch, c0, size, size)
    return params, rng.standard_normal(x_shape).astype(np.float32)


@pytest.mark.xla
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_two_layer_model_is_recognized_and_matches_jax(layout: str):
    model = two_layer_model(layout)
    params, x = model_inputs(layout, size=8)
    module = jax_module(model, params, x)
    assert op_counts(module)[CONVOLUTION] == 2, "JAX's lowering changed: expected two patch convolutions"
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 0
    (actual,) = run_module(module, params, x)
    expected = np.asarray(jax.jit(model)(params, x))
    assert actual.shape == expected.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def one_hot_kernel(channels: int, window: tuple[int, int]) -> np.ndarray:
    """JAX's patch kernel for OIHW with feature_group_count = channels: [C * W, 1, kh, kw]."""
    size = math.prod(window)
    eye = np.broadcast_to(np.eye(size, dtype=np.float32), (channels, size, size))
    return eye.reshape(channels * size, 1, *window).copy()


def near_one_hot() -> np.ndarray:
    kernel = one_hot_kernel(2, (2, 2))
    kernel[5, 0, 0, 1] = np.float32(1 + 2**-20)
    return kernel


def permuted_one_hot() -> np.ndarray:
    """One-hot, but window offsets 0 and 1 of every channel swapped: a different gather."""
    kernel = one_hot_kernel(2, (2, 2))
    kernel[[0, 1, 4, 5]] = kernel[[1, 0, 5, 4]]
    return kernel


def one_hot_plus_extra_tap() -> np.ndarray:
    kernel = one_hot_kernel(2, (2, 2))
    kernel[3, 0, 0, 0] = 1.0
    return kernel


CONSTANT_KERNELS = {
    "full-2": lambda: np.full((8, 1, 2, 2), 2.0, np.float32),
    "near-one-hot": near_one_hot,
    "permuted-one-hot": permuted_one_hot,
    "one-hot-plus-extra-tap": one_hot_plus_extra_tap,
}


def grouped_conv(kernel: Any) -> Callable[[jax.Array], jax.Array]:
    """A 2x2, feature_group_count = 2 convolution with `kernel` captured as a constant."""

    def f(x: jax.Array) -> jax.Array:
        return lax.conv_general_dilated(x, jnp.asarray(kernel), (1, 1), "VALID", feature_group_count=2)

    return f


@pytest.mark.xla
@pytest.mark.parametrize("name", sorted(CONSTANT_KERNELS))
def test_constant_non_identity_kernel_is_not_rewritten(name: str):
    f = grouped_conv(CONSTANT_KERNELS[name]())
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 4)).astype(np.float32)
    module = jax_module(f, x)
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 1
    (actual,) = run_module(module, x)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(jax.jit(f)(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.xla
def test_full_constant_kernel_of_an_ungrouped_conv_is_not_rewritten():
    def f(x: jax.Array) -> jax.Array:
        return lax.conv_general_dilated(x, jnp.full((4, 3, 3, 3), 2.0, jnp.float32), (1, 1), "SAME")

    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    module = jax_module(f, x)
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 1
    (actual,) = run_module(module, x)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(jax.jit(f)(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.xla
def test_exact_one_hot_constant_kernel_is_recognized():
    """The contrast to the cases above: the same conv with the exact kernel is a patch gather."""
    f = grouped_conv(one_hot_kernel(2, (2, 2)))
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 4)).astype(np.float32)
    module = jax_module(f, x)
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 0
    (actual,) = run_module(module, x)
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(jax.jit(f)(x)))


def broadcast_in_dim(operand: np.ndarray, shape: tuple[int, ...], dims: list[int]) -> np.ndarray:
    """StableHLO's broadcast_in_dim from its definition: operand dim d becomes result dim dims[d]."""
    moved = np.transpose(operand, np.argsort(dims))
    expanded = moved.reshape([operand.shape[dims.index(d)] if d in dims else 1 for d in range(len(shape))])
    return np.broadcast_to(expanded, shape)


@pytest.mark.xla
def test_kernel_of_a_transposing_broadcast_is_judged_by_its_value():
    """A one-hot kernel whose window is transposed by broadcast_in_dim (dims not increasing).

    JAX never emits such a broadcast, but StableHLO allows it: read without the transposition,
    the kernel looks exactly like JAX's one-hot kernel, while it really gathers the 2x2 window
    in column-major order. It must not be rewritten into the row-major patch gather.
    """
    table = np.eye(4, dtype=np.float32).reshape(2, 2, 4)  # table[a, b, f] = (f == 2a + b)
    dims = [3, 2, 0]
    kernel = broadcast_in_dim(table, (4, 1, 2, 2), dims)  # kernel[f, 0, i, j] = table[j, i, f]
    assert not np.array_equal(kernel, np.eye(4, dtype=np.float32).reshape(4, 1, 2, 2))
    values = ", ".join(f"{v:.1f}" for v in table.ravel())
    text = f"""
    func.func @main(%x: tensor<1x1x3x3xf32>) -> tensor<1x4x2x2xf32> {{
      %flat = stablehlo.constant dense<[{values}]> : tensor<16xf32>
      %table = stablehlo.reshape %flat : (tensor<16xf32>) -> tensor<2x2x4xf32>
      %kernel = stablehlo.broadcast_in_dim %table, dims = {dims}
        : (tensor<2x2x4xf32>) -> tensor<4x1x2x2xf32>
      %y = stablehlo.convolution(%x, %kernel)
        dim_numbers = [b, f, 0, 1]x[o, i, 0, 1]->[b, f, 0, 1], window = {{stride = [1, 1]}}
        {{batch_group_count = 1 : i64, feature_group_count = 1 : i64}}
        : (tensor<1x1x3x3xf32>, tensor<4x1x2x2xf32>) -> tensor<1x4x2x2xf32>
      return %y : tensor<1x4x2x2xf32>
    }}
    """
    module = ir.Module.parse(text, context=irbuild.make_context())
    run_pipeline(module, "default")
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    (actual,) = run_module(module, x)
    expected = lax.conv_general_dilated(x, kernel, (1, 1), "VALID")
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))
    assert op_counts(module)[CONVOLUTION] == 1


@pytest.mark.xla
@pytest.mark.parametrize("feature_group_count", [1, 2])
def test_convolution_with_kernel_argument_is_not_rewritten(feature_group_count: int):
    def f(x: jax.Array, w: jax.Array) -> jax.Array:
        return lax.conv_general_dilated(x, w, (1, 1), "VALID", feature_group_count=feature_group_count)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 4)).astype(np.float32)
    # An exact one-hot kernel passed at run time: its value is unknown when compiling.
    w = one_hot_kernel(2, (2, 2)) if feature_group_count == 2 else rng.standard_normal((3, 2, 2, 2))
    w = w.astype(np.float32)
    module = jax_module(f, x, w)
    run_pipeline(module, "default")
    assert op_counts(module)[CONVOLUTION] == 1
    (actual,) = run_module(module, x, w)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(jax.jit(f)(x, w)), rtol=1e-5, atol=1e-5)


def _stack_tiles(a: jax.Array, order: list[tuple[int, int]]) -> jax.Array:
    return jnp.stack([a[i::2, j : j + 4 : 2] for i, j in order], axis=-1)


# Programs with no convolution, built from the ops the generic rewrites match (pad, slice,
# concatenate of reshaped slices, transposes into dot_general): values must not change.
LOOKALIKE_PROGRAMS = {
    "interior-pad-then-strided-slice": lambda a: lax.slice(
        lax.pad(a, 0.0, ((1, 2, 1), (0, 0, 0), (2, -1, 0))), (1, 0, 2), (12, 5, 5), (2, 1, 1)
    ),
    "slice-reading-interior-padding": lambda a: lax.slice(
        lax.pad(a, 0.0, ((3, 2, 1), (0, 0, 0), (0, 0, 0))), (2, 0, 0), (14, 5, 4), (3, 1, 1)
    ),
    "pad-of-pad-with-different-values": lambda a: lax.pad(
        lax.pad(a, 1.0, ((1, 0, 0), (0, 2, 0), (0, 0, 0))), 0.0, ((1, 1, 0), (2, 0, 0), (0, 0, 0))
    ),
    "tiles-in-row-major-order": lambda a: _stack_tiles(a, [(0, 0), (0, 1), (1, 0), (1, 1)]),
    "tiles-in-column-major-order": lambda a: _stack_tiles(a, [(0, 0), (1, 0), (0, 1), (1, 1)]),
    "tiles-stacked-in-a-middle-dim": lambda a: jnp.stack([a[:, :, 0::2], a[:, :, 1::2]], axis=1),
    "transposes-into-dot-general": lambda a: lax.dot_general(
        a.transpose(2, 0, 1), a.transpose(2, 1, 0), (((2,), (1,)), ((0,), (0,)))
    ),
    "transpose-chain-and-slice-of-slice": lambda a: a.transpose(1, 2, 0).transpose(2, 0, 1)[1:6:2][1::2],
}


@pytest.mark.xla
@pytest.mark.parametrize("name", sorted(LOOKALIKE_PROGRAMS))
def test_default_pipeline_keeps_values_of_programs_without_convolutions(name: str):
    f = LOOKALIKE_PROGRAMS[name]
    x = np.random.default_rng(0).standard_normal((6, 5, 4)).astype(np.float32)
    module = jax_module(f, x)
    run_pipeline(module, "default")
    (actual,) = run_module(module, x)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(jax.jit(f)(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_op_count_does_not_depend_on_spatial_size(layout: str):
    model = two_layer_model(layout)
    counts = []
    for size in (8, 32):
        module = jax_module(model, *model_inputs(layout, size))
        run_pipeline(module, "default")
        counts.append(op_counts(module))
    assert counts[0][CONVOLUTION] == 0
    assert sum(counts[0].values()) == sum(counts[1].values()), (counts[0], counts[1])
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    "conv",
    [
        dict(window_strides=(1, 1), padding="SAME", filter_shape=(3, 3)),
        dict(window_strides=(2, 2), padding="VALID", filter_shape=(2, 2)),
        dict(
            window_strides=(2, 1),
            padding=((2, -1), (0, 3)),
            filter_shape=(3, 2),
            lhs_dilation=(2, 1),
            rhs_dilation=(1, 2),
        ),
    ],
    ids=["same-3x3", "tiling-2x2", "dilated-negative-padding"],
)
def test_localconv_lowering_op_count_does_not_depend_on_spatial_size(conv: dict[str, Any]):
    counts = []
    for size in (8, 32):
        lhs = jax.ShapeDtypeStruct((2, size, size, 3), jnp.float32)
        out = jax.eval_shape(
            lambda x: lax.conv_general_dilated_patches(
                x,
                conv["filter_shape"],
                conv["window_strides"],
                conv["padding"],
                conv.get("lhs_dilation"),
                conv.get("rhs_dilation"),
                ("NHWC", "HWIO", "NHWC"),
            ),
            lhs,
        )
        rhs = jax.ShapeDtypeStruct((*out.shape[1:3], out.shape[3], 4), jnp.float32)
        lowered = localconv.lower(lhs, rhs, dimension_numbers=("NHWC", "HWIO", "NHWC"), **conv)
        counts.append(op_counts(lowered.module))
    assert counts[0] == counts[1], (counts[0], counts[1])
