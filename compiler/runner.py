"""Compiles StableHLO modules through XLA and executes them on one device of a backend.

XLA compiles each module through JAX (`module_call`), so calls take JAX's C++ dispatch. `@main`
is called from JAX's own entry function, so its argument and result attributes (donation,
sharding, layouts) are not applied: a program takes and returns plain arrays on one device.
Executables are cached by (module fingerprint, backend, XLA options): compiling the same
module twice costs one XLA compilation. The cache is thread-safe. Arguments are checked
against the module's `@main` signature before anything runs.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.extend.backend as jax_backend
import numpy as np
from jaxlib.mlir import ir

from . import irbuild, shapes
from .module_call import compile_module_call

BACKENDS = ("cpu", "gpu", "tpu")


@dataclass(frozen=True)
class TensorSignature:
    """Shape and numpy dtype name of one argument or result."""

    shape: tuple[int, ...]
    dtype: str

    def __str__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


def available_backends() -> tuple[str, ...]:
    """The XLA platforms present in this process (e.g. ('cpu',); 'gpu' covers CUDA and ROCm)."""
    present = []
    for name in BACKENDS:
        try:
            jax_backend.get_backend(name)
        except RuntimeError:
            continue
        present.append(name)
    return tuple(present)


def check_backend(backend: str) -> None:
    """ValueError unless `backend` names one of `BACKENDS` (present here or not)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def get_client(backend: str) -> Any:
    """The XLA client of `backend`; ValueError naming the present platforms when absent."""
    check_backend(backend)
    present = available_backends()
    if backend not in present:
        raise ValueError(f"backend {backend!r} is not available here; available: {list(present)}")
    return jax_backend.get_backend(backend)


class Executable:
    """A compiled module bound to one device: call it with arrays, get arrays back."""

    def __init__(
        self,
        compiled: jax.stages.Compiled,
        device: Any,
        inputs: Sequence[TensorSignature],
        outputs: Sequence[TensorSignature],
    ) -> None:
        self._compiled = compiled
        self.device = device
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        # Checked on every call, so kept in the forms that compare fastest (a dtype's `.name`
        # alone costs microseconds; GPU kernels here can take tens).
        self._input_dtypes = tuple(np.dtype(signature.dtype) for signature in self.inputs)
        self._sharding = jax.sharding.SingleDeviceSharding(device)

    def __call__(self, *args: Any) -> list[jax.Array]:
        """Runs the program on `args` (numpy or jax arrays) and returns its results.

        JAX arrays of the program's types go straight to JAX's dispatch. Anything else, and
        whatever it refuses (arrays on another device, a wrong dtype or shape, tracers), is
        checked and placed by `to_device`, which names what is wrong: host arrays always are,
        as JAX's dispatch of a compiled program reads a big-endian array's bytes unswapped.
        JAX's modes for debugging traced Python (`disable_jit`, `debug_nans`, `debug_infs`) do
        not apply: its ahead-of-time path refuses the first and answers the others with a
        private exception, while the program here runs as compiled.
        """
        if jax.config.jax_disable_jit or jax.config.jax_debug_nans or jax.config.jax_debug_infs:
            with jax.disable_jit(False), jax.debug_nans(False), jax.debug_infs(False):
                return self._run(args)
        return self._run(args)

    def _run(self, args: Sequence[Any]) -> list[jax.Array]:
        for arg in args:  # a loop, not all(...): a generator costs a microsecond per call
            if not isinstance(arg, jax.Array):
                break
        else:
            try:
                return list(self._compiled(*args))
            except (TypeError, ValueError):
                pass
        return list(self._compiled(*self.to_device(*args)))

    def to_device(self, *args: Any) -> list[jax.Array]:
        """`args` checked against the program's signature and placed on its device.

        Calls with the result skip the copy, so a caller that times the program (`localconv
        run`) measures it rather than a host-to-device copy per call.
        """
        if len(args) != len(self.inputs):
            raise TypeError(
                f"expected {len(self.inputs)} arguments ({', '.join(map(str, self.inputs))}), got {len(args)}"
            )
        device_args = []
        expected_types = zip(self.inputs, self._input_dtypes, strict=True)
        for index, (arg, (expected, dtype)) in enumerate(zip(args, expected_types, strict=True)):
            array = arg if isinstance(arg, (jax.Array, np.ndarray)) else np.asarray(arg)
            if isinstance(array, np.ndarray) and not array.dtype.isnative:
                array = array.astype(array.dtype.newbyteorder("="))  # as jax.device_put takes it
            if array.dtype != dtype:
                raise TypeError(f"argument {index} must have dtype {expected.dtype}, got {array.dtype.name}")
            if array.shape != expected.shape:
                raise ValueError(
                    f"argument {index} must have shape {expected.shape}, got {tuple(array.shape)}"
                )
            if isinstance(array, jax.core.Tracer):
                raise TypeError(
                    f"argument {index} is traced by a JAX transformation; a compiled program runs "
                    "concrete arrays: inside jax.jit, grad or vmap call "
                    "localconv.conv_general_dilated_local instead"
                )
            on_device = isinstance(array, jax.Array) and array.sharding == self._sharding
            device_args.append(array if on_device else jax.device_put(array, self.device))
        return device_args

    def temp_bytes(self) -> int:
        """Bytes of temporaries XLA's buffer assignment reserves for one execution."""
        return int(self._compiled.memory_analysis().temp_size_in_bytes)

    def hlo_text(self) -> str:
        """XLA's optimized HLO of the compiled program."""
        return self._compiled.as_text()


_cache: dict[tuple[str, str, tuple[tuple[str, str], ...]], Executable] = {}
_cache_lock = threading.Lock()


def compile_module(
    module: ir.Module, backend: str = "cpu", compiler_options: Mapping[str, Any] | None = None
) -> Executable:
    """The executable of `module`'s `@main` on `backend`, compiled once per fingerprint."""
    client = get_client(backend)
    text = module_text(module)
    check_compiler_options(compiler_options)
    options = tuple(sorted((k, str(v)) for k, v in (compiler_options or {}).items()))
    key = (hashlib.sha256(text.encode()).hexdigest(), backend, options)
    inputs, outputs = main_signature(module)
    check_x64(inputs + outputs)  # also for a program compiled earlier with x64 on
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    device = client.local_devices()[0]
    try:
        compiled = compile_module_call(text, _types(inputs), _types(outputs), device, dict(options))
    except jax.errors.JaxRuntimeError as err:
        if options and ("compile option" in str(err) or "is not a valid" in str(err)):
            raise ValueError(f"compiler_options: {str(err).splitlines()[0]}") from None
        raise
    executable = Executable(compiled, device, inputs, outputs)
    with _cache_lock:
        return _cache.setdefault(key, executable)


def check_x64(signatures: Sequence[TensorSignature]) -> None:
    """ValueError where a 64-bit type of the program would be narrowed: JAX runs 64-bit types
    only with `jax_enable_x64` on."""
    for signature in signatures:
        dtype = np.dtype(signature.dtype)
        if jax.dtypes.canonicalize_dtype(dtype) != dtype:
            raise ValueError(
                f"the program takes or returns {signature}, a 64-bit type that JAX runs only with "
                "jax_enable_x64 on: jax.config.update('jax_enable_x64', True) first"
            )


def _types(signatures: Sequence[TensorSignature]) -> list[tuple[tuple[int, ...], np.dtype]]:
    return [(signature.shape, np.dtype(signature.dtype)) for signature in signatures]


def check_compiler_options(compiler_options: Any) -> None:
    """TypeError unless `compiler_options` is None or maps XLA option names (str) to values."""
    if compiler_options is not None and (
        not isinstance(compiler_options, Mapping) or not all(isinstance(k, str) for k in compiler_options)
    ):
        raise TypeError(
            f"compiler_options must map XLA option names (str) to values, got {compiler_options!r:.80}"
        )


def module_text(module: ir.Module) -> str:
    """The module's generic, location-free text: what XLA compiles and what is fingerprinted."""
    return module.operation.get_asm(enable_debug_info=False)


def main_signature(
    module: ir.Module,
) -> tuple[tuple[TensorSignature, ...], tuple[TensorSignature, ...]]:
    """Argument and result signatures of the module's public `@main` function."""
    for op in module.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == "main":
            visibility = op.attributes["sym_visibility"] if "sym_visibility" in op.attributes else None
            if visibility is not None and ir.StringAttr(visibility).value != "public":
                raise ValueError("module's func.func @main must be public to run")
            function_type = ir.FunctionType(ir.TypeAttr(op.attributes["function_type"]).value)
            return (
                tuple(_signature(t, f"argument {i}") for i, t in enumerate(function_type.inputs)),
                tuple(_signature(t, f"result {i}") for i, t in enumerate(function_type.results)),
            )
    raise ValueError("module has no func.func @main to run")


def _signature(type_: ir.Type, what: str) -> TensorSignature:
    if not isinstance(type_, ir.RankedTensorType):
        raise ValueError(f"@main {what} must be a ranked tensor, got {type_}")
    tensor = ir.RankedTensorType(type_)
    if not tensor.has_static_shape:
        raise ValueError(f"@main {what} must have a static shape, got {type_}")
    signature = TensorSignature(tuple(tensor.shape), irbuild.dtype_name(tensor.element_type))
    shapes.check_xla_array_bytes(f"@main {what}", math.prod(signature.shape), signature.dtype)
    return signature
