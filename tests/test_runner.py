"""The XLA runner: executable cache, argument checks, backend selection, HLO text."""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest
from jaxlib.mlir import ir

import localconv
from localconv import irbuild, runner

LHS_SHAPE = (2, 3, 7)
RHS_SHAPE = (4, 9, 5)


def lowered() -> localconv.Lowered:
    return localconv.lower(
        jax.ShapeDtypeStruct(LHS_SHAPE, "float32"),
        jax.ShapeDtypeStruct(RHS_SHAPE, "float32"),
        (1,),
        "VALID",
        (3,),
    )


def operands() -> tuple[np.ndarray, np.ndarray]:
    return np.ones(LHS_SHAPE, np.float32), np.ones(RHS_SHAPE, np.float32)


def gpu_present() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@pytest.mark.xla
def test_compile_module_caches_by_module_text() -> None:
    module = lowered().module
    first = runner.compile_module(module)
    assert runner.compile_module(module) is first
    copy = ir.Module.parse(str(module), context=irbuild.make_context())
    assert runner.compile_module(copy) is first
    options = {"xla_cpu_experimental_ynn_fusion_type": ""}
    with_options = runner.compile_module(module, compiler_options=options)
    assert with_options is not first
    assert runner.compile_module(module, compiler_options=options) is with_options


@pytest.mark.xla
def test_compiled_runs_with_matching_arguments() -> None:
    compiled = lowered().compile()
    result = compiled(*operands())
    assert result.shape == compiled.spec.out_shape == (2, 4, 5)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(result), np.full((2, 4, 5), 9.0, np.float32))


@pytest.mark.xla
def test_device_resident_arguments_are_not_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = lowered().compile()
    device = jax.devices("cpu")[0]
    lhs, rhs = (jax.device_put(x, device) for x in operands())
    copies = []
    real_device_put = jax.device_put
    monkeypatch.setattr(jax, "device_put", lambda x, *a, **k: copies.append(x) or real_device_put(x, *a, **k))
    result = compiled(lhs, rhs)
    np.testing.assert_array_equal(np.asarray(result), np.full((2, 4, 5), 9.0, np.float32))
    assert copies == []
    host_lhs, _ = operands()
    compiled(host_lhs, rhs)
    assert len(copies) == 1 and copies[0] is host_lhs


@pytest.mark.xla
def test_traced_arguments_point_to_the_jax_function() -> None:
    compiled = lowered().compile()
    with pytest.raises(TypeError, match=r"argument 0 is traced.*localconv\.conv_general_dilated_local"):
        jax.jit(compiled)(*operands())


@pytest.mark.xla
@pytest.mark.parametrize("index", [0, 1])
def test_wrong_shape_names_argument_and_expected_shape(index: int) -> None:
    compiled = lowered().compile()
    arguments = list(operands())
    expected = arguments[index].shape
    arguments[index] = np.ones(expected[:-1] + (expected[-1] + 1,), np.float32)
    with pytest.raises(ValueError, match=rf"argument {index}.*{re.escape(str(expected))}"):
        compiled(*arguments)


@pytest.mark.xla
@pytest.mark.parametrize(
    "dtype, message",
    [
        (np.float16, "argument 1 must have dtype float32, got float16"),
        (np.complex64, "argument 1 must have dtype float32, got complex64"),
        # A dtype no convolution takes is named as such (it is no other program's either).
        (np.int32, r"rhs dtype must be one of \('float16', .*\), got int32"),
    ],
)
def test_wrong_dtype_raises_type_error(dtype: type, message: str) -> None:
    compiled = lowered().compile()
    lhs, rhs = operands()
    with pytest.raises(TypeError, match=rf"^{message}"):
        compiled(lhs, rhs.astype(dtype))


@pytest.mark.xla
def test_float64_operands_are_narrowed_as_lower_narrows_them() -> None:
    """With x64 off, `lower` takes float64 arrays as float32; so does the compiled program."""
    lhs, rhs = (x.astype(np.float64) for x in operands())
    compiled = localconv.lower(lhs, rhs, (1,), "VALID", (3,)).compile()
    expected = compiled(*operands())
    np.testing.assert_array_equal(np.asarray(compiled(lhs, rhs)), np.asarray(expected))
    np.testing.assert_array_equal(np.asarray(compiled(lhs, compiled.prepack(rhs))), np.asarray(expected))


@pytest.mark.xla
def test_wrong_argument_count_raises_type_error() -> None:
    executable = runner.compile_module(lowered().module)
    lhs, rhs = operands()
    for arguments in ((lhs,), (lhs, rhs, rhs)):
        with pytest.raises(TypeError, match=rf"expected 2 arguments.*got {len(arguments)}"):
            executable(*arguments)
    compiled = lowered().compile()
    with pytest.raises(TypeError):
        compiled(lhs)  # type: ignore[call-arg]


def test_unknown_backend_lists_valid_names() -> None:
    module = lowered().module
    with pytest.raises(ValueError, match=r"backend.*'cpu', 'gpu', 'tpu'.*'foo'"):
        runner.compile_module(module, "foo")
    with pytest.raises(ValueError, match=r"backend.*'foo'"):
        lowered().compile(backend="foo")


def test_absent_backend_names_available_platforms() -> None:
    if gpu_present():
        pytest.skip("a GPU is present, so 'gpu' is not an absent backend here")
    with pytest.raises(ValueError, match=r"'gpu'.*available.*'cpu'"):
        lowered().compile(backend="gpu")


@pytest.mark.xla
def test_as_text_is_xla_hlo() -> None:
    text = lowered().compile().as_text()
    assert "ENTRY" in text
    assert "HloModule" in text
