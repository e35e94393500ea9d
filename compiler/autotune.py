"""Autotuning: time every contraction strategy of one convolution once, remember the winner.

The cost model's rules come from one machine; `Lowered.compile(autotune=True)` measures the
candidates on the machine and backend at hand instead, and caches the winner on disk keyed by
the op's signature and the backend, so later processes compile the winner directly. The cache
lives in `$LOCALCONV_CACHE_DIR` (default `~/.cache/localconv`) as one JSON file, written
atomically; a corrupt or unreadable cache is ignored, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

import jax
import numpy as np

from .contraction import STRATEGIES
from .spec import ConvSpec

CACHE_FILE = "autotune.json"
_lock = threading.Lock()


def cache_path() -> str:
    """Where autotuning results are kept."""
    directory = os.environ.get("LOCALCONV_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "localconv"
    )
    return os.path.join(directory, CACHE_FILE)


def cache_key(spec: ConvSpec, backend: str) -> str:
    """A stable key for the op's signature on `backend` (no addresses, no hash seeds)."""
    return hashlib.sha256(f"{backend}|{spec!r}".encode()).hexdigest()


def cached_strategy(spec: ConvSpec, backend: str) -> str | None:
    """The strategy a previous autotuning run chose, if any."""
    entry = _read_cache().get(cache_key(spec, backend))
    return entry.get("strategy") if isinstance(entry, dict) else None


def tune(
    spec: ConvSpec,
    backend: str,
    run_strategy: Callable[[str], Callable[[], object]],
    repeat: int = 5,
) -> str:
    """Times `run_strategy(s)()` for every strategy, caches and returns the fastest."""
    timings = {}
    for strategy in STRATEGIES:
        run = run_strategy(strategy)
        jax.block_until_ready(run())
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            jax.block_until_ready(run())
            samples.append(time.perf_counter() - start)
        timings[strategy] = statistics.median(samples)
    best = min(timings, key=timings.get)
    _write_entry(cache_key(spec, backend), {"strategy": best, "seconds": timings})
    return best


def random_operands(spec: ConvSpec, device) -> tuple[jax.Array, jax.Array]:
    """Random lhs and rhs of `spec`'s shapes and dtypes on `device` (for timing only)."""
    rng = np.random.default_rng(0)
    arrays = []
    for shape, dtype in ((spec.lhs_shape, spec.lhs_dtype), (spec.rhs_shape, spec.rhs_dtype)):
        value = rng.standard_normal(shape)
        if np.issubdtype(jax.numpy.dtype(dtype), np.complexfloating):
            value = value + 1j * rng.standard_normal(shape)
        arrays.append(jax.device_put(value.astype(jax.numpy.dtype(dtype)), device))
    return arrays[0], arrays[1]


def _read_cache() -> dict:
    try:
        with open(cache_path(), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_entry(key: str, entry: dict) -> None:
    path = cache_path()
    with _lock:
        data = _read_cache()
        data[key] = entry
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".autotune-", dir=os.path.dirname(path))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
            os.replace(temporary, path)
        except OSError:
            pass  # an unwritable cache only costs re-tuning next time
