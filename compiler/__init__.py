"""localconv: unshared convolutions (`jax.lax.conv_general_dilated_local`) compiled to StableHLO.

The front end (`spec`) validates and canonicalizes parameters; the emitter builds a
`localconv.conv_general_dilated_local` composite whose decomposition is a patch gather plus a
batched dot_general; `localconv.lowering` rewrites it with MLIR passes; the runner compiles and
executes it through XLA.
"""

from .api import Compiled, Lowered, PackedWeights, conv_general_dilated_local, lower, lower_spec
from .composite import CompositeError, spec_from_composite
from .spec import ConvSpec

__all__ = [
    "Compiled",
    "CompositeError",
    "ConvSpec",
    "Lowered",
    "PackedWeights",
    "conv_general_dilated_local",
    "lower",
    "lower_spec",
    "spec_from_composite",
]
