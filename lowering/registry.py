"""The one list of localconv passes, keyed by pass name (the flag `localconv-opt` accepts)."""

from __future__ import annotations

from .legalize_composite import LegalizeComposite

PASSES = {p.name: p for p in (LegalizeComposite(),)}
