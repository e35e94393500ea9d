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
from localconv import autotune, cost_model, host, runner
from localconv.accumulate_layout import accumulate_loop_vector_dim, fills_wide_vectors
from localconv.explain import explain
from localconv.lowering.pipelines import default_pipeline
from localconv.tools import localconv_main

WIDE = {"xla_cpu_prefer_vector_width": 512}


def spec_of(layer) -> localconv.ConvSpec:
    lhs, rhs, args = operands(layer)
    return localconv.lower(lhs, rhs, *args, pipeline=None).spec


@pytest.fixture
def avx512_host(monkeypatch):
    monkeypatch.setattr(host, "has_avx512", lambda: True)


@pytest.fixture
def fresh_host_cache():
    """`host.has_avx512` is cached per process: read afresh here, and again after the test."""
    host.has_avx512.cache_clear()
    yield
    host.has_avx512.cache_clear()


def layer(name: str):
    return next(entry for entry in LAYERS if entry[0] == name)


def test_wide_vectors_where_the_loop_runs_whole_512_bit_vectors(avx512_host) -> None:
    along_rows = spec_of(layer("b8_c32_32x32_3x3_oihw"))  # 32 positions per row
    along_batch = spec_of(layer("b64_c8_20x20_7x7_s2"))  # a batch of 64
    half_batch = spec_of(layer("b4_c8_30x30_5x5_half_vector_batch"))  # 4, padded to 8 lanes
    part_batch = localconv.ConvSpec.from_arguments(  # 24 lanes: one and a half 512-bit vectors
        (24, 8, 20, 20), "float32", (16, 72, 10, 10), "float32", (2, 2), "SAME", (3, 3)
    )
    along_o = spec_of(layer("b8_c32_32x32_3x3_hwio"))
    assert (accumulate_loop_vector_dim(along_rows), accumulate_loop_vector_dim(along_batch)) == (1, "N")
    assert accumulate_loop_vector_dim(half_batch) == "N" and accumulate_loop_vector_dim(along_o) is None
    for spec in (along_rows, along_batch):
        assert fills_wide_vectors(spec)
        assert cost_model.xla_options(spec, "accumulate_loop") == WIDE
        assert cost_model.xla_options(spec, "row_loop") == {}
        assert cost_model.xla_options(spec, "accumulate_loop", "gpu") == {}
    assert accumulate_loop_vector_dim(part_batch) == "N"
    for spec in (half_batch, part_batch, along_o):
        assert not fills_wide_vectors(spec)
        assert cost_model.xla_options(spec, "accumulate_loop") == {}


def test_no_options_without_avx512(monkeypatch) -> None:
    monkeypatch.setattr(host, "has_avx512", lambda: False)
    assert cost_model.xla_options(spec_of(layer("b8_c32_32x32_3x3_oihw")), "accumulate_loop") == {}


@pytest.mark.parametrize(
    "cpuinfo, avx512",
    [
        ("model name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512f avx512bw\n", True),
        ("model name\t: Some CPU\nflags\t\t: fpu sse avx2\n", False),
        ("processor\t: 0\nFeatures\t: fp asimd sve\n", False),  # aarch64 has no x86 flags line
        (None, False),  # no /proc/cpuinfo at all
    ],
)
def test_avx512_is_read_from_the_cpu_flags(monkeypatch, tmp_path, fresh_host_cache, cpuinfo, avx512) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    monkeypatch.setattr(host, "CPUINFO", str(path))
    assert host.has_avx512() is avx512


@pytest.mark.xla
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
    assert seen[-1] == WIDE == compiled.xla_options
    compiled(lhs, compiled.prepack(rhs))  # the packed program runs its vectors along O
    assert seen[-1] == {} == compiled.packed_xla_options
    narrow = {"xla_cpu_prefer_vector_width": 256}
    assert lowered.compile(compiler_options=narrow).xla_options == narrow == seen[-1]


@pytest.mark.xla
def test_autotuning_times_each_strategy_with_its_options(avx512_host, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("LOCALCONV_CACHE_DIR", str(tmp_path))
    seen = {}
    monkeypatch.setattr(
        localconv.api, "compile_for", lambda module, spec, strategy, *rest: seen.setdefault(strategy, rest)
    )
    monkeypatch.setattr(
        autotune, "tune", lambda spec, backend, run, **kw: [run(s) for s in kw["strategies"]][0]
    )
    spec = spec_of(layer("b8_c32_32x32_3x3_oihw"))
    localconv.api.autotune_strategy(spec, "cpu", {"xla_cpu_enable_fast_math": False})
    assert set(seen) == {
        s for s in cost_model.candidate_strategies("cpu") if cost_model.fits_memory_budget(spec, s)
    }
    assert all(rest == ("cpu", {"xla_cpu_enable_fast_math": False}) for rest in seen.values())


def test_explain_names_the_options(avx512_host) -> None:
    report = explain(spec_of(layer("b8_c32_32x32_3x3_oihw")))
    assert "  XLA options: xla_cpu_prefer_vector_width=512 (" in report
    assert "XLA options" not in explain(spec_of(layer("b8_c32_32x32_3x3_hwio")))


@pytest.mark.xla
def test_run_compiles_one_convolution_with_its_options(avx512_host, monkeypatch, tmp_path, capsys) -> None:
    lhs, rhs, args = operands(layer("b8_c32_32x32_3x3_oihw"))
    module = tmp_path / "conv.mlir"
    module.write_text(localconv.lower(lhs, rhs, *args, pipeline=None).as_text())
    seen = []
    compile_module = runner.compile_module
    monkeypatch.setattr(
        runner,
        "compile_module",
        lambda m, b="cpu", o=None: seen.append(dict(o or {})) or compile_module(m, b, o),
    )
    assert localconv_main.main(["run", str(module), "--repeat", "1"]) == 0
    assert seen == [WIDE]


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
