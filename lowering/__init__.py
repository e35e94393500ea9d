"""localconv's rewrite pipeline: named MLIR passes over StableHLO, run by jaxlib's PassManager.

`registry.PASSES` lists every localconv pass; `pipelines.run_pipeline` runs a named pipeline
(`O0`, `default`) or a textual one mixing localconv passes with MLIR built-in passes.
"""

from .pipelines import PIPELINES, PipelineError, PipelineOptions, run_pipeline

__all__ = ["PIPELINES", "PipelineError", "PipelineOptions", "run_pipeline"]
