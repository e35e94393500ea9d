"""The one list of localconv passes, keyed by pass name (the flag `localconv-opt` accepts).

`--list-passes`, the README's pass table and the pipeline parser all read this dict.
"""

from __future__ import annotations

from .contraction_strategy import ContractionStrategy
from .fold_transposes import FoldTransposes
from .legalize_composite import LegalizeComposite
from .pass_base import ModulePass
from .patches_to_gather import PatchesToGather
from .recognize_jax_patches import RecognizeJaxPatches
from .simplify_patch_gather import SimplifyPatchGather

PASSES: dict[str, type[ModulePass]] = {
    p.name: p
    for p in (
        RecognizeJaxPatches,
        ContractionStrategy,
        LegalizeComposite,
        SimplifyPatchGather,
        PatchesToGather,
        FoldTransposes,
    )
}


def describe_passes() -> str:
    """Every pass with its summary and options (for --list-passes); the sketches are in help."""
    blocks = []
    for name, cls in sorted(PASSES.items()):
        options = ", ".join(f"{f.name.replace('_', '-')}={f.default!r}" for f in cls.option_fields())
        blocks.append(f"{name}: {cls.summary}" + (f"\n  options: {options}" if options else ""))
    return "\n".join(blocks)
