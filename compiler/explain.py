"""`localconv explain`: what one unshared convolution costs and why the cost model chose a form."""

from __future__ import annotations

import platform

from .accumulate_layout import (
    accumulate_loop_vector_dim,
    loop_spec,
    loop_trip,
    loop_trips,
    one_trip,
    stride_phases,
    transposes_rhs,
    trip_channels,
    trip_rows,
    vector_batch,
)
from .allocator import MAX_MMAP_THRESHOLD
from .cost_model import choose_strategy, xla_options
from .machine import MachineRates
from .spec import ConvSpec


def vectors(spec: ConvSpec) -> str:
    """What the accumulate loop's fused update runs its vectors along, in words."""
    dim = accumulate_loop_vector_dim(spec)
    if dim is None:
        transposed = "; rhs is transposed to [I, spatial..., O] in each call" if transposes_rhs(spec) else ""
        return f"along O ({spec.out_features} output features; each input element is broadcast{transposed})"
    if dim == "N":
        padded = vector_batch(spec)
        padding = f", zero-padded to {padded}" if padded > spec.batch else ""
        phases = "; strided rows read from stride phases" if stride_phases(spec) else ""
        return f"along the batch ({spec.batch}{padding}; each rhs element is broadcast across it{phases})"
    return f"along output spatial dim {dim} ({spec.out_spatial[dim]} positions)"


def trips(spec: ConvSpec) -> str:
    """How the accumulate loop walks the contraction (`loop_trip`, `trip_channels`, `loop_trips`)."""
    spec = loop_spec(spec)
    rows = spec.patch_size
    if one_trip(spec):
        fused = "no loop (XLA fuses it into one loop over the output)"
        return f"one trip of all {rows} contraction rows: {fused}"
    group, updates = loop_trip(spec)
    channels = trip_channels(spec)
    unroll = trip_rows(spec)
    count = loop_trips(spec)
    peeled = rows - count * unroll
    if group is None:
        each = f"{unroll} consecutive contraction rows"
    else:
        plural = "s" if channels > 1 else ""
        each = f"{unroll} updates ({channels} channel{plural} x {updates} window offsets)"
    after = f", {peeled} rows after the loop" if peeled else ""
    return f"{count} trips of {each}{after}"


def explain(spec: ConvSpec, rates: MachineRates | None = None, backend: str = "cpu") -> str:
    """A readable report: parameters, shapes, bytes, FLOPs, intensity, strategy and roofline."""
    choice = choose_strategy(spec, backend)
    cost = choice.estimate
    lhs_spec, rhs_spec, out_spec = spec.spec_strings
    lines = [
        f"localconv.conv_general_dilated_local {lhs_spec},{rhs_spec},{out_spec}",
        f"  lhs {spec.lhs_dtype}{list(spec.lhs_shape)}  rhs {spec.rhs_dtype}{list(spec.rhs_shape)}"
        f"  ->  out {spec.out_dtype}{list(spec.out_shape)}",
        f"  window {list(spec.filter_shape)} strides {list(spec.window_strides)} padding "
        f"{[list(p) for p in spec.padding]} lhs_dilation {list(spec.lhs_dilation)} rhs_dilation "
        f"{list(spec.rhs_dilation)} precision {list(spec.precision)}",
        f"  lhs bytes     {cost.lhs_bytes:>14,}",
        f"  patch bytes   {cost.patch_bytes:>14,}",
        f"  weight bytes  {cost.weight_bytes:>14,}",
        f"  output bytes  {cost.output_bytes:>14,}",
        f"  FLOPs         {cost.flops:>14,}",
        f"  arithmetic intensity {cost.arithmetic_intensity:.2f} FLOP/byte",
        f"  strategy: {choice.strategy} ({choice.reason})",
    ]
    if choice.strategy == "accumulate_loop":
        lines.append(f"  accumulate_loop vectors: {vectors(spec)}")
        lines.append(f"  accumulate_loop trips: {trips(spec)}")
    options = xla_options(spec, choice.strategy, backend)
    if options:
        settings = ", ".join(f"{name}={value}" for name, value in options.items())
        lines.append(f"  XLA options: {settings} (its vectors fill this host's 512-bit registers)")
    if backend == "cpu" and cost.output_bytes > MAX_MMAP_THRESHOLD and platform.libc_ver()[0] == "glibc":
        lines.append(
            f"  output over {MAX_MMAP_THRESHOLD >> 20} MiB: glibc maps it afresh and page-faults it in on "
            "every call; localconv.allocator.keep_freed_memory() keeps it"
        )
    if rates is not None:
        moved = cost.min_bytes_moved
        bound = rates.bound_seconds(moved, cost.flops)
        limit = "memory" if rates.memory_bound(moved, cost.flops) else "compute"
        lines.append(
            f"  roofline on {rates.backend}: {bound * 1e3:.3f} ms ({limit}-bound; "
            f"{rates.read_bandwidth / 1e9:.1f} GB/s read, {rates.matmul_flops / 1e9:.1f} GFLOP/s f32 matmul)"
        )
    return "\n".join(lines)
