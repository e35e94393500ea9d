"""localconv agrees with `jax.jit(jax.lax.conv_general_dilated_local)`: dtype, shape and values.

Cases run through the public function (default pipeline) and through `lower(...,
pipeline="O0").compile()`. Real dtypes run in this process (300 examples in the ci profile);
complex64 and the x64 dtypes (float64, complex128, which need JAX_ENABLE_X64 before jax
starts) run in subprocesses of parity_check.py, both paths each.
"""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import pytest
import strategies
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jax import lax
from parity_check import MULTIPLY_REDUCE, check_parity
from strategies import Case, make_case

import localconv
from localconv.accumulate_layout import accumulate_loop_vector_dim, stride_phases, transposes_rhs

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = st.integers(0, 2**32 - 1)


@pytest.mark.xla
@settings(max_examples=strategies.examples(200))
@given(strategies.cases(), SEEDS)
def test_parity_default_pipeline(case: Case, seed: int) -> None:
    check_parity(case, seed, paths=("default",))


@pytest.mark.xla
@settings(max_examples=strategies.examples(100))
@given(strategies.cases(), SEEDS)
def test_parity_O0_pipeline(case: Case, seed: int) -> None:
    check_parity(case, seed, paths=("O0",))


@pytest.mark.xla
@settings(max_examples=strategies.examples(100))
@given(strategies.cases(), SEEDS)
def test_parity_multiply_reduce(case: Case, seed: int) -> None:
    """The GPU's fused reduce, forced on CPU, over every dtype, layout and geometry."""
    check_parity(case, seed, paths=(MULTIPLY_REDUCE,))


@pytest.mark.xla
@settings(max_examples=strategies.examples(60))
@given(strategies.cases(batches=strategies.VECTOR_BATCHES, max_size=20), SEEDS)
def test_parity_batch_vectors(case: Case, seed: int) -> None:
    """Batches of whole vectors, where the accumulate loop may run its vectors along N."""
    spec = localconv.lower(*case.operands(seed), *case.params, pipeline=None).spec
    vectors = "the batch" if accumulate_loop_vector_dim(spec) == "N" else "O or space"
    event(f"accumulate_loop vectors along {vectors}{', stride phases' if stride_phases(spec) else ''}")
    check_parity(case, seed)


@pytest.mark.xla
@settings(max_examples=strategies.examples(30))
@given(
    strategies.cases(
        batches=strategies.LARGE_BATCHES, out_features=strategies.WIDE_OUT_FEATURES, max_size=12
    ),
    SEEDS,
)
def test_parity_large_batch(case: Case, seed: int) -> None:
    """Large batches, where the accumulate loop may transpose a small rhs in the call."""
    spec = localconv.lower(*case.operands(seed), *case.params, pipeline=None).spec
    event(f"rhs transposed in the call: {transposes_rhs(spec)}")
    check_parity(case, seed)


@settings(max_examples=strategies.examples(40))
@given(strategies.cases())
def test_strategy_shapes_match_jax(case: Case) -> None:
    """The strategies' shape rule (from the definition) is the one JAX implements."""
    result = jax.eval_shape(
        lambda x, w: lax.conv_general_dilated_local(x, w, *case.params),
        jax.ShapeDtypeStruct(case.lhs_shape, case.lhs_dtype),
        jax.ShapeDtypeStruct(case.rhs_shape, case.rhs_dtype),
    )
    assert result.shape == case.out_shape


@pytest.mark.xla
@pytest.mark.parametrize(
    ("dtypes", "examples", "env"),
    [("complex", 24, {}), ("x64", 16, {"JAX_ENABLE_X64": "1"})],
    ids=["complex64", "float64-complex128"],
)
def test_parity_in_subprocess(dtypes: str, examples: int, env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "parity_check.py"),
            "--dtypes",
            dtypes,
            "--examples",
            str(strategies.examples(examples)),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"parity_check.py --dtypes {dtypes} exited with {result.returncode}:\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    )


REALISTIC = {
    "nchw-3x3-same": make_case((8, 32, 32, 32), 16, (1, 1), "SAME", (3, 3)),
    "nhwc-hwio-strided": make_case(
        (4, 20, 20, 8),
        24,
        (2, 2),
        "SAME",
        (3, 3),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    ),
    "batch-64-large-output": make_case((64, 16, 8, 8), 16, (1, 1), "SAME", (3, 3)),
    "9x9-window": make_case((2, 16, 24, 24), 8, (1, 1), "VALID", (9, 9)),
    "1d-dilated-explicit": make_case(
        (4, 256, 6),
        12,
        (2,),
        [(3, -1)],
        (5,),
        lhs_dilation=(2,),
        rhs_dilation=(3,),
        dimension_numbers=("NWC", "WIO", "NWC"),
    ),
    "3d-mixed-layout": make_case(
        (10, 10, 3, 2, 10),
        5,
        (2, 1, 2),
        "SAME_LOWER",
        (3, 2, 3),
        rhs_dilation=(1, 2, 1),
        dimension_numbers=("DHCNW", "OHWDI", "NWDHC"),
    ),
    "nhwc-bf16": make_case(
        (2, 16, 16, 16),
        16,
        (1, 1),
        "SAME",
        (3, 3),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        dtypes=("bfloat16", "bfloat16"),
    ),
}


@pytest.mark.xla
@pytest.mark.parametrize("case", REALISTIC.values(), ids=REALISTIC.keys())
def test_parity_realistic_sizes(case: Case) -> None:
    check_parity(case, seed=0)
