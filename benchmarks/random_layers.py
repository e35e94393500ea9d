"""Random realistic layers: a reproducible sweep beyond the fixed suite (`--random N --seed S`).

The suite's 15 layers are where the speed targets are measured; a sweep of random layers is
where the cost model meets shapes nobody picked, and where a form that loses to JAX's own
lowering shows up (two of them did: mixed layouts whose one-trip loop XLA fused into a loop
that reads rhs element by element, 20-30x slower than JAX). Each layer draws a batch, channel
counts, a square input, a window with its stride, dilation and padding, and one of four
layouts (NCHW or NHWC activations, OIHW or HWIO weights, mixed too); layers whose rhs would
be under 100 KB or over 80 MB, or that would take over 3 GFLOP, are drawn again, so a layer
runs in milliseconds to a few hundred.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from localconv.cost_model import estimate

from .suite import Case

LAYOUTS = (
    ("NCHW", "OIHW", "NCHW"),
    ("NHWC", "HWIO", "NHWC"),
    ("NCHW", "HWIO", "NCHW"),
    ("NHWC", "OIHW", "NHWC"),
)
BATCHES = (1, 1, 2, 4, 8, 16, 32, 64)
IN_FEATURES = (3, 8, 16, 32, 64, 128)
OUT_FEATURES = (8, 16, 32, 64, 128)
EXTENTS = (4, 7, 8, 12, 16, 24, 32, 48, 64)
WINDOWS = (1, 2, 3, 3, 3, 5, 7)
MIN_RHS_BYTES = 100_000
MAX_RHS_BYTES = 80_000_000
MAX_FLOPS = 3_000_000_000


def random_cases(count: int, seed: int) -> list[Case]:
    """`count` random layers drawn from `seed`: the same seed gives the same layers, numbered."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    while len(cases) < count:
        case = draw(rng)
        spec = case.spec()
        cost = estimate(spec)
        positions = math.prod(spec.out_spatial)
        if positions and MIN_RHS_BYTES <= cost.weight_bytes <= MAX_RHS_BYTES and cost.flops <= MAX_FLOPS:
            cases.append(dataclasses.replace(case, name=f"r{len(cases)}_{case.name}"))
    return cases


def draw(rng: np.random.Generator) -> Case:
    """One random 2D layer, named by its parameters (`random_cases` keeps those within bounds)."""
    batch = int(rng.choice(BATCHES))
    in_features, out_features = int(rng.choice(IN_FEATURES)), int(rng.choice(OUT_FEATURES))
    extent, window = int(rng.choice(EXTENTS)), int(rng.choice(WINDOWS))
    # 2x2 windows tile the input (stride 2); larger ones take stride 2 a quarter of the time.
    stride = 2 if window == 2 else int(rng.choice((1, 1, 1, 2))) if window > 1 else 1
    dilation = int(rng.choice((1, 1, 1, 1, 2))) if window == 3 else 1
    padding = str(rng.choice(("SAME", "VALID")))
    dims = LAYOUTS[int(rng.integers(len(LAYOUTS)))]
    if window + (window - 1) * (dilation - 1) > extent and padding == "VALID":
        padding = "SAME"
    lhs_shape = (
        (batch, in_features, extent, extent) if dims[0] == "NCHW" else (batch, extent, extent, in_features)
    )
    name = (
        f"b{batch}_c{in_features}_o{out_features}_{extent}x{extent}_{window}x{window}_s{stride}_d{dilation}"
        f"_{padding.lower()}_{dims[0].lower()}_{dims[1].lower()}"
    )
    return Case(
        name,
        lhs_shape,
        out_features,
        (stride, stride),
        padding,
        (window, window),
        dims,
        rhs_dilation=(dilation, dilation),
    )
