"""`localconv.linen.ConvLocal` against `flax.linen.ConvLocal`: same parameters, same numbers.

The layer is a drop-in for Flax's: for generated layers (1-3 spatial dims, every padding mode
Flax has, strides, dilations, zero to two batch dims, bias or not, masks, dtypes) both modules
must create identical parameter trees from the same key and compute the same outputs and
gradients with each other's parameters, and the compiled program must be localconv's (no
identity-kernel convolution, which Flax's layer always lowers to).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as flax_linen
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import examples

from localconv.linen import ConvLocal

pytestmark = pytest.mark.xla


@st.composite
def layers(draw):
    """(module keyword arguments, input shape) of a small channels-last local layer."""
    rank = draw(st.integers(1, 3))
    sizes = st.integers(1, 3)
    kernel = tuple(draw(st.lists(sizes, min_size=rank, max_size=rank)))
    modes = ["SAME", "VALID", "CIRCULAR", "REFLECT", "explicit", "int"] + (["CAUSAL"] if rank == 1 else [])
    mode = draw(st.sampled_from(modes))
    if mode == "explicit":
        padding = [tuple(draw(st.lists(st.integers(0, 2), min_size=2, max_size=2))) for _ in kernel]
    elif mode == "int":
        padding = draw(st.integers(0, 2))
    else:
        padding = mode
    kwargs = {
        "features": draw(st.integers(1, 4)),
        "kernel_size": kernel if rank > 1 or draw(st.booleans()) else kernel[0],
        "strides": draw(
            st.one_of(st.integers(1, 2), st.lists(st.integers(1, 2), min_size=rank, max_size=rank))
        ),
        "padding": padding,
        "kernel_dilation": draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank)),
        "use_bias": draw(st.booleans()),
    }
    if mode not in ("CIRCULAR", "REFLECT", "CAUSAL"):
        kwargs["input_dilation"] = draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank))
    reach = [(k - 1) * d + 1 for k, d in zip(kernel, kwargs["kernel_dilation"], strict=True)]
    # REFLECT needs more input than the pad it mirrors; VALID needs one full window.
    spatial = [draw(st.integers(r, r + 4)) for r in reach]
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return kwargs, (*batch, *spatial, draw(st.integers(1, 3)))


def check_drop_in(kwargs, shape, dtype=jnp.float32, rtol=1e-5, atol=1e-5):
    """Both modules: equal init from one key, equal outputs and input/param gradients.

    Where Flax refuses the layer (e.g. string padding with input dilation), so must we.
    """
    reference, ours = flax_linen.ConvLocal(**kwargs), ConvLocal(**kwargs)
    x = jnp.asarray(np.random.default_rng(sum(shape)).standard_normal(shape), dtype)
    try:
        params = reference.init(jax.random.key(0), x)
    except (TypeError, ValueError, NotImplementedError) as error:
        with pytest.raises(type(error), match=re.escape(str(error).splitlines()[0])):
            ours.init(jax.random.key(0), x)
        return
    ours_params = ours.init(jax.random.key(0), x)
    assert jax.tree.structure(params) == jax.tree.structure(ours_params)
    for expected, actual in zip(jax.tree.leaves(params), jax.tree.leaves(ours_params), strict=True):
        assert expected.shape == actual.shape and expected.dtype == actual.dtype
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))

    def loss(module):
        return lambda p, x: jnp.sum(jnp.sin(module.apply(p, x).astype(jnp.float32)))

    expected = reference.apply(params, x)
    actual = jax.jit(ours.apply)(params, x)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(actual, np.float32), np.asarray(expected, np.float32), rtol, atol)
    grads = jax.grad(loss(reference), argnums=(0, 1))(params, x)
    ours_grads = jax.jit(jax.grad(loss(ours), argnums=(0, 1)))(params, x)
    for g, h in zip(jax.tree.leaves(grads), jax.tree.leaves(ours_grads), strict=True):
        np.testing.assert_allclose(np.asarray(h, np.float32), np.asarray(g, np.float32), rtol, atol)


@settings(max_examples=examples(25))
@given(layers())
def test_matches_flax_conv_local(layer) -> None:
    kwargs, shape = layer
    check_drop_in(kwargs, shape)


def test_a_face_recognition_layer_matches_flax() -> None:
    check_drop_in({"features": 16, "kernel_size": (7, 7), "strides": 2, "padding": "VALID"}, (2, 31, 31, 16))


def test_mask_and_low_precision_dtype_match_flax() -> None:
    kwargs = {"features": 3, "kernel_size": (3, 3), "padding": "SAME"}
    mask = np.random.default_rng(1).integers(0, 2, (6, 6, 18, 3)).astype(np.float32)
    check_drop_in({**kwargs, "mask": jnp.asarray(mask)}, (2, 6, 6, 2))
    check_drop_in({**kwargs, "dtype": jnp.bfloat16}, (2, 6, 6, 2), rtol=2e-2, atol=2e-2)


def test_the_program_is_localconvs_not_an_identity_kernel_convolution() -> None:
    x = jnp.ones((2, 12, 12, 4))
    kwargs = {"features": 8, "kernel_size": (3, 3)}
    params = flax_linen.ConvLocal(**kwargs).init(jax.random.key(0), x)
    assert "stablehlo.convolution" in jax.jit(flax_linen.ConvLocal(**kwargs).apply).lower(params, x).as_text()
    ours = jax.jit(ConvLocal(**kwargs).apply).lower(params, x).as_text()
    assert "stablehlo.convolution" not in ours and "localconv.strategy" in ours


def test_errors_match_flax() -> None:
    x = jnp.ones((1, 6, 6, 2))
    for kwargs, error, match in (
        ({"feature_group_count": 2}, NotImplementedError, "feature_group_count != 1"),
        ({"mask": jnp.ones((2, 2))}, ValueError, "Mask needs to have the same shape as weights"),
        ({"kernel_size": (3, 3), "padding": "CAUSAL"}, ValueError, "Causal padding"),
    ):
        kwargs = {"features": 2, "kernel_size": (3, 3), **kwargs}
        for module in (flax_linen.ConvLocal(**kwargs), ConvLocal(**kwargs)):
            with pytest.raises(error, match=match):
                module.init(jax.random.key(0), x)
