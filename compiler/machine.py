"""What this machine can do, measured through XLA: memory read bandwidth and matmul rate.

These two numbers bound every convolution from below (the roofline): time >= max(bytes that
must move once / bandwidth, FLOPs / matmul rate). Measured once per process and backend.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from .runner import get_client


@dataclasses.dataclass(frozen=True)
class MachineRates:
    """Measured read bandwidth (bytes/s) and f32 matmul rate (FLOP/s) of one backend."""

    backend: str
    read_bandwidth: float
    matmul_flops: float

    def bound_seconds(self, bytes_moved: int, flops: int) -> float:
        """The roofline lower bound on the time of a kernel that moves and computes this much."""
        return max(bytes_moved / self.read_bandwidth, flops / self.matmul_flops)

    def memory_bound(self, bytes_moved: int, flops: int) -> bool:
        """Whether moving the bytes takes at least as long as the FLOPs (the roofline's side)."""
        return bytes_moved / self.read_bandwidth >= flops / self.matmul_flops


def _best_time(fn, *args, repeat: int = 11) -> float:
    """The fastest of `repeat` calls, in seconds.

    A bound needs the machine's best rate: on a shared machine the median came out below
    rates the convolutions themselves reached (a 21 GB/s median read bandwidth against the
    24 GB/s at which face_9x9's prepacked weights were streamed).
    """
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


# (MiB summed, matmul side), large enough to take launch latency out of the measurement: on
# an H100 the CPU's 256 MiB sum and 1536^3 matmul ran in tens of microseconds, so latency
# halved the rates.
CPU_PROBE_SIZES = (256, 1536)
ACCELERATOR_PROBE_SIZES = (2048, 8192)


@functools.cache
def measure(backend: str = "cpu") -> MachineRates:
    """Measures `backend` (a few seconds): a large reduction and a square f32 matmul.

    ValueError naming the present platforms where `backend` is absent.
    """
    vector_mib, matmul_size = CPU_PROBE_SIZES if backend == "cpu" else ACCELERATOR_PROBE_SIZES
    device = get_client(backend).local_devices()[0]
    vector = jax.device_put(np.ones(vector_mib * 2**18, np.float32), device)
    read = _best_time(jax.jit(jnp.sum), vector)
    a = jax.device_put(np.ones((matmul_size, matmul_size), np.float32), device)
    matmul = _best_time(jax.jit(jnp.matmul), a, a)
    return MachineRates(backend, vector.nbytes / read, 2 * matmul_size**3 / matmul)
