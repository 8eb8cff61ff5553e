"""Decisions to show: random but valid, and written to the audit trail as the scorer writes them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from chainwatch.scorer.audit import write_decisions
from chainwatch.shared.explanations import (
    AttributionMethod,
    ExplainedTransaction,
    FeatureContribution,
    ModelAttribution,
    Narrative,
    NarrativePath,
)
from chainwatch.shared.feature_specs import FEATURE_NAMES
from chainwatch.shared.schemas import (
    Exposure,
    RiskBand,
    RuleHit,
    ScoredTransaction,
    Tier,
    TierOutput,
    Transaction,
    TxInput,
    TxOutput,
)

LABELLED_ADDRESS = "bc1qtestlabelledaddress0000000000000000000"
PAYER_ADDRESS = "bc1qpayer7x3k0d5v9q2m8e4w6r1t0y3u5i7o9p2a4s"
CHANGE_ADDRESS = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"


def make_decision(
    band: RiskBand = RiskBand.LOW,
    *,
    txid: str | None = None,
    risk_score: float | None = None,
    decided_at: datetime | None = None,
    rule_hits: list[RuleHit] | None = None,
    exposure: list[Exposure] | None = None,
    tier: Tier = Tier.HEURISTIC,
    value_out: int = 123_456_789,
    fee: int | None = 4_200,
    vsize: int = 141,
) -> ScoredTransaction:
    """A decision on a fresh random txid; flagged unless the band is Low."""
    default_score = {"Low": 0.02, "Medium": 0.45, "High": 0.78, "Severe": 1.0}[band.value]
    score = default_score if risk_score is None else risk_score
    features: dict[str, float | None] = {name: 0.0 for name in FEATURE_NAMES}
    features["fee_rate_sat_vb"] = None if fee is None else fee / vsize
    return ScoredTransaction(
        txid=txid or secrets.token_hex(32),
        decided_at=decided_at or datetime.now(UTC),
        risk_score=score,
        band=band,
        flagged=band is not RiskBand.LOW,
        deciding_tier=tier,
        decision_reason="direct exposure rules" if rule_hits else "score below the review band",
        tiers=[
            TierOutput(tier=Tier.HEURISTIC, risk_score=score, note="direct exposure rules"),
            TierOutput(
                tier=Tier.BATCH, risk_score=min(1.0, score * 0.8), model_version="xgb-test-1"
            ),
        ],
        rule_hits=rule_hits or [],
        exposure=exposure or [],
        anomaly_score=0.42,
        features=features,
        feature_set_version="tx-features-1",
        model_versions={"batch": "xgb-test-1"},
        value_out=value_out,
        fee=fee,
        vsize=vsize,
        input_count=1,
        output_count=2,
        source="test",
        latency_ms=3.5,
    )


def sanctions_hit(share: float = 0.6) -> RuleHit:
    return RuleHit(
        rule="direct_exposure",
        category="sanctions",
        addresses=[LABELLED_ADDRESS],
        share_of_value=share,
        detail="pays a sanctioned address (test label)",
    )


def mixer_exposure(hops: int = 2) -> Exposure:
    return Exposure(
        category="mixer",
        direction="from",
        hops=hops,
        share_of_value=0.35,
        via_txid=secrets.token_hex(32),
        entities=["Test Mixer"],
    )


def make_transaction(decision: ScoredTransaction) -> Transaction:
    """A transaction with the decision's txid: one input, a payment and change."""
    fee = decision.fee or 0
    payment = decision.value_out // 3
    return Transaction(
        txid=decision.txid,
        version=2,
        locktime=0,
        vin=[
            TxInput(
                txid=secrets.token_hex(32),
                vout=1,
                prevout=TxOutput(
                    scriptpubkey_type="v0_p2wpkh",
                    scriptpubkey_address=PAYER_ADDRESS,
                    value=decision.value_out + fee,
                ),
            )
        ],
        vout=[
            TxOutput(
                scriptpubkey_type="v0_p2wpkh",
                scriptpubkey_address=LABELLED_ADDRESS,
                value=payment,
            ),
            TxOutput(
                scriptpubkey_type="p2sh",
                scriptpubkey_address=CHANGE_ADDRESS,
                value=decision.value_out - payment,
            ),
        ],
        size=decision.vsize + 82,
        weight=decision.vsize * 4 - 2,
        vsize=decision.vsize,
        fee=fee,
    )


async def insert_decisions(
    pool: asyncpg.Pool, *decisions: ScoredTransaction, stream_seqs: Sequence[int] | None = None
) -> None:
    """Write decisions to ``audit_decision`` with the scorer's own writer."""
    seqs = list(stream_seqs) if stream_seqs is not None else [0] * len(decisions)
    await write_decisions(pool, decisions, seqs)


def make_explanation(decision: ScoredTransaction, row_hash: str) -> ExplainedTransaction:
    """An explanation as the explainer publishes it: TreeSHAP of the batch model, template text."""
    contributions = [
        ("exposure_sanctions", "exposure to sanctions", 0.62, "exposure to sanctions 62%", 1.84),
        ("fee_rate_sat_vb", "fee rate", 59.6, "fee rate 59.6 sat/vB", 0.41),
        ("output_count", "outputs", 2.0, "outputs 2", -0.22),
        ("round_1e5_output_share", "round outputs", 0.5, "round outputs 50%", 0.18),
        ("in_share_v0_p2wpkh", "v0_p2wpkh inputs", 1.0, "v0_p2wpkh inputs 100%", -0.09),
    ]
    expected, rest = -3.1, 0.1
    output = expected + sum(c[4] for c in contributions) + rest
    return ExplainedTransaction(
        txid=decision.txid,
        explained_at=datetime.now(UTC),
        decided_at=decision.decided_at,
        risk_score=decision.risk_score,
        band=decision.band,
        flagged=decision.flagged,
        deciding_tier=decision.deciding_tier,
        decision_reason=decision.decision_reason,
        decision_row_hash=row_hash,
        attribution=ModelAttribution(
            method=AttributionMethod.TREESHAP,
            model_name="screening-xgb",
            model_version="xgb-test-1",
            framework="xgboost",
            expected_log_odds=expected,
            output_log_odds=output,
            expected_proba=0.043,
            output_proba=0.25,
            contributions=[
                FeatureContribution(
                    name=n, label=lb, unit="", value=v, value_text=t, log_odds=lo, proba=lo / 10
                )
                for n, lb, v, t, lo in contributions
            ],
            rest_log_odds=rest,
            rest_proba=0.01,
            rest_count=49,
            additivity_error_log_odds=0.0,
            reproduced=True,
        ),
        rules=[],
        evidence="test evidence",
        narrative=Narrative(
            text=(
                "The transaction pays 62% of its value to an address on a sanctions list "
                f"({LABELLED_ADDRESS}). The sanctions rule is a hard override: band Severe."
            ),
            path=NarrativePath.TEMPLATE,
            fallback_reason="no API key configured",
            latency_ms=0.4,
        ),
    )
