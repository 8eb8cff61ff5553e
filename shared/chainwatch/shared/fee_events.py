"""Wire model of fee-rate estimates (subject ``chainwatch.fees.estimate``).

The fees service publishes a ``FeeEstimate`` after every block and every few seconds in
between: a recommended fee rate per confirmation target, an economy rate and the mempool's
minimum, the model version that made them (null when only the projected blocks did), and
the projected next blocks themselves.

Fee rates are sat/vB (floats); sizes are vbytes; amounts are integer satoshis. A target of
``k`` blocks means "confirmed within the next ``k`` blocks"; the recommended rate aims to
land between the 5th percentile and the median fee rate of the block it should enter, so it
confirms without overpaying.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from chainwatch.shared.mempool_events import ProjectedBlock
from chainwatch.shared.schemas import WireModel
from chainwatch.shared.subjects import PREFIX, StreamSpec

FEES_ESTIMATE = f"{PREFIX}.fees.estimate"
"""Fee-rate recommendations with the projected blocks they were made from."""

FEES_STREAM = StreamSpec(
    name="CHAINWATCH_FEES",
    subjects=(f"{PREFIX}.fees.>",),
    max_age=timedelta(days=30),
    duplicate_window=timedelta(minutes=2),
    description="Fee-rate estimates, after each block and every few seconds between blocks",
)
"""Declared by the fees service; not in ``subjects.ALL_STREAMS``."""


class TargetFee(WireModel):
    """The recommended fee rate for one confirmation target."""

    target_blocks: int = Field(ge=1, description="Confirmed within this many blocks")
    fee_rate_sat_vb: float = Field(ge=0, description="Recommended fee rate, sat/vB")
    quantiles_sat_vb: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Predicted quantiles of the lowest median fee rate among the next target_blocks "
            "blocks, by level ('0.05' … '0.95'); empty when no model is loaded"
        ),
    )


class FeeEstimate(WireModel):
    """Fee-rate recommendations (subject ``chainwatch.fees.estimate``)."""

    schema_version: Literal[1] = 1
    estimated_at: AwareDatetime = Field(description="When the estimate was made, UTC")
    tip_height: int | None = Field(
        None, ge=0, description="Height of the newest block the estimate knows of"
    )
    method: Literal["model", "projection"] = Field(
        description="model: the quantile model with projected blocks; projection: blocks only"
    )
    model_version: str | None = Field(None, description="Version of fees-lgbm, if used")
    targets: list[TargetFee]
    economy_sat_vb: float = Field(ge=0, description="For payments that can wait for a lull")
    minimum_sat_vb: float = Field(ge=0, description="The lowest rate the mempool accepts now")
    mempool_tx_count: int = Field(ge=0)
    mempool_vsize_vb: int = Field(ge=0)
    projected_blocks: list[ProjectedBlock] = Field(
        default_factory=list, description="The next blocks as selected from the mempool"
    )
    source: str = Field("chainwatch-fees", description="The service that made the estimate")
