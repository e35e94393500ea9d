"""What every localconv pass shares: a name, a summary, typed options, and failure reporting.

A pass is a frozen dataclass subclassing `ModulePass`; its fields are its options (parsed from
the MLIR pipeline syntax `pass-name{opt=value other=value}`), its class docstring shows a
before ==> after IR sketch. `run(module)` rewrites the module or raises `PassError` with the
location of the op it could not handle; jaxlib's PassManager calls the pass object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from jaxlib.mlir import ir
from jaxlib.mlir._mlir_libs._mlir import rewrite


class PassError(Exception):
    """A pass cannot handle an op: the message and the op's location."""

    def __init__(self, message: str, location: ir.Location) -> None:
        super().__init__(message)
        self.location = location


@dataclasses.dataclass(frozen=True)
class ModulePass:
    """Base of localconv passes: subclasses set `name` and `summary` and implement `run`."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # Exceptions of the last run: an exception must not unwind through MLIR's C++ frames
    # (that aborts the process), so it is kept here and re-raised by the pipeline runner.
    errors: list[BaseException] = dataclasses.field(
        default_factory=list, compare=False, repr=False, metadata={"internal": True}
    )

    def run(self, module: ir.Operation) -> None:
        """Rewrites `module` (a builtin.module operation) in place."""
        raise NotImplementedError

    def __call__(self, module: ir.Operation, pass_: Any) -> None:
        try:
            with module.context:
                self.run(module)
        except PassError as err:
            err.location.emit_error(f"{self.name}: {err}")
            pass_.signal_pass_failure()
        except Exception as err:  # noqa: BLE001 - kept for the pipeline runner to re-raise
            self.errors.append(err)
            module.location.emit_error(f"{self.name}: internal error: {type(err).__name__}: {err}")
            pass_.signal_pass_failure()

    @classmethod
    def option_fields(cls) -> tuple[dataclasses.Field, ...]:
        """The pass's options (its dataclass fields, internal state excluded)."""
        return tuple(f for f in dataclasses.fields(cls) if not f.metadata.get("internal"))

    @classmethod
    def from_options(cls, text: str) -> ModulePass:
        """The pass configured by `key=value` pairs separated by spaces (MLIR syntax)."""
        fields = {f.name.replace("_", "-"): f for f in cls.option_fields()}
        values: dict[str, Any] = {}
        for item in text.split():
            key, sep, raw = item.partition("=")
            if not sep or key not in fields:
                raise ValueError(f"pass {cls.name} has options {sorted(fields) or 'none'}, got {item!r}")
            values[fields[key].name] = _parse_option(cls.name, key, fields[key], raw)
        return cls(**values)


def _parse_option(pass_name: str, key: str, field: dataclasses.Field, raw: str) -> Any:
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    if kind == "bool":
        if raw not in ("true", "false", "1", "0"):
            raise ValueError(f"option {key} of {pass_name} must be true or false, got {raw!r}")
        return raw in ("true", "1")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"option {key} of {pass_name} must be an integer, got {raw!r}") from None
    choices = field.metadata.get("choices")
    if choices and raw not in choices:
        raise ValueError(f"option {key} of {pass_name} must be one of {list(choices)}, got {raw!r}")
    return raw


Pattern = tuple[Any, Callable[[ir.Operation, Any], Any]]


def apply_patterns(module: ir.Operation, patterns: Iterable[Pattern]) -> None:
    """Applies (op class, rewrite function) patterns greedily, folding as it goes.

    A rewrite function returns a truthy value when it does not match (MLIR's convention in
    the Python bindings) and replaces the op through the rewriter when it does. An exception
    escaping into MLIR's C++ driver would abort the process, so each function is guarded: the
    first exception stops further matching and is re-raised once the driver has returned.
    """
    errors: list[BaseException] = []

    def guarded(fn: Callable[[ir.Operation, Any], Any]) -> Callable[[ir.Operation, Any], Any]:
        def match_and_rewrite(op: ir.Operation, rewriter: Any) -> Any:
            if errors:
                return True
            try:
                return fn(op, rewriter)
            except Exception as err:  # noqa: BLE001 - re-raised below, outside C++ frames
                errors.append(err)
                return True

        return match_and_rewrite

    pattern_set = rewrite.RewritePatternSet()
    for root, fn in patterns:
        pattern_set.add(root, guarded(fn))
    rewrite.apply_patterns_and_fold_greedily(module, pattern_set.freeze())
    if errors:
        raise errors[0]


def ops_where(root: ir.Operation, predicate: Callable[[ir.Operation], bool]) -> list[ir.Operation]:
    """All ops nested in `root` (itself included) that satisfy `predicate`, in walk order."""
    found = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if predicate(op):
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found
