"""Peel chains across the stream: peel-chain steps that spend each other's remainder.

A single peel step (a small payment off a large remainder) is everyday wallet behaviour.
A chain of them, each spending the previous step's remainder, is the laundering pattern:
value walked down a line of fresh addresses. ``PeelChains`` remembers the remainder output
of every step it sees (bounded, least recently used dropped first) and reports a
``peel_chain`` hit from the ``min_steps``-th linked step on. State is per scorer process:
with several replicas a chain whose steps land on different replicas is seen in parts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from chainwatch.shared.schemas import RuleHit, Transaction

STEP_RULE = "peel_chain_step"


class PeelChains:
    def __init__(self, min_steps: int = 3, max_outpoints: int = 200_000) -> None:
        self.min_steps = min_steps
        self.max_outpoints = max_outpoints
        self._steps: OrderedDict[str, int] = OrderedDict()

    def link(self, tx: Transaction, hits: Sequence[RuleHit]) -> RuleHit | None:
        """Record ``tx`` if it is a peel step; a hit when it extends a chain far enough."""
        if not any(h.rule == STEP_RULE for h in hits):
            return None
        previous = max((self._steps.pop(f"{i.txid}:{i.vout}", 0) for i in tx.vin), default=0)
        steps = previous + 1

        payments = [n for n, o in enumerate(tx.vout) if o.scriptpubkey_type != "op_return"]
        remainder = max(payments, key=lambda n: tx.vout[n].value)
        self._steps[f"{tx.txid}:{remainder}"] = steps
        while len(self._steps) > self.max_outpoints:
            self._steps.popitem(last=False)

        if steps < self.min_steps:
            return None
        peel_sat = tx.value_out - tx.vout[remainder].value
        return RuleHit(
            rule="peel_chain",
            category="peel_chain",
            addresses=[a for o in tx.vout if (a := o.scriptpubkey_address)],
            share_of_value=peel_sat / tx.value_out if tx.value_out else 0.0,
            detail=f"step {steps} of a chain of peels, each spending the last one's remainder",
        )
