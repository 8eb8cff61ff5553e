"""Every NATS subject and JetStream stream chainwatch uses, named in one place.

Subjects are the contract with integrators: they change only with a new schema version.
Streams are durable, so a consumer can replay history; ``duplicate_window`` is how long
JetStream remembers a message id (the txid) and drops a second publish of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

PREFIX = "chainwatch"

TX_RAW = f"{PREFIX}.tx.raw"
"""New transactions, normalised to the Esplora shape, one message per txid."""

TX_SCORED = f"{PREFIX}.tx.scored"
"""One risk decision per transaction, published after its audit row is durable."""

TX_EXPLAINED = f"{PREFIX}.tx.explained"
"""Why a decision was made (attribution, rules, narrative), published after it is stored."""

DEADLETTER_PREFIX = f"{PREFIX}.deadletter"
"""Messages a stage could not process, with the reason: ``chainwatch.deadletter.<stage>``."""


def deadletter_subject(stage: str) -> str:
    """The dead-letter subject of one stage (``ingest``, ``scorer``, ...)."""
    return f"{DEADLETTER_PREFIX}.{stage}"


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream: its name, the subjects it captures and how long it keeps them."""

    name: str
    subjects: tuple[str, ...]
    max_age: timedelta
    duplicate_window: timedelta
    description: str


TX_RAW_STREAM = StreamSpec(
    name="CHAINWATCH_TX_RAW",
    subjects=(TX_RAW,),
    max_age=timedelta(days=7),
    duplicate_window=timedelta(hours=2),
    description="Normalised mempool and block transactions, de-duplicated by txid",
)

TX_SCORED_STREAM = StreamSpec(
    name="CHAINWATCH_TX_SCORED",
    subjects=(TX_SCORED,),
    max_age=timedelta(days=30),
    duplicate_window=timedelta(hours=2),
    description="Risk decisions, one per txid, each already written to the audit trail",
)

TX_EXPLAINED_STREAM = StreamSpec(
    name="CHAINWATCH_TX_EXPLAINED",
    subjects=(TX_EXPLAINED,),
    max_age=timedelta(days=30),
    duplicate_window=timedelta(hours=2),
    description="Explanations of decisions, one per txid, each already in the audit trail",
)

DEADLETTER_STREAM = StreamSpec(
    name="CHAINWATCH_DEADLETTER",
    subjects=(f"{DEADLETTER_PREFIX}.>",),
    max_age=timedelta(days=30),
    duplicate_window=timedelta(minutes=2),
    description="Messages that could not be processed, with the stage and the reason",
)

ALL_STREAMS: tuple[StreamSpec, ...] = (
    TX_RAW_STREAM,
    TX_SCORED_STREAM,
    TX_EXPLAINED_STREAM,
    DEADLETTER_STREAM,
)


# Mempool and chain events from ingest, beside the transactions themselves. Defined in
# ``chainwatch.shared.mempool_events``; one stream holds them all.

TX_CONFIRMED = f"{PREFIX}.tx.confirmed"
"""A transaction was mined: its txid with the block's hash, height and time."""

TX_REPLACED = f"{PREFIX}.tx.replaced"
"""A mempool transaction was replaced (RBF): the replaced txid linked to its replacement."""

TX_EVICTED = f"{PREFIX}.tx.evicted"
"""A transaction left the mempool neither mined nor replaced (expired, purged, conflicted)."""

BLOCK_CONNECTED = f"{PREFIX}.block.connected"
"""A new block arrived: its hash, height, time and transaction count."""

MEMPOOL_SNAPSHOT = f"{PREFIX}.mempool.snapshot"
"""The mempool's state: size, minimum fee, projected blocks, recommended fees."""

MEMPOOL_EVENTS_STREAM = StreamSpec(
    name="CHAINWATCH_MEMPOOL_EVENTS",
    subjects=(TX_CONFIRMED, TX_REPLACED, TX_EVICTED, BLOCK_CONNECTED, MEMPOOL_SNAPSHOT),
    max_age=timedelta(days=7),
    duplicate_window=timedelta(hours=2),
    description="Confirmations, replacements, evictions, blocks and mempool snapshots",
)
"""Not in ``ALL_STREAMS``: ingest declares it (see ``INGEST_STREAMS`` in the ingest service)."""
