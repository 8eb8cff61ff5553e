"""The published contract in one place: every subject, its model, and what it means.

``docgen`` turns this into ``docs/schemas/`` and ``docs/asyncapi.json``. A module that adds
subjects keeps its models beside its events and registers them here with one entry each.
"""

from __future__ import annotations

from dataclasses import dataclass

from chainwatch.shared import subjects
from chainwatch.shared.drift import DRIFT_DETECTED, DRIFT_STREAM, DriftDetected
from chainwatch.shared.explanations import ExplainedTransaction
from chainwatch.shared.fee_events import FEES_ESTIMATE, FEES_STREAM, FeeEstimate
from chainwatch.shared.lightning import LIGHTNING_HEALTH, LIGHTNING_STREAM, LightningHealthReport
from chainwatch.shared.mempool_events import (
    BlockConnected,
    MempoolSnapshot,
    TxConfirmed,
    TxEvicted,
    TxReplaced,
)
from chainwatch.shared.onboarding import ONBOARDING_SCORE, OnboardingReply, OnboardingRequest
from chainwatch.shared.retraining import RETRAIN_REQUESTED, RETRAIN_STREAM, RetrainRequest
from chainwatch.shared.schemas import DeadLetter, RawTransaction, ScoredTransaction, WireModel
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict


@dataclass(frozen=True)
class Channel:
    """A subject and the model it carries; ``reply`` is the answer's model on a request subject
    (request/reply: the answer goes to the requester's inbox, not to a subject of its own)."""

    subject: str
    model: type[WireModel]
    description: str
    stream: subjects.StreamSpec | None
    reply: type[WireModel] | None = None


CHANNELS: tuple[Channel, ...] = (
    Channel(subjects.TX_RAW, RawTransaction,
            "A new transaction, normalised; published once per txid by ingest.",
            subjects.TX_RAW_STREAM),
    Channel(subjects.TX_SCORED, ScoredTransaction,
            "A risk decision, published by the scorer once its audit row is durable.",
            subjects.TX_SCORED_STREAM),
    Channel(subjects.TX_EXPLAINED, ExplainedTransaction,
            "Why a decision was made: attribution, rules and a checked narrative; "
            "published by the explainer once stored in the audit trail.",
            subjects.TX_EXPLAINED_STREAM),
    Channel(f"{subjects.DEADLETTER_PREFIX}.{{stage}}", DeadLetter,
            "A message that a stage could not process, with the reason and the original body.",
            subjects.DEADLETTER_STREAM),
    Channel(subjects.TX_CONFIRMED, TxConfirmed,
            "A transaction was confirmed in a block (height and time).",
            subjects.MEMPOOL_EVENTS_STREAM),
    Channel(subjects.TX_REPLACED, TxReplaced,
            "A transaction was replaced by fee (RBF); links the replaced txid to its replacement.",
            subjects.MEMPOOL_EVENTS_STREAM),
    Channel(subjects.TX_EVICTED, TxEvicted,
            "A transaction left the mempool without confirming or being replaced.",
            subjects.MEMPOOL_EVENTS_STREAM),
    Channel(subjects.BLOCK_CONNECTED, BlockConnected,
            "A block arrived; published after every TxConfirmed of its transactions.",
            subjects.MEMPOOL_EVENTS_STREAM),
    Channel(subjects.MEMPOOL_SNAPSHOT, MempoolSnapshot,
            "Mempool state: size, minimum fee and projected blocks, for the fee model.",
            subjects.MEMPOOL_EVENTS_STREAM),
    Channel(LIGHTNING_HEALTH, LightningHealthReport,
            "The health of a Lightning channel-graph snapshot: concentration, connectivity, "
            "reachability by amount, a health score, and changes since the previous one.",
            LIGHTNING_STREAM),
    Channel(REVIEW_VERDICT, ReviewVerdict,
            "An analyst's verdict on a flagged decision, published by the dashboard once it "
            "is in the audit trail; the learner learns from it.",
            REVIEW_STREAM),
    Channel(FEES_ESTIMATE, FeeEstimate,
            "Fee-rate recommendations per confirmation target (1, 3, 6, 144 blocks, economy), "
            "with the projected blocks they come from; published by the fees service.",
            FEES_STREAM),
    Channel(DRIFT_DETECTED, DriftDetected,
            "Drift in the features, the predictions, a tier's errors or the anomaly rate, with "
            "its evidence; published by the drift service once stored.",
            DRIFT_STREAM),
    Channel(ONBOARDING_SCORE, OnboardingRequest,
            "Score an applicant at onboarding (request/reply, answered by the onboarding "
            "service once the decision is in the audit trail).",
            None, reply=OnboardingReply),
    Channel(RETRAIN_REQUESTED, RetrainRequest,
            "A request for a retraining run of the batch models (the drift service, an "
            "operator or a schedule); the trainer's sensor runs one run for what it finds.",
            RETRAIN_STREAM),
)  # fmt: skip
