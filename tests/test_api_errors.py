"""Bad input to the compiled-program API (`compile`, `Compiled`, `prepack`) and shapes past
XLA's limits: a TypeError or ValueError naming what is wrong, never an abort inside XLA.

(The convolution's own parameters are covered by test_errors.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import localconv

ARGS = ((1, 1), "SAME", (3, 3))
LHS = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
RHS = np.random.default_rng(1).standard_normal((4, 27, 8, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def lowered():
    return localconv.lower(LHS, RHS, *ARGS)


@pytest.mark.parametrize(
    "lhs_shape, rhs_shape, padding, window, what",
    [
        ((2**60, 2, 1, 1), (3, 2, 1, 1), "VALID", (1, 1), "lhs"),  # 2**63 bytes
        ((2**59, 1, 1, 1), (16, 1, 1, 1), "VALID", (1, 1), "the output"),
        (
            (2**48, 1, 32, 32),
            (1, 9, 32, 32),
            "SAME",
            (3, 3),
            r"the patch tensor \(N \* K \* output positions\)",
        ),  # 9 * 2**58 elements
    ],
)
def test_arrays_past_xlas_byte_limit_are_refused(lhs_shape, rhs_shape, padding, window, what) -> None:
    """XLA sizes arrays in bytes as int64 and aborts the process past that."""
    with pytest.raises(
        ValueError, match=rf"^{what} would take [\d,]+ bytes; XLA arrays hold fewer than 2\*\*63"
    ):
        localconv.ConvSpec.from_arguments(lhs_shape, "float32", rhs_shape, "float32", (1, 1), padding, window)


@pytest.mark.xla
@pytest.mark.parametrize(
    "options, error, message",
    [
        (
            {"xla_no_such_option": 1},
            ValueError,
            "compiler_options: .*No such compile option: 'xla_no_such_option'",
        ),
        (
            {"xla_cpu_prefer_vector_width": "abc"},
            ValueError,
            "compiler_options: .*'abc' is not a valid int32",
        ),
        ({1: 2}, TypeError, "compiler_options must map XLA option names"),
        ("xla_foo", TypeError, "compiler_options must map XLA option names"),
        ([("a", "b")], TypeError, "compiler_options must map XLA option names"),
    ],
)
@pytest.mark.parametrize("autotune", [False, True])
def test_bad_compiler_options_are_named(
    lowered, options, error, message, autotune, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("LOCALCONV_CACHE_DIR", str(tmp_path))
    with pytest.raises(error, match=message):
        lowered.compile(compiler_options=options, autotune=autotune)


@pytest.mark.xla
@pytest.mark.parametrize("value", [[1.0, 2.0], None, {"a": 1}])
def test_prepack_refuses_what_is_no_array(lowered, value) -> None:
    with pytest.raises(TypeError, match="^rhs must be an array"):
        lowered.compile().prepack(value)


@pytest.mark.xla
def test_calls_name_the_operand_that_is_no_array(lowered) -> None:
    compiled = lowered.compile()
    for lhs in (LHS.tolist(), [[1], [1, 2]], compiled.prepack(RHS)):
        with pytest.raises(TypeError, match="^lhs must be an array"):
            compiled(lhs, RHS)
    with pytest.raises(TypeError, match="^rhs must be an array"):
        compiled(LHS, RHS.tolist())


@pytest.mark.xla
def test_big_endian_operands_are_taken_as_jax_takes_them(lowered) -> None:
    compiled = lowered.compile()
    expected = np.asarray(compiled(LHS, RHS))
    np.testing.assert_array_equal(np.asarray(compiled(LHS.astype(">f4"), RHS.astype(">f4"))), expected)


def test_a_pipeline_that_is_no_string_is_a_type_error() -> None:
    with pytest.raises(
        TypeError, match="^pipeline must be 'default', 'O0', a textual pass pipeline or None, got int"
    ):
        localconv.lower(LHS, RHS, *ARGS, pipeline=3)
