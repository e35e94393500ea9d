"""`localconv-contraction-strategy`: picks how each localconv composite is contracted.

The cost model (`localconv.cost_model`) chooses `batched_dot`, `accumulate_loop`,
`position_loop`, `row_loop` or (on GPU) `multiply_reduce` from the rhs layout, the batch
size, the size of each position's matmul and a memory budget; the choice and its reason are
attached to the composite as `localconv.strategy` / `localconv.strategy_reason`, where
`localconv-legalize-composite` reads them and lit tests can check them. The `strategy`
option forces one strategy; `backend` names the target (the rules differ on GPU).
"""

from __future__ import annotations

import dataclasses

from jaxlib.mlir import ir

from localconv.composite import CompositeError, is_localconv_composite, spec_from_composite
from localconv.contraction import STRATEGIES, STRATEGY_ATTRIBUTE
from localconv.cost_model import choose_strategy
from localconv.runner import BACKENDS

from .pass_base import ModulePass, PassError, ops_where

REASON_ATTRIBUTE = "localconv.strategy_reason"


@dataclasses.dataclass(frozen=True)
class ContractionStrategy(ModulePass):
    """Annotates localconv composites with the contraction strategy to lower them with.

      %0 = stablehlo.composite "localconv.conv_general_dilated_local" %lhs, %rhs {...}
    ==>
      %0 = stablehlo.composite "localconv.conv_general_dilated_local" %lhs, %rhs {...,
             localconv.strategy = "accumulate_loop", localconv.strategy_reason = "..."}
    """

    name = "localconv-contraction-strategy"
    summary = "Choose the contraction strategy of each composite with the cost model"
    strategy: str = dataclasses.field(default="auto", metadata={"choices": ("auto", *STRATEGIES)})
    backend: str = dataclasses.field(default="cpu", metadata={"choices": BACKENDS})

    def run(self, module: ir.Operation) -> None:
        for op in ops_where(module, is_localconv_composite):
            with op.location:
                try:
                    spec = spec_from_composite(op)
                except CompositeError as err:
                    raise PassError(str(err), op.location) from err
                if self.strategy == "auto":
                    choice = choose_strategy(spec, self.backend)
                    strategy, reason = choice.strategy, choice.reason
                else:
                    strategy, reason = self.strategy, "forced by the strategy option"
                op.attributes[STRATEGY_ATTRIBUTE] = ir.StringAttr.get(strategy)
                op.attributes[REASON_ATTRIBUTE] = ir.StringAttr.get(reason)
