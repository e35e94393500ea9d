"""The pass registry and the pipeline parser: names, docs, options, textual pipelines.

The registry is the one list of localconv passes, so its keys must be the passes' own names,
and every pass must carry what `--list-passes` and the docs are generated from: a summary and a
before ==> after sketch in its docstring. Option parsing and pipeline parsing are pure string
handling and are tested without running any pass.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import localconv
from localconv.lowering import PIPELINES, PipelineError, run_pipeline
from localconv.lowering.pass_base import ModulePass
from localconv.lowering.pipelines import pipeline_elements
from localconv.lowering.registry import PASSES, describe_passes

PASS_CLASSES = sorted(PASSES.items())


def test_registry_is_not_empty_and_holds_the_pipeline_passes():
    localconv_elements = {e for e in pipeline_elements("default") if e.startswith("localconv-")}
    assert localconv_elements, "the default pipeline runs no localconv pass"
    assert localconv_elements <= set(PASSES)
    assert set(pipeline_elements("O0")) <= set(PASSES)


@pytest.mark.parametrize("key, cls", PASS_CLASSES, ids=[k for k, _ in PASS_CLASSES])
def test_registry_key_is_the_pass_name(key, cls):
    assert issubclass(cls, ModulePass)
    assert cls.name == key
    assert key.startswith("localconv-") and key == key.lower() and " " not in key


@pytest.mark.parametrize("key, cls", PASS_CLASSES, ids=[k for k, _ in PASS_CLASSES])
def test_pass_has_summary_and_before_after_sketch(key, cls):
    assert cls.summary.strip(), f"{key} has an empty summary"
    assert cls.__doc__ is not None and "==>" in cls.__doc__, (
        f"{key}'s docstring has no before ==> after sketch"
    )
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def test_describe_passes_lists_every_pass_with_its_summary():
    description = describe_passes()
    lines = description.splitlines()
    for key, cls in PASS_CLASSES:
        assert f"{key}: {cls.summary}" in lines


@pytest.mark.parametrize("key, cls", PASS_CLASSES, ids=[k for k, _ in PASS_CLASSES])
def test_from_options_without_options_gives_the_default_pass(key, cls):
    assert cls.from_options("") == cls()


@pytest.mark.parametrize("key, cls", PASS_CLASSES, ids=[k for k, _ in PASS_CLASSES])
def test_from_options_rejects_an_unknown_key_naming_the_pass(key, cls):
    with pytest.raises(ValueError, match=f"pass {key} .*'no-such-option=1'"):
        cls.from_options("no-such-option=1")


OPTIONS = [(cls, field) for _, cls in PASS_CLASSES for field in cls.option_fields()]


@pytest.mark.parametrize("cls, field", OPTIONS, ids=[f"{cls.name}:{field.name}" for cls, field in OPTIONS])
def test_every_registered_option_parses_its_default_and_choices(cls, field):
    key = field.name.replace("_", "-")
    spelled = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
    assert cls.from_options(f"{key}={spelled}") == cls()
    for choice in field.metadata.get("choices", ()):
        assert getattr(cls.from_options(f"{key}={choice}"), field.name) == choice


@dataclasses.dataclass(frozen=True)
class OptionsProbe(ModulePass):
    """A pass with one option of every kind the parser knows (never registered or run).

      %0 = anything
    ==>
      %0 = anything
    """

    name = "test-options-probe"
    summary = "Options parsing probe"

    enabled: bool = False
    max_steps: int = 4
    mode: str = dataclasses.field(default="fast", metadata={"choices": ("fast", "exact")})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", OptionsProbe()),
        ("enabled=true", OptionsProbe(enabled=True)),
        ("enabled=1 max-steps=-3", OptionsProbe(enabled=True, max_steps=-3)),
        ("enabled=false mode=exact", OptionsProbe(enabled=False, mode="exact")),
        ("  max-steps=12   enabled=0 ", OptionsProbe(max_steps=12)),
    ],
)
def test_from_options_parses_typed_values(text, expected):
    assert OptionsProbe.from_options(text) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("enabled=yes", r"option enabled of test-options-probe must be true or false, got 'yes'"),
        ("max-steps=two", r"option max-steps of test-options-probe must be an integer, got 'two'"),
        ("mode=slow", r"option mode of test-options-probe must be one of \['fast', 'exact'\], got 'slow'"),
        ("max_steps=3", r"pass test-options-probe has options .*max-steps.*got 'max_steps=3'"),
        ("enabled", r"pass test-options-probe has options .*got 'enabled'"),
        ("colour=red", r"pass test-options-probe has options \['enabled', 'max-steps', 'mode'\]"),
    ],
)
def test_from_options_rejects_bad_options(text, match):
    with pytest.raises(ValueError, match=match):
        OptionsProbe.from_options(text)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_named_pipelines_parse_into_their_elements(name):
    elements = pipeline_elements(name)
    assert elements == pipeline_elements(PIPELINES[name])
    assert elements and all(e and e == e.strip() for e in elements)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("builtin.module(a,b{x=1},func.func(cse))", ["a", "b{x=1}", "func.func(cse)"]),
        ("a, b{x=1 y=2} ,func.func(cse,canonicalize)", ["a", "b{x=1 y=2}", "func.func(cse,canonicalize)"]),
        ("builtin.module(single)", ["single"]),
        ("p{list=1,2}", ["p{list=1,2}"]),
    ],
)
def test_textual_pipeline_elements(text, expected):
    assert pipeline_elements(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "builtin.module()",
        "builtin.module(a,(b)",
        "func.func(cse",
        "a{x=1",
        "builtin.module(a)b)",
        "a)(b",
        "a),(b",
        "a,,b",
        ",a",
        "a,b,",
        "builtin.module(a,)",
    ],
)
def test_malformed_pipelines_are_rejected(text):
    with pytest.raises(PipelineError, match="malformed pass pipeline"):
        pipeline_elements(text)


@pytest.fixture
def composite_module():
    lhs = np.zeros((1, 2, 5, 5), np.float32)
    rhs = np.zeros((3, 2 * 4, 4, 4), np.float32)
    return localconv.lower(lhs, rhs, (1, 1), "VALID", (2, 2), pipeline=None).module


@pytest.mark.parametrize(
    "pipeline, unknown",
    [
        ("builtin.module(no-such-pass)", "no-such-pass"),
        ("localconv-legalize-composites", "localconv-legalize-composites"),
        ("builtin.module(localconv-legalize-composite,cse,frobnicate)", "frobnicate"),
    ],
)
def test_unknown_pass_lists_the_localconv_passes(composite_module, pipeline, unknown):
    with pytest.raises(PipelineError) as info:
        run_pipeline(composite_module, pipeline)
    message = str(info.value)
    assert f"unknown pass {unknown!r}" in message
    for key in PASSES:
        assert key in message


def test_unknown_option_of_a_localconv_pass_names_the_pass(composite_module):
    with pytest.raises(PipelineError, match="pass localconv-fold-transposes has options"):
        run_pipeline(composite_module, "builtin.module(localconv-fold-transposes{bogus=1})")


def test_unknown_option_of_an_mlir_pass_names_the_pass_and_the_option(composite_module):
    with pytest.raises(PipelineError, match="options for pass 'canonicalize' .*: no such option bogus$"):
        run_pipeline(composite_module, "builtin.module(canonicalize{bogus=1})")


def test_a_bad_option_value_of_an_mlir_pass_is_one_error(composite_module, capfd):
    """LLVM's option parser prints its complaint to stderr; it becomes the error's reason."""
    pattern = "options for pass 'canonicalize' .*: for the --max-iterations option: 'abc' value invalid"
    with pytest.raises(PipelineError, match=pattern):
        run_pipeline(composite_module, "builtin.module(canonicalize{max-iterations=abc})")
    assert capfd.readouterr().err == ""


def test_nothing_runs_when_a_later_element_is_unknown(composite_module):
    before = str(composite_module)
    with pytest.raises(PipelineError):
        run_pipeline(composite_module, "builtin.module(localconv-legalize-composite,no-such-pass)")
    assert str(composite_module) == before
