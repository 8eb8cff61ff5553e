"""mempool.space's recommended fees, from its published method.

mempool.space projects the next blocks from its mempool (blocks of 4,000,000 WU, selected
by package fee rate) and recommends, in sat/vB:

- ``fastest``: the "optimised" median fee rate of projected block 1;
- ``half_hour`` and ``hour``: the optimised medians of blocks 2 and 3, each averaged with
  the tier before it;
- ``minimum``: the mempool's minimum fee (``mempoolminfee``), rounded up;
- ``economy``: ``max(minimum, min(2 × minimum, hour))``.

"Optimised" means: a block of at most 500,000 vB gets the default (minimum) fee; a block of
at most 950,000 vB with no block after it gets its median scaled by
``(vsize − 500,000) / 500,000``; otherwise its median. The tiers are made monotonic (a
faster tier is raised to a slower one) and never go below the minimum. The public
``/fees/recommended`` rounds each up to a whole sat/vB; ``/fees/precise`` does not
(``rounded=False`` here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

FULL_BLOCK_VSIZE_VB = 1_000_000
EMPTY_BLOCK_VSIZE_VB = 500_000
RAMP_BLOCK_VSIZE_VB = 950_000


@dataclass(frozen=True)
class BlockMedian:
    """A projected block as the method reads it: its virtual size and median fee rate."""

    vsize_vb: float
    median_fee_rate_sat_vb: float


@dataclass(frozen=True)
class MempoolSpaceFees:
    """The five recommendations, sat/vB."""

    fastest_sat_vb: float
    half_hour_sat_vb: float
    hour_sat_vb: float
    economy_sat_vb: float
    minimum_sat_vb: float


def recommended_fees(
    blocks: Sequence[BlockMedian], mempool_min_fee_sat_vb: float, *, rounded: bool = True
) -> MempoolSpaceFees:
    """mempool.space's recommendations from its projected blocks (nearest first)."""
    minimum = math.ceil(mempool_min_fee_sat_vb) if rounded else mempool_min_fee_sat_vb
    minimum = max(minimum, 1.0 if rounded else 0.0)

    def block(i: int) -> BlockMedian | None:
        return blocks[i] if i < len(blocks) else None

    def optimised(i: int, previous: float | None) -> float:
        current = block(i)
        if current is None:
            return minimum
        fee = current.median_fee_rate_sat_vb
        if previous is not None:
            fee = (fee + previous) / 2
        if current.vsize_vb <= EMPTY_BLOCK_VSIZE_VB:
            return minimum
        if current.vsize_vb <= RAMP_BLOCK_VSIZE_VB and block(i + 1) is None:
            ramp = (current.vsize_vb - EMPTY_BLOCK_VSIZE_VB) / EMPTY_BLOCK_VSIZE_VB
            fee *= ramp
        fee = math.ceil(fee) if rounded else fee
        return max(fee, minimum)

    fastest = optimised(0, None)
    half_hour = optimised(1, fastest)
    hour = optimised(2, half_hour)
    economy = max(minimum, min(2 * minimum, hour))
    # Monotonic tiers: a faster tier never asks less than a slower one.
    hour = max(hour, economy)
    half_hour = max(half_hour, hour)
    fastest = max(fastest, half_hour)
    return MempoolSpaceFees(fastest, half_hour, hour, economy, minimum)
