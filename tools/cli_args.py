"""Parsers for the command-line spellings of convolution parameters.

Each returns the value the Python API takes and raises `ValueError` with the flag's name when
the text does not parse, so the tools can print one clear line.
"""

from __future__ import annotations

import re

_DTYPES = {
    "f16": "float16",
    "bf16": "bfloat16",
    "f32": "float32",
    "f64": "float64",
    "c64": "complex64",
    "c128": "complex128",
}


def tensor_type(flag: str, text: str) -> tuple[tuple[int, ...], str]:
    """'8x16x32x32xf32' -> ((8, 16, 32, 32), 'float32')."""
    *dims, dtype = text.strip().split("x")
    if dtype not in _DTYPES or not all(re.fullmatch(r"\d+", d) for d in dims):
        raise ValueError(
            f"{flag} must look like 8x16x32x32xf32 with an element type in {sorted(_DTYPES)}, got {text!r}"
        )
    return tuple(int(d) for d in dims), _DTYPES[dtype]


def int_list(flag: str, text: str) -> tuple[int, ...]:
    """'1,2' -> (1, 2); '' -> () (zero spatial dimensions)."""
    items = [t.strip() for t in text.split(",")] if text.strip() else []
    if not all(re.fullmatch(r"-?\d+", t) for t in items):
        raise ValueError(f"{flag} must be comma-separated integers like 1,1, got {text!r}")
    return tuple(int(t) for t in items)


def padding(text: str) -> str | tuple[tuple[int, int], ...]:
    """'SAME' | 'SAME_LOWER' | 'VALID' | '1,1;0,2' (a low,high pair per spatial dimension)."""
    if re.fullmatch(r"[A-Za-z_]+", text.strip()):
        return text.strip()
    pairs = []
    for part in text.split(";"):
        pair = int_list("--padding", part)
        if len(pair) != 2:
            raise ValueError(f"--padding pairs must be low,high separated by ';', got {text!r}")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def dimension_numbers(text: str) -> tuple[str, str, str]:
    """'NCHW,OIHW,NCHW' -> ('NCHW', 'OIHW', 'NCHW')."""
    specs = tuple(s.strip() for s in text.split(","))
    if len(specs) != 3:
        raise ValueError(f"--dimension-numbers must be three specs like NCHW,OIHW,NCHW, got {text!r}")
    return specs  # type: ignore[return-value]


def precision(text: str) -> str | tuple[str, str]:
    """'HIGHEST' -> 'highest'; 'HIGH,DEFAULT' -> ('high', 'default')."""
    parts = [p.strip().lower() for p in text.split(",")]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return (parts[0], parts[1])
    raise ValueError(f"--precision must be one name or two names separated by ',', got {text!r}")
