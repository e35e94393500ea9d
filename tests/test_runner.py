"""The XLA runner: executable cache, argument checks, backend selection, HLO text."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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


def module_of(body: str) -> ir.Module:
    return ir.Module.parse(f"module {{\n{body}\n}}", context=irbuild.make_context())


@pytest.mark.xla
@pytest.mark.parametrize(
    "argument, error, message",
    [
        (jax.numpy.ones((2, 3, 8), np.float32), ValueError, r"argument 0 must have shape \(2, 3, 7\)"),
        (jax.numpy.ones((2, 3, 7), np.float16), TypeError, "argument 0 must have dtype float32, got float16"),
    ],
)
def test_jax_arrays_of_other_types_are_named_like_host_arrays(argument, error, message) -> None:
    """JAX's dispatch refuses them first; the runner's own check then says what is wrong."""
    executable = runner.compile_module(lowered().module)
    with pytest.raises(error, match=f"^{message}"):
        executable(argument, jax.numpy.ones(RHS_SHAPE, np.float32))


@pytest.mark.xla
def test_a_program_runs_its_helpers_and_keeps_an_unused_argument() -> None:
    """The module's own functions are called under their own names' renaming (JAX's module has
    a @main too), and an argument @main ignores is still one of the program's."""
    module = module_of(
        "func.func private @twice(%a: tensor<3xf32>) -> tensor<3xf32> {\n"
        "  %0 = stablehlo.add %a, %a : tensor<3xf32>\n"
        "  return %0 : tensor<3xf32>\n}\n"
        "func.func @main(%a: tensor<3xf32>, %unused: tensor<2xi32>) -> (tensor<3xf32>, tensor<3xf32>) {\n"
        "  %0 = func.call @twice(%a) : (tensor<3xf32>) -> tensor<3xf32>\n"
        "  %1 = func.call @twice(%0) : (tensor<3xf32>) -> tensor<3xf32>\n"
        "  return %0, %1 : tensor<3xf32>, tensor<3xf32>\n}"
    )
    executable = runner.compile_module(module)
    assert [str(s) for s in executable.inputs] == ["float32[3]", "int32[2]"]
    doubled, quadrupled = executable(jax.numpy.arange(3, dtype=np.float32), np.zeros(2, np.int32))
    np.testing.assert_array_equal(np.asarray(doubled), [0, 2, 4])
    np.testing.assert_array_equal(np.asarray(quadrupled), [0, 4, 8])
    with pytest.raises(TypeError, match="expected 2 arguments"):
        executable(jax.numpy.arange(3, dtype=np.float32))


@pytest.mark.xla
def test_a_64_bit_program_with_x64_off_is_refused_by_name() -> None:
    module = module_of(
        "func.func @main(%a: tensor<2xf64>) -> tensor<2xf64> {\n"
        "  %0 = stablehlo.add %a, %a : tensor<2xf64>\n"
        "  return %0 : tensor<2xf64>\n}"
    )
    with jax.enable_x64(True):
        result = runner.compile_module(module)(np.array([1.5, 2.25]))[0]
    assert result.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(result), [3.0, 4.5])
    # Refused with x64 off, although the program is compiled (and cached) by now.
    with jax.enable_x64(False), pytest.raises(ValueError, match=r"takes or returns float64\[2\], a 64-bit"):
        runner.compile_module(module)


ON_ANOTHER_DEVICE = """
import jax, numpy as np
import localconv
lhs, rhs = np.ones((2, 3, 7), np.float32), np.ones((4, 9, 5), np.float32)
compiled = localconv.lower(lhs, rhs, (1,), "VALID", (3,)).compile()
first, second = jax.devices("cpu")
result = compiled(jax.device_put(lhs, second), jax.device_put(rhs, second))
assert result.devices() == {first}, result.devices()
np.testing.assert_array_equal(np.asarray(result), np.full((2, 4, 5), 9.0, np.float32))
print("ok")
"""


@pytest.mark.xla
def test_arrays_on_another_device_are_placed_on_the_programs() -> None:
    """JAX's dispatch refuses them; the runner copies them over, as for host arrays."""
    environment = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = subprocess.run(
        [sys.executable, "-c", ON_ANOTHER_DEVICE],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.xla
def test_jax_debugging_modes_leave_a_compiled_program_as_it_is() -> None:
    """Under `disable_jit` the program still runs (JAX's ahead-of-time path would refuse), and
    under `debug_nans` it returns its NaNs (JAX's check would raise a private error)."""
    module = module_of(
        "func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
        "  %0 = stablehlo.divide %a, %a : tensor<2xf32>\n"
        "  return %0 : tensor<2xf32>\n}"
    )
    executable = runner.compile_module(module)
    operand = jax.numpy.array([0.0, 2.0], np.float32)
    for mode in (jax.disable_jit(), jax.debug_nans(True), jax.debug_infs(True)):
        with mode:
            (result,) = executable(operand)
        np.testing.assert_array_equal(np.asarray(result), [np.nan, 1.0])
    assert not (jax.config.jax_disable_jit or jax.config.jax_debug_nans or jax.config.jax_debug_infs)
