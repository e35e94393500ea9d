"""The README's main job: lower a realistic locally connected layer, run it, check it against JAX.

The default layer is face-recognition style (DeepFace-like locally connected layer): batch 8,
32 input and 32 output channels, 32x32 input, 3x3 unshared windows, SAME padding, NCHW.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

import jax
import numpy as np
from jax import lax
from jaxlib.mlir import ir

from .api import lower
from .cost_model import choose_strategy
from .params import explicit_padding
from .shapes import output_spatial
from .timing import median_seconds


@dataclass(frozen=True)
class DemoLayer:
    """The shape of the demo layer."""

    batch: int = 8
    in_channels: int = 32
    out_channels: int = 32
    size: int = 32
    window: int = 3
    padding: str = "SAME"


def op_counts(module: ir.Module) -> dict[str, int]:
    """How many ops of each name the module's functions hold."""
    counts: collections.Counter[str] = collections.Counter()

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name not in ("builtin.module", "func.func"):
            counts[op.name] += 1
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return dict(sorted(counts.items()))


def run_demo(layer: DemoLayer = DemoLayer(), repeat: int = 10, seed: int = 0) -> bool:
    """Lowers, runs and checks the demo layer, printing a summary; True when results agree."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rng = np.random.default_rng(seed)
    lhs = rng.standard_normal((layer.batch, layer.in_channels, layer.size, layer.size), np.float32)
    window = (layer.window, layer.window)
    args = ((1, 1), layer.padding, window)
    padding = explicit_padding(layer.padding, (layer.size, layer.size), window, (1, 1), (1, 1))
    out_spatial = output_spatial((layer.size, layer.size), window, (1, 1), padding, (1, 1), (1, 1))
    patch = layer.in_channels * layer.window**2
    rhs = rng.standard_normal((layer.out_channels, patch, *out_spatial), np.float32)
    rhs /= np.sqrt(patch)

    start = time.perf_counter()
    lowered = lower(lhs, rhs, *args)
    lower_time = time.perf_counter() - start
    start = time.perf_counter()
    compiled = lowered.compile("cpu")
    compile_time = time.perf_counter() - start
    spec = lowered.spec
    print(
        f"layer: lhs {spec.lhs_shape} NCHW, rhs {spec.rhs_shape} OIHW, window {spec.filter_shape}, "
        f"padding {spec.padding}, out {spec.out_shape}"
    )
    counts = op_counts(lowered.module)
    choice = choose_strategy(spec)
    print(f"contraction strategy: {choice.strategy} ({choice.reason})")
    print(f"IR after the default pipeline ({sum(counts.values())} ops):")
    for name, count in counts.items():
        print(f"  {name:28s} {count}")
    print(f"lowering {lower_time * 1e3:.1f} ms, XLA compile {compile_time * 1e3:.1f} ms")

    reference = jax.jit(lambda a, b: lax.conv_general_dilated_local(a, b, *args))
    lhs, rhs = jax.device_put(lhs), jax.device_put(rhs)  # time the op, not host transfers
    ours = np.asarray(compiled(lhs, rhs))
    theirs = np.asarray(reference(lhs, rhs))
    error = float(np.max(np.abs(ours - theirs)))
    agree = bool(np.allclose(ours, theirs, rtol=1e-4, atol=1e-4))
    print(f"max |localconv - jax| = {error:.2e} -> {'OK' if agree else 'MISMATCH'}")

    contenders = {"localconv": lambda: compiled(lhs, rhs), "jax": lambda: reference(lhs, rhs)}
    times = median_seconds(contenders, repeat)
    ours_time, jax_time = times["localconv"], times["jax"]
    print(
        f"median of {repeat} runs on cpu: localconv {ours_time * 1e3:.2f} ms, "
        f"jax.lax.conv_general_dilated_local {jax_time * 1e3:.2f} ms "
        f"({jax_time / ours_time:.2f}x)"
    )
    return agree
