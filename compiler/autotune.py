"""Autotuning: time the candidate strategies of one convolution once, remember the winner.

The cost model's rules come from one machine; `Lowered.compile(autotune=True)` measures the
candidates on the machine and backend at hand instead, and caches the winner on disk keyed by
the op's signature, the backend, the XLA options and the environment the timings depend on
(device, host CPU, jaxlib and localconv versions, and a hash of localconv's sources), so later
processes compile the winner directly and a cache shared between machines or kept across
upgrades or code changes never hands one setting's winner to another. The cache lives in
`$LOCALCONV_CACHE_DIR` (default `~/.cache/localconv`) as one JSON file, written atomically; a
corrupt or unreadable cache, or an entry naming no strategy, is ignored, never fatal.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jaxlib
import numpy as np

from . import host
from .atomic import write_atomically
from .contraction import STRATEGIES
from .spec import ConvSpec
from .timing import median_seconds, queued_calls

CACHE_FILE = "autotune.json"
_lock = threading.Lock()


def cache_path() -> str:
    """Where autotuning results are kept."""
    directory = os.environ.get("LOCALCONV_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "localconv"
    )
    return os.path.join(directory, CACHE_FILE)


def environment(backend: str) -> dict[str, str]:
    """What a strategy's timing depends on besides the op and the caller's XLA options.

    It includes what decides the XLA options localconv adds itself (AVX-512, see
    `cost_model.xla_options`), which a generic CPU model name in a VM may not tell apart.
    """
    return dict(_environment(backend))


@functools.cache
def _environment(backend: str) -> tuple[tuple[str, str], ...]:
    """`environment`, looked up once per process and backend (package metadata is file I/O)."""
    try:
        device = jax.devices(backend)[0].device_kind
    except RuntimeError:
        device = "unavailable"
    try:
        version = importlib.metadata.version("localconv")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    from localconv import lowering

    code = source_fingerprint([os.path.dirname(__file__), os.path.dirname(lowering.__file__)])
    return (
        ("device", device),
        ("host", host.host_cpu()),
        ("avx512", str(host.has_avx512())),
        ("jaxlib", jaxlib.__version__),
        ("localconv", version),
        ("code", code),
    )


def source_fingerprint(directories: Sequence[str]) -> str:
    """A short hash of the Python sources directly in `directories`: names and contents.

    The package version stays the same across the commits of a source checkout, while the
    emitted programs, and so the winners, change with the code.
    """
    digest = hashlib.sha256()
    for directory in directories:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as handle:
                    digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()[:16]


def cache_key(spec: ConvSpec, backend: str, compiler_options: Mapping[str, Any] | None = None) -> str:
    """A stable key for the op's signature, the backend, the XLA options and the `environment`."""
    options = sorted((str(k), str(v)) for k, v in (compiler_options or {}).items())
    identity = json.dumps([backend, environment(backend), options, repr(spec)], sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()


def cached_strategy(
    spec: ConvSpec, backend: str, compiler_options: Mapping[str, Any] | None = None
) -> str | None:
    """The strategy a previous autotuning run chose for this op and setting, if any."""
    entry = _read_cache().get(cache_key(spec, backend, compiler_options))
    strategy = entry.get("strategy") if isinstance(entry, dict) else None
    return strategy if strategy in STRATEGIES else None


def tune(
    spec: ConvSpec,
    backend: str,
    run_strategy: Callable[[str], Callable[[], object]],
    strategies: Sequence[str],
    repeat: int = 5,
    compiler_options: Mapping[str, Any] | None = None,
) -> str:
    """Times `run_strategy(s)()` for each of `strategies`, caches and returns the fastest.

    The caller names the candidates: those worth timing on the backend
    (`cost_model.candidate_strategies`) that fit the memory budget.

    The strategies take turns in rounds (`timing.median_seconds`), so a slow phase of a shared
    machine or another strategy's long calls do not decide the winner; on an accelerator each
    sample is a queue of calls (`timing.queued_calls`), so the winner is the one with the best
    throughput, not the one that launches fastest. `compiler_options` are
    the caller's XLA options `run_strategy` compiles under (with the cost model's own, which
    follow from the op and the `environment`): part of the key.
    """
    runs = {strategy: run_strategy(strategy) for strategy in strategies}
    timings = median_seconds(runs, repeat, queue=queued_calls(backend))
    best = min(timings, key=timings.get)
    entry = {"strategy": best, "seconds": timings, "environment": environment(backend)}
    _write_entry(cache_key(spec, backend, compiler_options), entry)
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
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return {}
    return data if isinstance(data, dict) else {}


def _write_entry(key: str, entry: dict) -> None:
    path = cache_path()
    with _lock:
        data = _read_cache()
        data[key] = entry
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomically(path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError:
            pass  # an unwritable cache only costs re-tuning next time
