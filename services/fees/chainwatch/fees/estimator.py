"""The fees service's state and its one product: a ``FeeEstimate`` from the live mempool.

``FeeEstimator`` holds the live mempool, the observations made after recent blocks (the
model's history), the model being served (or None), the latest estimate, and how each
recent block compared with the next-block rate recommended before it (the dashboard
panel). It touches no network: the service feeds it messages and publishes what it makes.

An estimate is made from the history with its newest observation's mempool replaced by the
mempool as it is now, so between blocks the recommendation follows the mempool.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from chainwatch.fees.blocks import BlockFees
from chainwatch.fees.book import LiveMempool
from chainwatch.fees.features import RECENT_BLOCKS
from chainwatch.fees.model import FeeModel
from chainwatch.fees.recommend import Recommendation, recommend
from chainwatch.fees.state import BlockRecord, Observation
from chainwatch.fees.template import TemplateBlock
from chainwatch.fees.txgraph import TxGraph
from chainwatch.shared.fee_events import FeeEstimate, TargetFee
from chainwatch.shared.mempool_events import MempoolSnapshot, ProjectedBlock

FEE_RANGE_PERCENTILES = (0, 10, 25, 50, 75, 90, 100)
DEFAULT_MIN_FEE_SAT_VB = 1.0
OUTCOMES_KEPT = 144


@dataclass(frozen=True)
class BlockOutcome:
    """How a mined block compares with the next-block rate recommended just before it."""

    height: int
    block_time_ts: int
    recommended_sat_vb: float | None
    method: str | None
    p5_fee_rate_sat_vb: float | None
    median_fee_rate_sat_vb: float | None
    known_tx_share: float

    @property
    def outcome(self) -> str | None:
        """overpaid (above the median), underpaid (below p5), in_range, or None."""
        rate, low, high = (
            self.recommended_sat_vb,
            self.p5_fee_rate_sat_vb,
            self.median_fee_rate_sat_vb,
        )
        if rate is None or low is None or high is None:
            return None
        if rate > high:
            return "overpaid"
        return "underpaid" if rate < low else "in_range"

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "block_time": datetime.fromtimestamp(self.block_time_ts, UTC).isoformat(),
            "recommended_sat_vb": self.recommended_sat_vb,
            "method": self.method,
            "block_p5_sat_vb": self.p5_fee_rate_sat_vb,
            "block_median_sat_vb": self.median_fee_rate_sat_vb,
            "known_tx_share": round(self.known_tx_share, 4),
            "outcome": self.outcome,
        }


def project(graph: TxGraph, blocks: list[TemplateBlock]) -> list[ProjectedBlock]:
    """The wire form of projected blocks: size, count, fees, median and fee-rate range."""
    out = []
    for block in blocks:
        rates = block.effective_fee_rate_sat_vb
        out.append(
            ProjectedBlock(
                block_vsize_vb=float(block.vsize_vb),
                tx_count=block.tx_count,
                total_fee_sat=block.fee_sat,
                median_fee_rate_sat_vb=float(np.median(rates)),
                fee_range_sat_vb=[
                    round(float(v), 4) for v in np.percentile(rates, FEE_RANGE_PERCENTILES)
                ],
            )
        )
    return out


class FeeEstimator:
    """State of the fees service between messages."""

    def __init__(self, mempool: LiveMempool) -> None:
        self.mempool = mempool
        self.history: deque[Observation] = deque(maxlen=RECENT_BLOCKS)
        self.model: FeeModel | None = None
        self.snapshot: MempoolSnapshot | None = None
        self.latest: FeeEstimate | None = None
        self.outcomes: deque[BlockOutcome] = deque(maxlen=OUTCOMES_KEPT)

    @property
    def min_fee_sat_vb(self) -> float:
        reported = self.snapshot.min_fee_rate_sat_vb if self.snapshot else None
        return reported if reported is not None else DEFAULT_MIN_FEE_SAT_VB

    @property
    def tip_height(self) -> int | None:
        return self.history[-1].block.height if self.history else None

    def observe_now(self, now_ts: int) -> Observation:
        """The mempool now, attached to the newest block (a placeholder before the first)."""
        state = self.mempool.summary(self.min_fee_sat_vb)
        if self.snapshot is not None and self.snapshot.tx_count:
            # The source sees the whole mempool; ours may be partial after a restart.
            state = replace(
                state,
                tx_count=self.snapshot.tx_count,
                vsize_vb=self.snapshot.vsize_vb or state.vsize_vb,
                total_fee_sat=self.snapshot.total_fee_sat or state.total_fee_sat,
            )
        block = self.history[-1].block if self.history else BlockRecord(0, now_ts, None, 1, 0)
        return Observation(observed_ts=now_ts, block=block, mempool=state)

    def block_mined(self, fees: BlockFees, now_ts: int) -> None:
        """Record a ready block: its outcome against the last estimate, and a new observation."""
        previous = self.latest
        recommended = None
        if previous is not None and previous.targets:
            recommended = previous.targets[0].fee_rate_sat_vb
        self.outcomes.append(
            BlockOutcome(
                height=fees.height,
                block_time_ts=fees.block_time_ts,
                recommended_sat_vb=recommended,
                method=previous.method if previous else None,
                p5_fee_rate_sat_vb=fees.p5_fee_rate_sat_vb,
                median_fee_rate_sat_vb=fees.median_fee_rate_sat_vb,
                known_tx_share=fees.known_tx_count / max(fees.tx_count - 1, 1),
            )
        )
        if self.history and fees.height <= self.history[-1].block.height:
            return  # a block older than the tip (replay, reorganisation): outcome only
        observation = self.observe_now(now_ts)
        self.history.append(replace(observation, block=fees.record()))

    def estimate(self, now: datetime, graph: TxGraph, blocks: list[TemplateBlock]) -> FeeEstimate:
        """An estimate from the history, the mempool now and its projected blocks."""
        projected = project(graph, blocks)
        history = [*list(self.history)[:-1], self.observe_now(int(now.timestamp()))]
        medians = [b.median_fee_rate_sat_vb for b in projected]
        recommendation = recommend(history, self.model, medians)
        self.latest = to_wire(recommendation, now, self.tip_height, history[-1], projected)
        return self.latest

    def panel(self) -> dict[str, Any]:
        """What the dashboard draws: recommendations against what recent blocks paid."""
        judged = [o.outcome for o in self.outcomes if o.outcome is not None]
        summary = {
            name: (judged.count(name) / len(judged) if judged else None)
            for name in ("overpaid", "in_range", "underpaid")
        }
        return {
            "latest": self.latest.model_dump(mode="json") if self.latest else None,
            "blocks": [o.to_json() for o in self.outcomes],
            "summary": {"judged_blocks": len(judged), **summary},
        }


def to_wire(
    recommendation: Recommendation,
    now: datetime,
    tip_height: int | None,
    observation: Observation,
    projected: list[ProjectedBlock],
) -> FeeEstimate:
    quantiles = recommendation.quantiles_sat_vb or {}
    targets = [
        TargetFee(
            target_blocks=k, fee_rate_sat_vb=round(rate, 4), quantiles_sat_vb=quantiles.get(k, {})
        )
        for k, rate in sorted(recommendation.by_target_sat_vb.items())
    ]
    return FeeEstimate(
        estimated_at=now,
        tip_height=tip_height,
        method="model" if recommendation.method == "model" else "projection",
        model_version=recommendation.model_version,
        targets=targets,
        economy_sat_vb=round(recommendation.economy_sat_vb, 4),
        minimum_sat_vb=round(recommendation.minimum_sat_vb, 4),
        mempool_tx_count=observation.mempool.tx_count,
        mempool_vsize_vb=observation.mempool.vsize_vb,
        projected_blocks=projected,
    )
