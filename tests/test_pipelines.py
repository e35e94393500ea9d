"""`run_pipeline`'s options and failure reporting: IR dumps, timing, verification, reproducers.

A failing pass must be pinned down completely: the error names the pass and the location of
the op it could not handle, the IR the pass received is saved, and the printed `localconv-opt`
command, run as a separate process on that file, fails the same way.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from jaxlib.mlir import ir

import localconv
from localconv import irbuild
from localconv.lowering import PipelineError, PipelineOptions, pipelines, registry, run_pipeline
from localconv.lowering.pass_base import ModulePass
from localconv.lowering.pipelines import pipeline_elements

LOCALCONV_OPT = os.path.join(os.path.dirname(sys.executable), "localconv-opt")
LEGALIZE = "localconv-legalize-composite"
DUMP_HEADER = re.compile(r"^// -----// IR Dump After (\S+) //----- //$", re.M)
REPRODUCER = re.compile(r"reproduce with: (localconv-opt (\S+) --pass-pipeline='([^']*)')")

# A 2x2 window with stride 2 on a 6x6 NCHW input: 3x3 output positions, I = 2 * 4 = 8, O = 3.
LHS = np.arange(1 * 2 * 6 * 6, dtype=np.float32).reshape(1, 2, 6, 6)
RHS = np.ones((3, 8, 3, 3), np.float32)
CONV_ARGS = ((2, 2), "VALID", (2, 2))


def composite_text() -> tuple[str, int]:
    """The composite-form module with locations, and the line of this file it was lowered at."""
    line = sys._getframe().f_lineno + 1
    lowered = localconv.lower(LHS, RHS, *CONV_ARGS, pipeline=None)
    return lowered.as_text(debug_info=True), line


def parse(text: str) -> ir.Module:
    return ir.Module.parse(text, context=irbuild.make_context())


def malformed_composite() -> tuple[ir.Module, str, int]:
    """A module whose localconv composite has version 2, which the legalize pass refuses."""
    text, line = composite_text()
    assert text.count("version = 1 : i32") == 1
    return parse(text.replace("version = 1 : i32", "version = 2 : i32")), text, line


def test_print_ir_after_all_dumps_once_per_pass_in_order():
    text, _ = composite_text()
    stream = io.StringIO()
    run_pipeline(parse(text), "default", PipelineOptions(print_ir_after_all=True, ir_stream=stream))
    dumped = stream.getvalue()
    assert DUMP_HEADER.findall(dumped) == pipeline_elements("default")
    after_last = DUMP_HEADER.split(dumped)[-1]
    assert parse(after_last).operation.verify()


def test_print_ir_after_one_pass_dumps_only_that_pass():
    text, _ = composite_text()
    stream = io.StringIO()
    run_pipeline(parse(text), "default", PipelineOptions(print_ir_after=(LEGALIZE,), ir_stream=stream))
    dumped = stream.getvalue()
    assert DUMP_HEADER.findall(dumped) == [LEGALIZE]
    module = parse(DUMP_HEADER.split(dumped)[-1])
    assert "stablehlo.composite" not in op_names(module)


def test_no_printing_options_write_nothing():
    text, _ = composite_text()
    stream = io.StringIO()
    run_pipeline(parse(text), "default", PipelineOptions(ir_stream=stream))
    assert stream.getvalue() == ""


def test_timing_writes_a_table_naming_each_pass():
    text, _ = composite_text()
    stream = io.StringIO()
    report = run_pipeline(parse(text), "default", PipelineOptions(timing=True, ir_stream=stream))
    table = stream.getvalue()
    assert not DUMP_HEADER.search(table)
    rows = table.strip().splitlines()
    for name in pipeline_elements("default"):
        assert any(row.split()[-1] == name for row in rows), f"no timing row for {name}"
    assert rows[-1].split()[-1] == "total"
    assert [name for name, _ in report.timings] == pipeline_elements("default")


@pytest.mark.parametrize(
    "pipeline", ["O0", "default", "builtin.module(localconv-legalize-composite,cse,cse)"]
)
def test_report_has_one_timing_per_pass(pipeline):
    text, _ = composite_text()
    report = run_pipeline(parse(text), pipeline, PipelineOptions(ir_stream=io.StringIO()))
    assert [name for name, _ in report.timings] == pipeline_elements(pipeline)
    assert all(seconds >= 0 for _, seconds in report.timings)


def test_failing_pass_names_pass_location_and_reproducer(tmp_path):
    module, _, line = malformed_composite()
    before = module.operation.get_asm(enable_debug_info=True)
    with pytest.raises(PipelineError) as info:
        run_pipeline(module, "O0", PipelineOptions(reproducer_dir=str(tmp_path)))
    message = str(info.value)
    assert message.startswith(f"pass {LEGALIZE} failed")
    assert f'loc("{__file__}":{line}:0)' in message
    assert "version must be 1, got 2" in message
    command, path, pipeline = REPRODUCER.search(message).groups()
    assert pipeline == f"builtin.module({LEGALIZE})"
    assert os.path.dirname(path) == str(tmp_path)
    with open(path, encoding="utf-8") as handle:
        saved = handle.read()
    assert saved == before
    assert "version = 2 : i32" in saved
    assert shlex.split(command) == ["localconv-opt", path, f"--pass-pipeline={pipeline}"]


def test_failure_reproducer_is_saved_before_the_failing_pass_not_before_the_pipeline(tmp_path):
    module, _, _ = malformed_composite()
    with pytest.raises(PipelineError) as info:
        run_pipeline(
            module,
            f"builtin.module(canonicalize,{LEGALIZE},cse)",
            PipelineOptions(reproducer_dir=str(tmp_path)),
        )
    _, path, pipeline = REPRODUCER.search(str(info.value)).groups()
    assert pipeline == f"builtin.module({LEGALIZE})"
    expected = parse(malformed_composite()[0].operation.get_asm(enable_debug_info=True))
    run_pipeline(expected, "builtin.module(canonicalize)")
    with open(path, encoding="utf-8") as handle:
        assert str(parse(handle.read())) == str(expected)


def test_reproducer_command_reproduces_the_failure(tmp_path):
    module, _, _ = malformed_composite()
    with pytest.raises(PipelineError) as info:
        run_pipeline(module, "O0", PipelineOptions(reproducer_dir=str(tmp_path)))
    message = str(info.value)
    command, _, _ = REPRODUCER.search(message).groups()
    argv = shlex.split(command)
    assert argv[0] == "localconv-opt"
    process = subprocess.run(
        [LOCALCONV_OPT, *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert process.returncode == 1, process.stderr
    first_line = message.splitlines()[0]
    assert first_line in process.stderr
    assert process.stdout == ""


def test_reproducer_goes_to_the_temp_dir_by_default(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    module, _, _ = malformed_composite()
    with pytest.raises(PipelineError) as info:
        run_pipeline(module, "O0")
    _, path, _ = REPRODUCER.search(str(info.value)).groups()
    assert os.path.dirname(path) == str(tmp_path) and os.path.exists(path)


def test_reproducer_dir_is_created_when_missing(tmp_path):
    directory = tmp_path / "nested" / "reproducers"
    module, _, _ = malformed_composite()
    with pytest.raises(PipelineError) as info:
        run_pipeline(module, "O0", PipelineOptions(reproducer_dir=str(directory)))
    _, path, _ = REPRODUCER.search(str(info.value)).groups()
    assert os.path.dirname(path) == str(directory) and os.path.exists(path)


@dataclasses.dataclass(frozen=True)
class BreakResultType(ModulePass):
    """Test-only: declares @main's result as tensor<7xf64>, so the return no longer matches.

      func.func @main(...) -> tensor<1x3x3x3xf32> { ... return %0 : tensor<1x3x3x3xf32> }
    ==>
      func.func @main(...) -> tensor<7xf64> { ... return %0 : tensor<1x3x3x3xf32> }
    """

    name = "test-break-result-type"
    summary = "Make @main's declared result type disagree with its return (test only)"

    def run(self, module: ir.Operation) -> None:
        with ir.Location.unknown():
            for op in module.regions[0].blocks[0].operations:
                if op.operation.name != "func.func":
                    continue
                inputs = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value).inputs
                wrong = ir.RankedTensorType.get([7], ir.F64Type.get())
                op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(list(inputs), [wrong]))


@dataclasses.dataclass(frozen=True)
class RaisePythonError(ModulePass):
    """Test-only: raises a Python exception from inside the pass.

      anything
    ==>
      RuntimeError
    """

    name = "test-raise-python-error"
    summary = "Raise a RuntimeError (test only)"

    def run(self, module: ir.Operation) -> None:
        raise RuntimeError("deliberate failure inside a pass")


@pytest.fixture
def test_passes(monkeypatch):
    """Registers the test-only passes for one test (pipelines imported PASSES by name)."""
    patched = {
        **registry.PASSES,
        BreakResultType.name: BreakResultType,
        RaisePythonError.name: RaisePythonError,
    }
    monkeypatch.setattr(registry, "PASSES", patched)
    monkeypatch.setattr(pipelines, "PASSES", patched)


def test_verify_each_reports_invalid_ir_as_a_failure_of_the_pass_that_made_it(test_passes, tmp_path):
    text, _ = composite_text()
    module = parse(text)
    with pytest.raises(PipelineError) as info:
        run_pipeline(
            module,
            f"builtin.module({LEGALIZE},{BreakResultType.name},cse)",
            PipelineOptions(verify_each=True, reproducer_dir=str(tmp_path)),
        )
    message = str(info.value)
    assert message.startswith(f"pass {BreakResultType.name} failed")
    assert "doesn't match function result type" in message
    _, path, pipeline = REPRODUCER.search(message).groups()
    assert pipeline == f"builtin.module({BreakResultType.name})"
    with open(path, encoding="utf-8") as handle:
        saved = parse(handle.read())
    assert saved.operation.verify()
    assert "stablehlo.composite" not in op_names(saved)


def test_without_verify_each_invalid_ir_is_not_reported(test_passes):
    text, _ = composite_text()
    module = parse(text)
    report = run_pipeline(
        module, f"builtin.module({BreakResultType.name})", PipelineOptions(verify_each=False)
    )
    assert [name for name, _ in report.timings] == [BreakResultType.name]
    with pytest.raises(ir.MLIRError):
        module.operation.verify()


def test_python_exception_in_a_pass_is_reported_as_that_pass_failing(test_passes, tmp_path):
    text, _ = composite_text()
    with pytest.raises(PipelineError) as info:
        run_pipeline(
            parse(text),
            f"builtin.module({LEGALIZE},{RaisePythonError.name})",
            PipelineOptions(reproducer_dir=str(tmp_path)),
        )
    message = str(info.value)
    assert message.startswith(f"pass {RaisePythonError.name} failed: RuntimeError: deliberate failure")
    assert isinstance(info.value.__cause__, RuntimeError)


def op_names(module: ir.Module) -> list[str]:
    names = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        names.append(op.name)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return names
