"""localconv's public Python API: `conv_general_dilated_local`, `lower`, `Lowered`, `Compiled`."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jaxlib.mlir import ir

from . import autotune, cost_model, emitter, irbuild, primitive, row_loop, runner, shapes
from .accumulate_layout import accumulate_loop_packed_order
from .contraction import STRATEGY_ATTRIBUTE
from .spec import ConvSpec

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class PackedWeights:
    """rhs transposed once into the layout a compiled convolution reads fastest.

    The packed layout depends on the strategy the compiled program uses (the cost model's
    choice, the autotuned winner or the pipeline's forced strategy):
    for `accumulate_loop` it is [I, rhs spatial..., O], so each step of the loop reads one
    contiguous slice, or [I, O, rhs spatial...] where O is under two vectors and the loop's
    vectors run well along the batch or along space, or run along rows of whole vectors for
    a batch of 2 to 7 (`packed_keeps_vectors`), or I then the
    output's order where the loop is one trip, fused by XLA into one loop over the output
    (`one_trip`); for `row_loop`
    with the weights on the dot's left, [rhs spatial..., O, I]; otherwise [rhs spatial..., I,
    O], which the batched dot_general, the position loop and the row loop with patches on the
    left read in place. `multiply_reduce` reads rhs in place in any layout, so its packed
    layout is the user's (on an H100 the [rhs spatial..., I, O] layout ran within noise of it
    on the layers it is chosen for). No call transposes the weights again.
    """

    array: jax.Array
    spec: ConvSpec


class Compiled:
    """An unshared convolution compiled for one backend; call it with (lhs, rhs).

    `strategy` is the contraction strategy the program runs; weights from `prepack` are laid
    out for it, and calls with them run the same strategy.
    """

    def __init__(
        self,
        spec: ConvSpec,
        executable: runner.Executable,
        backend: str,
        compiler_options: Mapping[str, Any] | None,
        strategy: str,
    ) -> None:
        self.spec = spec
        self.strategy = strategy
        # The spec of weights packed for this program, checked on every packed call.
        self._packed_spec = packed_spec(spec, self.strategy)
        self._executable = executable
        self._backend = backend
        self._compiler_options = compiler_options
        self._packed: runner.Executable | None = None

    def __call__(self, lhs: Any, rhs: Any) -> jax.Array:
        """The convolution of `lhs` with `rhs` (an array, or `PackedWeights` from `prepack`).

        Operands are narrowed as `lower` narrows them (float64 to float32 with x64 off), so the
        arrays a program was lowered from can be passed to it.
        """
        for name, operand in (("lhs", lhs), ("rhs", rhs)):
            if isinstance(operand, (list, tuple)):
                _as_array(name, operand)  # raises JAX's TypeError for Python sequences
        if isinstance(rhs, PackedWeights):
            if rhs.spec != self._packed_spec:
                raise ValueError("rhs was prepacked for a different convolution")
            executable, operands = self._packed_executable(), (lhs, rhs.array)
        else:
            executable, operands = self._executable, (lhs, rhs)
        try:
            (result,) = executable(*operands)
            return result
        except TypeError:
            # The runner checks dtypes; only on a mismatch is it worth narrowing (a copy).
            narrowed = _narrowed(operands)
            if narrowed is None:
                raise
        (result,) = executable(*narrowed)
        return result

    @property
    def xla_options(self) -> dict[str, Any]:
        """The XLA options the program for weights in the user's layout was compiled with."""
        return xla_options_for(self.spec, self.strategy, self._backend, self._compiler_options)

    @property
    def packed_xla_options(self) -> dict[str, Any]:
        """The XLA options of the program for `prepack`ed weights."""
        return xla_options_for(self._packed_spec, self.strategy, self._backend, self._compiler_options)

    @property
    def temp_bytes(self) -> int:
        """Bytes of temporaries one call needs (XLA's buffer assignment)."""
        return self._executable.temp_bytes()

    def prepack(self, rhs: Any) -> PackedWeights:
        """rhs in the packed layout, for inference: pack once, call many times."""
        (rhs_signature,) = self._executable.inputs[1:]
        array = jax.device_put(_as_array("rhs", rhs), self._executable.device)
        if tuple(array.shape) != rhs_signature.shape or array.dtype.name != rhs_signature.dtype:
            raise ValueError(
                f"rhs must be {rhs_signature} to prepack, got {array.dtype.name}{list(array.shape)}"
            )
        order = packed_order(self.spec, self.strategy)
        return PackedWeights(jax.numpy.transpose(array, order), self._packed_spec)

    def _packed_executable(self) -> runner.Executable:
        if self._packed is None:
            from localconv.lowering.pipelines import default_pipeline

            pipeline = default_pipeline(self._backend, self.strategy)
            module = lower_spec(self._packed_spec, pipeline=pipeline, backend=self._backend).module
            self._packed = compile_for(
                module, self._packed_spec, self.strategy, self._backend, self._compiler_options
            )
        return self._packed

    def as_text(self) -> str:
        """XLA's optimized HLO for this backend."""
        return self._executable.hlo_text()


class Lowered:
    """An unshared convolution lowered to StableHLO by a pipeline; compile it to run it."""

    def __init__(self, spec: ConvSpec, module: ir.Module, pipeline: str | None, backend: str = "cpu") -> None:
        self.spec = spec
        self.module = module
        self.pipeline = pipeline
        self.backend = backend

    def as_text(self, debug_info: bool = False) -> str:
        """The module's MLIR text (with locations when `debug_info`)."""
        return self.module.operation.get_asm(enable_debug_info=debug_info)

    def compile(
        self,
        backend: str | None = None,
        compiler_options: Mapping[str, Any] | None = None,
        autotune: bool = False,
    ) -> Compiled:
        """Compiles the module through XLA for `backend` (default: the one it was lowered for).

        The default pipeline's strategy depends on the backend, so compiling for another
        backend lowers the spec again for it first. With `autotune=True` the strategies worth
        timing on the backend (`cost_model.candidate_strategies`) are timed on this machine
        once (the winner is cached on disk, see `localconv.autotune`) and the fastest is
        compiled.
        """
        runner.check_compiler_options(compiler_options)
        backend = backend or self.backend
        lowered = self
        if autotune:
            from localconv.lowering.pipelines import default_pipeline

            strategy = autotune_strategy(self.spec, backend, compiler_options)
            lowered = lower_spec(self.spec, pipeline=default_pipeline(backend, strategy), backend=backend)
        elif backend != self.backend and self.pipeline == "default":
            lowered = lower_spec(self.spec, pipeline="default", backend=backend)
        strategy = lowered.strategy or cost_model.choose_strategy(self.spec, backend).strategy
        executable = compile_for(lowered.module, self.spec, strategy, backend, compiler_options)
        return Compiled(self.spec, executable, backend, compiler_options, strategy)

    @property
    def strategy(self) -> str | None:
        """The contraction strategy the module runs (`localconv.strategy`), if it records one.

        A composite's attribute only asks for a strategy: until `localconv-legalize-composite`
        lowers it, XLA runs the composite's decomposition, whose contraction is tagged too.
        """
        return module_strategy(self.module)


def module_strategy(module: ir.Module) -> str | None:
    """The contraction strategy `module` runs: the first `localconv.strategy` off composites."""
    from localconv.lowering.pass_base import ops_where

    found = ops_where(
        module.operation, lambda op: STRATEGY_ATTRIBUTE in op.attributes and op.name != "stablehlo.composite"
    )
    return ir.StringAttr(found[0].attributes[STRATEGY_ATTRIBUTE]).value if found else None


def compile_for(
    module: ir.Module,
    spec: ConvSpec,
    strategy: str | None,
    backend: str,
    compiler_options: Mapping[str, Any] | None = None,
) -> runner.Executable:
    """`module` (`strategy`'s program for `spec`) compiled with `xla_options_for`'s options."""
    return runner.compile_module(module, backend, xla_options_for(spec, strategy, backend, compiler_options))


def xla_options_for(
    spec: ConvSpec, strategy: str | None, backend: str, compiler_options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The XLA options `strategy`'s program for `spec` compiles with: those it runs best with
    (`cost_model.xla_options`) under the caller's `compiler_options`."""
    runner.check_compiler_options(compiler_options)
    return cost_model.xla_options(spec, strategy, backend) | dict(compiler_options or {})


def autotune_strategy(spec: ConvSpec, backend: str, compiler_options: Mapping[str, Any] | None = None) -> str:
    """The cached autotuned strategy of `spec` on `backend`, timing the candidates if needed."""
    from localconv.lowering.pipelines import default_pipeline

    cached = autotune.cached_strategy(spec, backend, compiler_options)
    if cached is not None:
        return cached
    # A forced strategy skips the cost model's memory budget, so the over-budget ones are not run.
    candidates = [
        s for s in cost_model.candidate_strategies(backend) if cost_model.fits_memory_budget(spec, s)
    ]
    if len(candidates) < 2:
        # Nothing to compare: the one that fits, or (on GPU, where no candidate is a loop
        # that avoids the patch tensor) the cost model's choice, which ignores the host budget.
        return candidates[0] if candidates else cost_model.choose_strategy(spec, backend).strategy
    device = runner.get_client(backend).local_devices()[0]
    lhs, rhs = autotune.random_operands(spec, device)

    def run_strategy(strategy: str):
        module = lower_spec(spec, pipeline=default_pipeline(backend, strategy), backend=backend).module
        executable = compile_for(module, spec, strategy, backend, compiler_options)
        return lambda: executable(lhs, rhs)

    return autotune.tune(
        spec, backend, run_strategy, compiler_options=compiler_options, strategies=candidates
    )


def lower(
    lhs: Any,
    rhs: Any,
    window_strides: Any,
    padding: Any,
    filter_shape: Any,
    lhs_dilation: Any = None,
    rhs_dilation: Any = None,
    dimension_numbers: Any = None,
    precision: Any = None,
    *,
    pipeline: str | None = "default",
    backend: str = "cpu",
) -> Lowered:
    """Lowers `conv_general_dilated_local` with these arguments to StableHLO.

    `lhs` and `rhs` may be arrays or `jax.ShapeDtypeStruct`s; the other arguments are those of
    `jax.lax.conv_general_dilated_local`. `pipeline` names the pass pipeline that rewrites the
    emitted composite (`"default"` or `"O0"`, or a textual pipeline); `pipeline=None` keeps the
    composite form, localconv's public IR contract.
    """
    spec = ConvSpec.from_arguments(
        *_shape_dtype("lhs", lhs),
        *_shape_dtype("rhs", rhs),
        window_strides,
        padding,
        filter_shape,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers,
        precision,
    )
    return lower_spec(spec, pipeline=pipeline, backend=backend, call_site=_caller_location())


def lower_spec(
    spec: ConvSpec,
    *,
    pipeline: str | None = "default",
    backend: str = "cpu",
    call_site: tuple[str, int] | None = None,
) -> Lowered:
    """Lowers an already validated `ConvSpec` (see `lower`); `call_site` is (file, line)."""
    from localconv.lowering import run_pipeline
    from localconv.lowering.pipelines import default_pipeline

    if pipeline is not None and not isinstance(pipeline, str):
        kind = type(pipeline).__name__
        raise TypeError(f"pipeline must be 'default', 'O0', a textual pass pipeline or None, got {kind}")
    runner.check_backend(backend)

    context = irbuild.make_context()
    with context:
        location = ir.Location.file(*call_site, 0) if call_site else ir.Location.unknown()
    module = emitter.build_module(spec, "composite", context=context, loc=location)
    if pipeline is not None:
        run_pipeline(module, default_pipeline(backend) if pipeline == "default" else pipeline)
    return Lowered(spec, module, pipeline, backend)


def conv_general_dilated_local(
    lhs: Any,
    rhs: Any,
    window_strides: Any,
    padding: Any,
    filter_shape: Any,
    lhs_dilation: Any = None,
    rhs_dilation: Any = None,
    dimension_numbers: Any = None,
    precision: Any = None,
) -> jax.Array:
    """General n-dimensional unshared convolution, computed by localconv's compiled lowering.

    Same signature and same result as `jax.lax.conv_general_dilated_local`: a convolution with
    a separate kernel at every output position. `rhs` has the output spatial dimensions where
    a normal kernel has its window, and its `I` dimension fuses the input channel with the
    receptive window in the order `"C" + spatial characters of rhs_spec`. It is a JAX
    primitive: it works eagerly and under `jax.jit`, `jax.grad` (any order), `jax.vmap`,
    `jax.export` and sharding, and every signature is lowered by localconv's pipeline once.

    Args:
      lhs: rank n+2 input.
      rhs: rank n+2 unshared kernel, [output spatial..., C * prod(filter_shape), O] in
        rhs-spec positions.
      window_strides: n strides, in rhs-spec spatial order.
      padding: 'SAME', 'SAME_LOWER', 'VALID', or n (low, high) pairs.
      filter_shape: n receptive-window extents, in rhs-spec spatial order.
      lhs_dilation: None or n input dilation factors.
      rhs_dilation: None or n window dilation factors.
      dimension_numbers: None, a `lax.ConvDimensionNumbers`, or (lhs_spec, rhs_spec, out_spec).
      precision: None, a `lax.Precision`, a precision string, or a pair of either.

    Returns:
      The result, in out-spec layout, with the higher-precision of the operand dtypes.
    """
    lhs_array, rhs_array = _as_array("lhs", lhs), _as_array("rhs", rhs)
    spec = ConvSpec.from_arguments(
        lhs_array.shape,
        lhs_array.dtype,
        rhs_array.shape,
        rhs_array.dtype,
        window_strides,
        padding,
        filter_shape,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers,
        precision,
    )
    return primitive.bind_conv(lhs_array, rhs_array, spec)


def packed_order(spec: ConvSpec, strategy: str | None = None) -> tuple[int, ...]:
    """The rhs dims of `spec` in packed order for `strategy` (default: the cost model's)."""
    perms = spec.dimension_numbers
    strategy = strategy or cost_model.choose_strategy(spec).strategy
    if strategy == "accumulate_loop":
        return accumulate_loop_packed_order(spec)
    if strategy == "multiply_reduce":
        return tuple(range(spec.num_spatial + 2))
    if strategy == "row_loop" and row_loop.row_loop_weights_left(spec):
        return (*perms.rhs[2:], perms.rhs[0], perms.rhs[1])
    return (*perms.rhs[2:], perms.rhs[1], perms.rhs[0])


def packed_spec(spec: ConvSpec, strategy: str | None = None) -> ConvSpec:
    """`spec` with rhs in the packed layout of `packed_order`."""
    return spec.with_rhs_order(packed_order(spec, strategy))


def _as_array(name: str, value: Any) -> Any:
    """`value` as an array of a supported dtype, narrowed as JAX narrows (x64 off)."""
    if isinstance(value, (jax.Array, np.ndarray)):
        array = value
    elif isinstance(value, (list, tuple)):
        # JAX's ArrayLike takes no Python sequences either (its asarray raises TypeError).
        raise TypeError(f"{name} must be an array or a scalar, got {type(value).__name__}; use numpy.asarray")
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array, got {type(value).__name__}") from err
        if array.dtype.kind in "OUS":
            raise TypeError(f"{name} must be an array, got {type(value).__name__}: {value!r:.80}")
    canonical = shapes.canonical_dtype(name, array.dtype)
    return jax.numpy.asarray(array, dtype=canonical) if canonical != array.dtype.name else array


def _narrowed(operands: tuple[Any, Any]) -> tuple[Any, Any] | None:
    """(lhs, rhs) narrowed as `lower` narrows them, or None where that changes nothing.

    TypeError, naming the operand, where one is not an array (a list, a `PackedWeights` as lhs).
    """
    narrowed = tuple(_as_array(name, v) for name, v in zip(("lhs", "rhs"), operands, strict=True))
    return None if all(n is v for n, v in zip(narrowed, operands, strict=True)) else narrowed


def _shape_dtype(name: str, value: Any) -> tuple[Any, Any]:
    if isinstance(value, jax.ShapeDtypeStruct) or (hasattr(value, "shape") and hasattr(value, "dtype")):
        return value.shape, value.dtype
    array = _as_array(name, value)
    return array.shape, array.dtype


def _caller_location() -> tuple[str, int] | None:
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)).startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None
