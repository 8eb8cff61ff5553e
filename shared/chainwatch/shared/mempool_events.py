"""Wire models of mempool and chain events: what happens to a transaction after it is seen.

Ingest publishes a transaction once on ``chainwatch.tx.raw``; what follows is told here: it
is mined (``TxConfirmed``, with ``BlockConnected`` once per block), replaced by another
paying more (``TxReplaced``), or dropped from the mempool (``TxEvicted``). ``MempoolSnapshot``
is the mempool's state as the source reports it, the input of fee estimation.

Fee rates are sat/vB (floats: projected blocks mix transactions); amounts are integer
satoshis; sizes are vbytes. Times are Unix seconds in ``*_ts`` fields, aware UTC elsewhere.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from chainwatch.shared import subjects
from chainwatch.shared.schemas import Satoshis, Txid, WireModel

BlockHash = Txid
"""A block hash has the shape of a txid: 64 lowercase hex."""


class BlockConnected(WireModel):
    """A block the source announced (subject ``chainwatch.block.connected``)."""

    schema_version: Literal[1] = 1
    block_hash: BlockHash
    height: int = Field(ge=0)
    block_time_ts: int = Field(ge=0, description="Block header timestamp, Unix seconds")
    tx_count: int = Field(ge=1, description="Transactions in the block, coinbase included")
    source: str = Field(description="The source's base URL, e.g. https://mempool.space")
    observed_at: AwareDatetime = Field(description="When ingest learned of the block, UTC")


class TxConfirmed(WireModel):
    """A transaction was mined (subject ``chainwatch.tx.confirmed``), one message per txid.

    A reorganisation can confirm the same txid in a second block; each (txid, block) pair
    is published once.
    """

    schema_version: Literal[1] = 1
    txid: Txid
    block_hash: BlockHash
    height: int = Field(ge=0)
    block_time_ts: int = Field(ge=0, description="Block header timestamp, Unix seconds")
    position: int = Field(ge=0, description="Index of the transaction in the block; 0 = coinbase")
    source: str
    observed_at: AwareDatetime


class TxReplaced(WireModel):
    """A mempool transaction was replaced by a conflicting one (subject ``chainwatch.tx.replaced``).

    ``replaced_signalled_rbf`` is False for a full-RBF replacement of a transaction that did
    not opt in (BIP 125), None when ingest never saw the replaced transaction.
    """

    schema_version: Literal[1] = 1
    replaced_txid: Txid
    replacement_txid: Txid
    replaced_signalled_rbf: bool | None = None
    source: str
    observed_at: AwareDatetime


class TxEvicted(WireModel):
    """A transaction left the mempool neither mined nor replaced (``chainwatch.tx.evicted``).

    The source does not say why: expiry, a full mempool purging the lowest fee rates, or a
    conflict with a mined transaction all look the same.
    """

    schema_version: Literal[1] = 1
    txid: Txid
    source: str
    observed_at: AwareDatetime


class ProjectedBlock(WireModel):
    """One block of the source's projection of the next blocks from its mempool."""

    block_vsize_vb: float = Field(ge=0, description="Virtual size of the block, vbytes")
    tx_count: int = Field(ge=0)
    total_fee_sat: Satoshis
    median_fee_rate_sat_vb: float = Field(ge=0)
    fee_range_sat_vb: list[float] = Field(
        default_factory=list, description="Fee-rate percentiles, lowest to highest, sat/vB"
    )


class RecommendedFees(WireModel):
    """The source's fee-rate recommendations per confirmation target, sat/vB."""

    fastest_sat_vb: float = Field(ge=0, description="For the next block")
    half_hour_sat_vb: float = Field(ge=0, description="Within about 3 blocks")
    hour_sat_vb: float = Field(ge=0, description="Within about 6 blocks")
    economy_sat_vb: float = Field(ge=0)
    minimum_sat_vb: float = Field(ge=0)


class MempoolSnapshot(WireModel):
    """The mempool's state (subject ``chainwatch.mempool.snapshot``); null where not reported."""

    schema_version: Literal[1] = 1
    tx_count: int | None = Field(None, ge=0, description="Transactions in the mempool")
    vsize_vb: int | None = Field(None, ge=0, description="Their total virtual size, vbytes")
    total_fee_sat: Satoshis | None = None
    min_fee_rate_sat_vb: float | None = Field(
        None, ge=0, description="Lowest fee rate the mempool accepts now (its minimum fee)"
    )
    vbytes_per_second: float | None = Field(None, ge=0, description="Inflow, vbytes per second")
    projected_blocks: list[ProjectedBlock] = Field(default_factory=list)
    recommended_fees: RecommendedFees | None = None
    source: str
    observed_at: AwareDatetime


MEMPOOL_EVENT_SCHEMAS: dict[str, type[WireModel]] = {
    subjects.TX_CONFIRMED: TxConfirmed,
    subjects.TX_REPLACED: TxReplaced,
    subjects.TX_EVICTED: TxEvicted,
    subjects.BLOCK_CONNECTED: BlockConnected,
    subjects.MEMPOOL_SNAPSHOT: MempoolSnapshot,
}
"""Which model travels on which event subject, for docs/schemas and docs/asyncapi."""
