"""A roofline chart (PNG) of this machine with convolutions placed on it; needs matplotlib."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .cost_model import estimate
from .machine import MachineRates
from .spec import ConvSpec


def plot_roofline(
    specs: Sequence[ConvSpec],
    rates: MachineRates,
    path: str,
    measured_seconds: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
) -> None:
    """Draws the roofline and each op at its intensity (at its bound, or its measured rate)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'localconv[plot]'") from None
    intensities = np.logspace(-2, 3, 200)
    roof = np.minimum(intensities * rates.read_bandwidth, rates.matmul_flops) / 1e9
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.loglog(intensities, roof, color="black", label=f"roofline ({rates.backend})")
    for index, spec in enumerate(specs):
        cost = estimate(spec)
        if measured_seconds is not None:
            rate = cost.flops / measured_seconds[index] / 1e9
        else:
            rate = cost.flops / rates.bound_seconds(cost.min_bytes_moved, cost.flops) / 1e9
        label = labels[index] if labels else f"conv {index}"
        axes.scatter([cost.arithmetic_intensity], [rate], zorder=3)
        axes.annotate(label, (cost.arithmetic_intensity, rate), fontsize=7)
    axes.set_xlabel("arithmetic intensity (FLOP / byte moved once)")
    axes.set_ylabel("GFLOP/s")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
