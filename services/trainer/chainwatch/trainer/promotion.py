"""The two ends of every promotion gate: the check's verdict, and moving the pointer.

Each model the trainer builds (screening, onboarding, fees) ends the same way: a blocking
asset check that refuses the candidate with reasons, or a promotion asset that moves the
model's pointer; either way the decision is a ``training_run`` row, tagged with the run's
trigger (``chainwatch/trigger``: schedule, drift, manual).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from chainwatch.shared.registry import ModelPointer
from chainwatch.trainer.ledger import TrainingLedger
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.retrain import TRIGGER_TAG


def gate_verdict(
    context: dg.AssetCheckExecutionContext,
    ledger: TrainingLedger,
    name: str,
    version: str,
    reasons: Sequence[str],
    *,
    champion_version: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """Pass when there are no ``reasons``; a refusal is logged and recorded."""
    if reasons:
        context.log.warning("%s %s refused: %s", name, version, "; ".join(reasons))
        ledger.record_decision(
            run_id=context.run.run_id,
            trigger=context.run.tags.get(TRIGGER_TAG, "manual"),
            model_name=name,
            candidate_version=version,
            champion_version=champion_version,
            promoted=False,
            reasons=reasons,
            decided_at=datetime.now(UTC),
        )
    return dg.AssetCheckResult(
        passed=not reasons,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description if description is not None else "; ".join(reasons),
        metadata=dict(metadata) if metadata is not None else {"reasons": list(reasons)},
    )


def promote(
    context: dg.AssetExecutionContext,
    registry: ModelRegistry,
    ledger: TrainingLedger,
    name: str,
    version: str,
    *,
    champion_version: str | None = None,
    reasons: Sequence[str] = (),
) -> ModelPointer:
    """Move ``name``'s pointer to ``version`` and record the promotion."""
    pointer = registry.promote(name, version, context.run.run_id)
    ledger.record_decision(
        run_id=context.run.run_id,
        trigger=context.run.tags.get(TRIGGER_TAG, "manual"),
        model_name=name,
        candidate_version=version,
        champion_version=champion_version,
        promoted=True,
        reasons=reasons,
        decided_at=pointer.promoted_at,
    )
    return pointer
