"""Wire schemas: one pydantic model per NATS subject, each with a ``schema_version``.

Transactions keep the Esplora / mempool.space shape that integrators already know
(``txid``, ``vin``, ``vout``, ``prevout``, ``value``, ``fee``, ``vsize``, ``weight``), with
every amount an integer number of satoshis. The JSON Schema of each subject in ``docs/`` is
generated from these models (``python -m chainwatch.shared.docgen``) and never edited by
hand.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Txid = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="Transaction id, 64 hex")]
MAX_MONEY_SAT = 21_000_000 * 100_000_000
MAX_BLOCK_WEIGHT = 4_000_000
"""No transaction weighs more than a block (BIP 141), nor is its size in bytes larger."""
Satoshis = Annotated[int, Field(ge=0, le=MAX_MONEY_SAT, description="Satoshis")]

MAX_SEQUENCE = 0xFFFFFFFF
RBF_SEQUENCE_LIMIT = 0xFFFFFFFE
"""BIP 125: an input whose sequence is below this signals opt-in replace-by-fee."""


class WireModel(BaseModel):
    """Base of every wire model: unknown fields are ignored, instances are immutable."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class TxOutput(WireModel):
    """An output, or the output an input spends (its ``prevout``)."""

    scriptpubkey: str = Field("", description="Locking script, hex")
    scriptpubkey_type: str = Field(
        "unknown", description="p2pkh, p2sh, v0_p2wpkh, v0_p2wsh, v1_p2tr, op_return, ..."
    )
    scriptpubkey_address: str | None = Field(None, description="Address, when the script has one")
    value: Satoshis


class TxInput(WireModel):
    """An input: the outpoint it spends and, when known, the output behind it."""

    txid: Txid
    vout: int = Field(ge=0, le=MAX_SEQUENCE, description="Index of the spent output")
    prevout: TxOutput | None = Field(
        None, description="The spent output; null when the source did not know it"
    )
    scriptsig: str = Field("", description="Unlocking script, hex")
    witness: list[str] = Field(default_factory=list, description="Witness stack items, hex")
    is_coinbase: bool = False
    sequence: int = Field(MAX_SEQUENCE, ge=0, le=MAX_SEQUENCE)


class TxStatus(WireModel):
    """Where the transaction stands: in the mempool, or confirmed in a block."""

    confirmed: bool = False
    block_height: int | None = Field(None, ge=0)
    block_hash: str | None = None
    block_time: int | None = Field(None, description="Block timestamp, Unix seconds")


class Transaction(WireModel):
    """A Bitcoin transaction in the Esplora shape, amounts in satoshis.

    ``fee`` is null when the source omitted it and not every prevout is known, so it cannot
    be computed; ``prevouts_known`` says whether every non-coinbase input carries its prevout.
    """

    txid: Txid
    version: int
    locktime: int = Field(ge=0, le=MAX_SEQUENCE)
    vin: list[TxInput] = Field(min_length=1)
    vout: list[TxOutput] = Field(min_length=1)
    size: int = Field(gt=0, le=MAX_BLOCK_WEIGHT, description="Serialized size, bytes")
    weight: int = Field(gt=0, le=MAX_BLOCK_WEIGHT, description="Weight units (BIP 141)")
    vsize: int = Field(
        gt=0, le=MAX_BLOCK_WEIGHT // 4, description="Virtual size, vbytes: ceil(weight / 4)"
    )
    fee: Satoshis | None = None
    status: TxStatus = Field(default_factory=TxStatus)
    first_seen: int | None = Field(None, description="When first seen in the mempool, Unix s")

    @model_validator(mode="after")
    def _money_supply(self) -> Transaction:
        if self.value_out > MAX_MONEY_SAT:
            raise ValueError(f"outputs sum to {self.value_out} sat, more than will ever exist")
        return self

    @property
    def is_coinbase(self) -> bool:
        return self.vin[0].is_coinbase

    @property
    def prevouts_known(self) -> bool:
        return all(i.prevout is not None for i in self.vin if not i.is_coinbase)

    @property
    def value_out(self) -> int:
        """Sum of output values, satoshis."""
        return sum(o.value for o in self.vout)

    @property
    def fee_rate_sat_vb(self) -> float | None:
        return None if self.fee is None else self.fee / self.vsize

    @property
    def signals_rbf(self) -> bool:
        return any(i.sequence < RBF_SEQUENCE_LIMIT for i in self.vin if not i.is_coinbase)


class RawTransaction(WireModel):
    """A transaction as ingest saw it (subject ``chainwatch.tx.raw``)."""

    schema_version: Literal[1] = 1
    source: str = Field(description="Where it came from, e.g. mempool.space or replay:<file>")
    observed_at: AwareDatetime = Field(description="When ingest read it, UTC")
    tx: Transaction


class RiskBand(StrEnum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    SEVERE = "Severe"


class Tier(StrEnum):
    ONLINE = "online"
    BATCH = "batch"
    HEURISTIC = "heuristic"


class TierOutput(WireModel):
    """What one tier of the cascade said, whether or not it decided."""

    tier: Tier
    risk_score: float = Field(ge=0.0, le=1.0, description="Probability-like risk in [0, 1]")
    model_version: str | None = Field(None, description="Model version; null for the rules")
    note: str = Field("", description="Why the tier abstained or how it reached its score")


class RuleHit(WireModel):
    """One rule that fired, with the evidence that made it fire."""

    rule: str = Field(description="Rule id, e.g. direct_exposure")
    category: str = Field(description="Label category, e.g. sanctions, ransomware, mixer")
    addresses: list[str] = Field(default_factory=list, description="Labelled addresses involved")
    share_of_value: float = Field(
        ge=0.0, le=1.0, description="Share of the transaction's value that touches them"
    )
    detail: str = ""


class Exposure(WireModel):
    """Value of the transaction that can be traced to an illicit category.

    ``hops`` is 0 for direct exposure (the transaction itself spends from or pays a
    labelled address), 1 when it spends an output of a directly exposed transaction, and so
    on; ``via_txid`` is the exposed transaction whose output it spent (null when direct).
    """

    category: str
    direction: Literal["from", "to"] = Field(
        "from", description="from: value came from the category; to: value was paid to it"
    )
    hops: int = Field(ge=0)
    share_of_value: float = Field(ge=0.0, le=1.0)
    via_txid: str | None = None
    addresses: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)


class ScoredTransaction(WireModel):
    """A risk decision (subject ``chainwatch.tx.scored``), published once its audit row exists."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    schema_version: Literal[1] = 1
    txid: Txid
    decided_at: AwareDatetime
    risk_score: float = Field(ge=0.0, le=1.0)
    band: RiskBand
    flagged: bool = Field(description="True when the band calls for analyst review")
    deciding_tier: Tier
    decision_reason: str = Field("", description="Why this tier decided, in the policy's words")
    tiers: list[TierOutput]
    rule_hits: list[RuleHit] = Field(default_factory=list)
    exposure: list[Exposure] = Field(default_factory=list)
    anomaly_score: float | None = Field(
        None, ge=0.0, le=1.0, description="Unsupervised outlier score; higher is more unusual"
    )
    features: dict[str, float | None] = Field(
        default_factory=dict, description="The feature vector the tiers saw; null = unknown"
    )
    feature_set_version: str = ""
    model_versions: dict[str, str] = Field(
        default_factory=dict, description="Tier → model version, for the tiers that had one"
    )
    value_out: Satoshis = Field(description="Sum of outputs, satoshis")
    fee: Satoshis | None = None
    vsize: int = Field(gt=0)
    input_count: int = Field(ge=1)
    output_count: int = Field(ge=1)
    source: str
    latency_ms: float = Field(ge=0.0, description="From ingest's observation to the decision")


class DeadLetter(WireModel):
    """A message a stage gave up on (subject ``chainwatch.deadletter.<stage>``)."""

    schema_version: Literal[1] = 1
    stage: str = Field(description="The stage that failed: ingest, scorer, ...")
    reason: str = Field(description="Why, in words an operator can act on")
    error_type: str = Field(description="Exception class, or 'decode' for a schema failure")
    original_subject: str
    message_id: str | None = Field(None, description="Nats-Msg-Id of the original, if any")
    delivered_count: int = Field(1, ge=1)
    failed_at: datetime
    payload: str = Field(description="The original body, UTF-8 with invalid bytes replaced")
    payload_truncated: bool = False
