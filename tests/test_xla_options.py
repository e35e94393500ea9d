"""The per-executable XLA options the cost model asks for (`cost_model.xla_options`).

On an AVX-512 host an accumulate loop whose vectors fill 512-bit registers is compiled with
`xla_cpu_prefer_vector_width=512`; nothing else changes the options, the caller's options
win, and the programs compiled so agree with JAX whether or not the host has AVX-512.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax import lax
from test_strategies import LAYERS, operands

import localconv
from localconv import cost_model, host, runner
from localconv.accumulate_layout import accumulate_loop_vector_dim, fills_wide_vectors
from localconv.lowering.pipelines import default_pipeline

WIDE = {"xla_cpu_prefer_vector_width": 512}


def spec_of(layer) -> localconv.ConvSpec:
    lhs, rhs, args = operands(layer)
    return localconv.lower(lhs, rhs, *args, pipeline=None).spec


@pytest.fixture
def avx512_host(monkeypatch):
    monkeypatch.setattr(host, "vector_bits", lambda: 512)


def layer(name: str):
    return next(entry for entry in LAYERS if entry[0] == name)


def test_wide_vectors_where_the_loop_runs_whole_512_bit_vectors(avx512_host) -> None:
    along_rows = spec_of(layer("b8_c32_32x32_3x3_oihw"))  # 32 positions per row
    along_batch = spec_of(layer("b64_c8_20x20_7x7_s2"))  # a batch of 64
    half_batch = spec_of(layer("b4_c8_30x30_5x5_half_vector_batch"))  # 4, padded to 8 lanes
    along_o = spec_of(layer("b8_c32_32x32_3x3_hwio"))
    assert (accumulate_loop_vector_dim(along_rows), accumulate_loop_vector_dim(along_batch)) == (1, "N")
    assert accumulate_loop_vector_dim(half_batch) == "N" and accumulate_loop_vector_dim(along_o) is None
    for spec in (along_rows, along_batch):
        assert fills_wide_vectors(spec)
        assert cost_model.xla_options(spec, "accumulate_loop") == WIDE
        assert cost_model.xla_options(spec, "row_loop") == {}
        assert cost_model.xla_options(spec, "accumulate_loop", "gpu") == {}
    for spec in (half_batch, along_o):
        assert not fills_wide_vectors(spec)
        assert cost_model.xla_options(spec, "accumulate_loop") == {}


def test_no_options_without_avx512(monkeypatch) -> None:
    monkeypatch.setattr(host, "vector_bits", lambda: 256)
    assert cost_model.xla_options(spec_of(layer("b8_c32_32x32_3x3_oihw")), "accumulate_loop") == {}


def test_host_vector_bits_follow_the_cpu_flags(monkeypatch, tmp_path) -> None:
    for flags, bits in (("fpu sse avx2 avx512f avx512bw", 512), ("fpu sse avx2", 256), (None, 256)):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"model name\t: Some CPU\nflags\t\t: {flags}\n" if flags else "")
        monkeypatch.setattr(host, "CPUINFO", str(cpuinfo))
        host.vector_bits.cache_clear()
        assert host.vector_bits() == bits
    host.vector_bits.cache_clear()


def test_compile_passes_the_options_under_the_callers(avx512_host, monkeypatch) -> None:
    seen = []
    compile_module = runner.compile_module

    def spy(module, backend="cpu", compiler_options=None):
        seen.append(dict(compiler_options or {}))
        return compile_module(module, backend, compiler_options)

    monkeypatch.setattr(runner, "compile_module", spy)
    lhs, rhs, args = operands(layer("b8_c32_32x32_3x3_oihw"))
    lowered = localconv.lower(lhs, rhs, *args)
    assert lowered.strategy == "accumulate_loop"
    compiled = lowered.compile()
    assert seen[-1] == WIDE
    compiled(lhs, compiled.prepack(rhs))  # the packed program runs its vectors along O
    assert seen[-1] == {}
    narrow = {"xla_cpu_prefer_vector_width": 256}
    lowered.compile(compiler_options=narrow)
    assert seen[-1] == narrow


@pytest.mark.xla
@pytest.mark.parametrize("entry", LAYERS, ids=[entry[0] for entry in LAYERS])
def test_accumulate_loop_with_wide_vectors_matches_jax(entry) -> None:
    lhs, rhs, args = operands(entry)
    expected = np.asarray(jax.jit(lambda a, b: lax.conv_general_dilated_local(a, b, *args))(lhs, rhs))
    lowered = localconv.lower(lhs, rhs, *args, pipeline=default_pipeline(strategy="accumulate_loop"))
    compiled = lowered.compile(compiler_options=WIDE)
    for label, weights in (("user layout", rhs), ("prepacked", compiled.prepack(rhs))):
        np.testing.assert_allclose(
            np.asarray(compiled(lhs, weights)), expected, rtol=1e-4, atol=1e-4, err_msg=f"{label}, {entry[0]}"
        )
