"""Argument parsing of the command-line tools, in process (the lit suite runs them for real)."""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest

from localconv import runner
from localconv.demo import DemoLayer, run_demo
from localconv.lowering import PipelineError, PipelineOptions
from localconv.tools import cli_args, localconv_main, localconv_opt
from localconv.tools.diagnostics import load_module

COMPOSITE_ARGS = [
    "lower",
    "--lhs",
    "1x2x5xf32",
    "--rhs",
    "3x6x5xf32",
    "--window-strides",
    "1",
    "--padding",
    "SAME",
    "--filter-shape",
    "3",
    "--emit",
    "composite",
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8x16x32x32xf32", ((8, 16, 32, 32), "float32")),
        ("1x2xbf16", ((1, 2), "bfloat16")),
        ("3xc64", ((3,), "complex64")),
        ("0x4xf64", ((0, 4), "float64")),
        ("f16", ((), "float16")),
    ],
)
def test_tensor_type(text, expected) -> None:
    assert cli_args.tensor_type("--lhs", text) == expected


@pytest.mark.parametrize("text", ["8x16xi32", "8x-1xf32", "8x16", "x8xf32", "8,16xf32", ""])
def test_tensor_type_errors_name_the_flag(text) -> None:
    with pytest.raises(ValueError, match="--lhs must look like"):
        cli_args.tensor_type("--lhs", text)


def test_int_lists_and_padding() -> None:
    assert cli_args.int_list("--window-strides", "1,2") == (1, 2)
    assert cli_args.int_list("--window-strides", " 3 ") == (3,)
    assert cli_args.int_list("--window-strides", "") == ()
    assert cli_args.padding("SAME") == "SAME"
    assert cli_args.padding("same_lower") == "same_lower"
    assert cli_args.padding("1,1;-1,2") == ((1, 1), (-1, 2))
    with pytest.raises(ValueError, match="--window-strides must be comma-separated integers"):
        cli_args.int_list("--window-strides", "1.5")
    with pytest.raises(ValueError, match="--padding pairs must be low,high"):
        cli_args.padding("1,1,1")


def test_dimension_numbers_and_precision() -> None:
    assert cli_args.dimension_numbers("NHWC,HWIO,NHWC") == ("NHWC", "HWIO", "NHWC")
    with pytest.raises(ValueError, match="--dimension-numbers must be three specs"):
        cli_args.dimension_numbers("NCHW,OIHW")
    assert cli_args.precision("HIGHEST") == "highest"
    assert cli_args.precision("HIGH,DEFAULT") == ("high", "default")
    with pytest.raises(ValueError, match="--precision must be one name or two"):
        cli_args.precision("a,b,c")


def test_usage_errors_exit_2(capsys) -> None:
    for main, argv in (
        (localconv_main.main, ["lower", "--lhs", "1x2x5xf32"]),
        (localconv_main.main, ["bogus"]),
        (localconv_opt.main, ["--pipeline", "O9"]),
        (localconv_opt.main, ["--emit", "yaml"]),
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_bad_values_exit_1_with_one_line(capsys) -> None:
    bad = [*COMPOSITE_ARGS[:-2]]
    bad[bad.index("--padding") + 1] = "SAMEISH"
    assert localconv_main.main(bad) == 1
    err = capsys.readouterr().err
    assert err.startswith("localconv: error: padding must be one of") and err.count("\n") == 1


def test_opt_driver_runs_in_process(capsys) -> None:
    assert localconv_main.main(COMPOSITE_ARGS) == 0
    composite = capsys.readouterr().out
    out = localconv_opt.OptDriver("O0").run(composite.encode()).decode()
    assert "stablehlo.composite" not in out and "stablehlo.dot_general" in out
    with pytest.raises(PipelineError, match="unknown pass 'no-such-pass'"):
        localconv_opt.OptDriver("builtin.module(no-such-pass)").run(composite.encode())
    with pytest.raises(ValueError, match=r"^in\.mlir:1:1"):
        localconv_opt.OptDriver().run(b"garbage", "in.mlir")


def test_split_input_counts_lines() -> None:
    chunks = localconv_opt.split_input("a\n// -----\nb\nc\n// -----  \nd\n")
    assert [line for _, line in chunks] == [1, 2, 5]
    assert [chunk.strip() for chunk, _ in chunks] == ["a", "b\nc", "d"]


@pytest.mark.xla
def test_demo_agrees_with_jax(capsys) -> None:
    """The README's main job: the default layer lowered, run, checked against JAX and timed."""
    assert localconv_main.main(["demo", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "-> OK" in out and "median of 1 runs on cpu: localconv " in out


@pytest.mark.xla
@pytest.mark.parametrize("padding", ["VALID", "same_lower"])
def test_demo_layer_takes_any_padding(padding) -> None:
    """The demo's weights take the output extent the padding gives (6x6 input, 3x3 windows)."""
    layer = DemoLayer(batch=2, in_channels=3, out_channels=2, size=6, padding=padding)
    assert run_demo(layer, repeat=1)


@pytest.mark.parametrize("command", ["demo", "run"])
def test_repeat_below_one_is_refused_before_any_work(command, tmp_path, capsys) -> None:
    argv = [command, "--repeat", "0"] + ([str(tmp_path / "missing.mlir")] if command == "run" else [])
    assert localconv_main.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err == "localconv: error: --repeat must be at least 1, got 0\n" and captured.out == ""


ADD_MODULE = b"""
func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {
  %0 = stablehlo.add %a, %a : tensor<2xf32>
  return %0 : tensor<2xf32>
}
"""
EXPLAIN_FLAGS = COMPOSITE_ARGS[1:-2]  # --lhs ... --filter-shape 3


def test_explain_names_the_missing_convolution_flags(capsys) -> None:
    assert localconv_main.main(["explain", "--lhs", "1x2x5xf32", "--padding", "SAME"]) == 1
    assert capsys.readouterr().err == (
        "localconv: error: explain needs every convolution flag; missing: --rhs, --window-strides, "
        "--filter-shape\n"
    )


@pytest.mark.parametrize("command", ["explain", "run"])
def test_a_composite_without_attributes_is_an_error_not_a_traceback(command, tmp_path, capsys) -> None:
    """Reading the spec off a composite with no composite_attributes needs no ambient context."""
    assert localconv_main.main(COMPOSITE_ARGS) == 0
    text = capsys.readouterr().out
    start = text.index("composite_attributes = {")
    module = tmp_path / "conv.mlir"
    module.write_text(text[:start] + text[text.index("}, ", start) + 3 :])
    assert (
        localconv_main.main([command, "--module" if command == "explain" else "--repeat=1", str(module)]) == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("localconv: error: ") and "Traceback" not in err
    assert "attributes must be exactly" in err


def test_explain_on_an_absent_backend_shows_its_strategy_without_a_roofline(capsys, monkeypatch) -> None:
    monkeypatch.setattr(runner, "available_backends", lambda: ("cpu",))
    monkeypatch.setattr(localconv_main, "measure", lambda backend: pytest.fail(f"measured {backend}"))
    assert localconv_main.main(["explain", *EXPLAIN_FLAGS, "--backend", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "strategy: multiply_reduce (on gpu a small layer" in out  # 1D OIH weights, 180 FLOPs
    assert "roofline on" not in out
    assert out.endswith("(no gpu device here: its roofline is not measured)\n")
    assert localconv_main.main(["explain", *EXPLAIN_FLAGS, "--backend", "gpu", "--plot", "x.png"]) == 1
    assert capsys.readouterr().err == (
        "localconv: error: --plot measures the roofline on 'gpu', which is not available here\n"
    )
    assert localconv_main.main(["explain", *EXPLAIN_FLAGS, "--backend", "ipu"]) == 1
    assert "backend must be one of ('cpu', 'gpu', 'tpu'), got 'ipu'" in capsys.readouterr().err


def test_a_portable_artifact_of_other_dialects_is_a_value_error() -> None:
    arith = b"func.func @main(%a: i32) -> i32 {\n  %0 = arith.addi %a, %a : i32\n  return %0 : i32\n}\n"
    with pytest.raises(ValueError, match="a portable artifact holds StableHLO, func and builtin ops only"):
        localconv_opt.OptDriver("O0", emit="portable").run(arith)


def test_printing_after_a_pass_the_pipeline_lacks_is_an_error() -> None:
    options = PipelineOptions(print_ir_after=("no-such-pass",))
    with pytest.raises(ValueError, match="no pass of the pipeline: no-such-pass; it runs: canonicalize$"):
        localconv_opt.OptDriver("builtin.module(canonicalize)", options).run(ADD_MODULE)


def test_an_empty_pass_pipeline_is_not_the_default_one(tmp_path, capsys) -> None:
    path = tmp_path / "add.mlir"
    path.write_bytes(ADD_MODULE)
    assert localconv_opt.main([str(path), "--pass-pipeline", ""]) == 1
    assert capsys.readouterr().err == "localconv-opt: error: malformed pass pipeline ''\n"


@pytest.mark.xla
def test_run_profile_lists_the_optimized_hlo_ops(tmp_path, capsys) -> None:
    """`run --profile` sums XLA's per-op trace events: every op it names is in the optimized HLO."""
    lower = [*COMPOSITE_ARGS[:-1], "optimized"]
    lower[lower.index("1x2x5xf32")] = "2x3x12xf32"
    lower[lower.index("3x6x5xf32")] = "4x9x12xf32"
    assert localconv_main.main(lower) == 0
    module = tmp_path / "conv.mlir"
    module.write_text(capsys.readouterr().out)
    assert localconv_main.main(["run", str(module), "--repeat", "1", "--pipeline", "none", "--profile"]) == 0
    out = capsys.readouterr().out
    header = "profile: XLA thread time per call of the optimized HLO's ops, over 5 traced calls (wall "
    assert header in out
    rows = [line.split() for line in out[out.index(header) :].splitlines()[1:]]
    assert rows and all(row[1] == "ms" and row[2].endswith("x") for row in rows)
    hlo = runner.compile_module(load_module(module.read_bytes(), str(module)), "cpu").hlo_text()
    assert all(f"%{row[3]} = " in hlo for row in rows)
    loops = [row for row in rows if "(loop:" in " ".join(row)]
    assert loops and all(re.search(rf"%{re.escape(row[3])} = [^\n]* while\(", hlo) for row in loops)


def test_run_profile_needs_the_cpu(tmp_path, capsys) -> None:
    assert localconv_main.main(["run", str(tmp_path / "absent.mlir"), "--profile", "--backend", "gpu"]) == 1
    assert capsys.readouterr().err == (
        "localconv: error: --profile reads XLA CPU's per-op trace: it needs --backend cpu, not 'gpu'\n"
    )


@pytest.mark.xla
@pytest.mark.parametrize(
    "body, message",
    [
        (
            "func.func private @main(%a: tensor<2xf32>) -> tensor<2xf32> { return %a : tensor<2xf32> }",
            "module's func.func @main must be public to run",
        ),
        (
            "func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
            "  %0 = stablehlo.custom_call @no_such_target(%a) : (tensor<2xf32>) -> tensor<2xf32>\n"
            "  return %0 : tensor<2xf32>\n}",
            "NOT_FOUND: No registered implementation for untyped custom call to no_such_target",
        ),
        (
            "func.func @main(%a: tensor<f32>) -> tensor<100000000000xf32> {\n"
            "  %0 = stablehlo.broadcast_in_dim %a, dims = [] : (tensor<f32>) -> tensor<100000000000xf32>\n"
            "  return %0 : tensor<100000000000xf32>\n}",
            "results of .* would take 400,000,000,000 bytes, over the [\\d,]+-byte memory budget",
        ),
        (
            "func.func @main(%a: tensor<f32>) -> tensor<4611686018427387904xf32> {\n"
            "  %0 = stablehlo.broadcast_in_dim %a, dims = []\n"
            "      : (tensor<f32>) -> tensor<4611686018427387904xf32>\n"
            "  return %0 : tensor<4611686018427387904xf32>\n}",
            "@main result 0 would take [\\d,]+ bytes; XLA arrays hold fewer than 2\\*\\*63 bytes",
        ),
    ],
)
def test_run_reports_what_xla_refuses_in_one_line(body, message, tmp_path, capsys) -> None:
    """Modules XLA cannot compile or run, or whose results would not fit: one line, no abort."""
    module = tmp_path / "m.mlir"
    module.write_text(f"module {{\n{body}\n}}\n")
    assert localconv_main.main(["run", str(module), "--repeat", "1", "--pipeline", "none"]) == 1
    err = capsys.readouterr().err
    assert re.match(f"localconv: error: {message}", err) and err.count("\n") == 1, err


def test_run_refuses_a_directory_as_output_before_running(tmp_path, capsys) -> None:
    assert localconv_main.main(["run", str(tmp_path / "absent.mlir"), "--output", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"localconv: error: --output {tmp_path} is a directory; give the path of a .npz file\n"
    )


def test_run_names_a_bad_seed_and_an_npz_input(tmp_path, capsys) -> None:
    assert localconv_main.main(["run", str(tmp_path / "absent.mlir"), "--seed", "-1"]) == 1
    assert capsys.readouterr().err == "localconv: error: --seed must be a non-negative integer, got -1\n"
    module = tmp_path / "m.mlir"
    module.write_text("func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> { return %a : tensor<2xf32> }\n")
    inputs = tmp_path / "in.npz"
    np.savez(inputs, np.ones(2, np.float32))
    assert localconv_main.main(["run", str(module), "--inputs", str(inputs), "--pipeline", "none"]) == 1
    assert capsys.readouterr().err == (
        f"localconv: error: --inputs {inputs} is an .npz archive, not an .npy array; "
        "give one .npy file per argument\n"
    )


@pytest.mark.xla
def test_run_times_the_program_on_device_inputs(tmp_path, capsys, monkeypatch) -> None:
    """`run` moves its inputs to the device once: every call it times gets device arrays, so
    the median measures the program, not a host-to-device copy of the inputs per call."""
    lower = [*COMPOSITE_ARGS[:-1], "optimized"]
    assert localconv_main.main(lower) == 0
    module = tmp_path / "conv.mlir"
    module.write_text(capsys.readouterr().out)
    arguments = []
    call = runner.Executable.__call__

    def spy(self, *args):
        arguments.append(args)
        return call(self, *args)

    monkeypatch.setattr(runner.Executable, "__call__", spy)
    assert localconv_main.main(["run", str(module), "--repeat", "3", "--pipeline", "none"]) == 0
    assert len(arguments) >= 4  # the checked call, then the warm-up and three timed ones
    assert all(isinstance(arg, jax.Array) for args in arguments for arg in args)


@pytest.mark.xla
def test_run_checks_npy_inputs_before_placing_them(tmp_path, capsys) -> None:
    """`--inputs` go through the program's checks before they reach the device: a big-endian
    array runs (converted, as jax.device_put takes it), a float64 one for an f32 program is
    refused by name rather than narrowed."""
    assert localconv_main.main(COMPOSITE_ARGS) == 0
    module = tmp_path / "conv.mlir"
    module.write_text(capsys.readouterr().out)
    rng = np.random.default_rng(0)
    lhs, rhs = rng.standard_normal((1, 2, 5)), rng.standard_normal((3, 6, 5))
    paths = [tmp_path / name for name in ("lhs.npy", "rhs.npy", "lhs64.npy")]
    np.save(paths[0], lhs.astype(">f4"))
    np.save(paths[1], rhs.astype("<f4"))
    np.save(paths[2], lhs)
    run = ["run", str(module), "--repeat", "1", "--output", str(tmp_path / "out.npz"), "--inputs"]
    assert localconv_main.main([*run, str(paths[0]), str(paths[1])]) == 0
    capsys.readouterr()
    lhs32, rhs32 = lhs.astype(np.float32), rhs.astype(np.float32)
    expected = jax.lax.conv_general_dilated_local(lhs32, rhs32, (1,), "SAME", (3,))
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["arr_0"], expected, rtol=1e-5, atol=1e-5)
    assert localconv_main.main([*run, str(paths[2]), str(paths[1])]) == 1
    assert capsys.readouterr().err == "localconv: error: argument 0 must have dtype float32, got float64\n"


@pytest.mark.xla
def test_run_takes_a_64_bit_module_as_written(tmp_path, capsys) -> None:
    """`run` runs a float64 program in float64 (JAX would narrow it with x64 off), and leaves
    x64 as it found it."""
    module = tmp_path / "m.mlir"
    module.write_text(
        "func.func @main(%a: tensor<2xf64>) -> tensor<2xf64> {\n"
        "  %0 = stablehlo.add %a, %a : tensor<2xf64>\n"
        "  return %0 : tensor<2xf64>\n}\n"
    )
    inputs = tmp_path / "a.npy"
    np.save(inputs, np.array([1.0, 2.0 + 2.0**-40]))
    output = tmp_path / "out.npz"
    assert (
        localconv_main.main(
            ["run", str(module), "--inputs", str(inputs), "--repeat", "1", "--output", str(output)]
        )
        == 0
    )
    assert "result 0: float64[2]" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(output)["arr_0"], [2.0, 4.0 + 2.0**-39])
    assert not jax.config.jax_enable_x64
