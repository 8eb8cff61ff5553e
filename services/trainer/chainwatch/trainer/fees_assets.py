"""The fee model as Dagster assets: a candidate trained on the per-block series, its gate,
promotion.

::

    fees_candidate --[fees_promotion_gate, blocking]--> fees_promotion

The candidate is the fees service's own recipe (``chainwatch.fees.train``): LightGBM
quantile boosters on the recorded per-block series, the decision rule chosen on validation
blocks, judged on the held-out blocks against mempool.space's method; it is stored whatever
the gate says. The gate (``chainwatch.fees.train.gate``) refuses a version whose next-block
estimates land in the blocks' p5–p50 range no more often than mempool.space's, or whose
5–95 % interval holds too few of the held-out blocks; then the pointer does not move and
the ledger says why.
"""

from pathlib import Path

import dagster as dg

from chainwatch.fees.model import MODEL_NAME, TrainConfig
from chainwatch.fees.train import TrainingResult, default_version, gate, train_fee_model
from chainwatch.shared.registry import ModelPointer
from chainwatch.trainer.ledger import TrainingLedger
from chainwatch.trainer.promotion import gate_verdict, promote
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.retrain import TRIGGER_TAG

GROUP = "fees"


class FeesTraining:
    """Where the recorded series is, and how the boosters are grown (the service's defaults)."""

    def __init__(self, data_dir: Path, config: TrainConfig | None = None) -> None:
        self.data_dir = data_dir
        self.config = config or TrainConfig()


@dg.asset(
    group_name=GROUP,
    description="Quantile boosters on the per-block series, judged on held-out blocks, stored",
)
def fees_candidate(
    context: dg.AssetExecutionContext,
    fees: dg.ResourceParam[FeesTraining],
    registry: dg.ResourceParam[ModelRegistry],
    ledger: dg.ResourceParam[TrainingLedger],
) -> TrainingResult:
    run_id = context.run.run_id
    result = train_fee_model(fees.data_dir, default_version(), fees.config)
    version = result.model.version
    stored = registry.put(MODEL_NAME, version, result.model.to_files(), result.card)
    ledger.record_version(result.card, stored, run_id)

    judged = result.card["metrics"]["next_block_test"]
    context.add_output_metadata(
        {
            "version": version,
            "stored_at": [v.uri for v in stored],
            "in_range": judged["chainwatch"]["in_range"],
            "overpaid": judged["chainwatch"]["overpaid"],
            "underpaid": judged["chainwatch"]["underpaid"],
            "mempool_space_in_range": judged["mempool.space"]["in_range"],
            "band_ratio": result.model.band_ratio,
            "rounding": result.model.rounding,
        }
    )
    return result


@dg.asset_check(
    asset=fees_candidate,
    name="fees_promotion_gate",
    blocking=True,
    description="Refuses a fee model that does not beat mempool.space's method on held-out blocks",
)
def fees_promotion_gate(
    context: dg.AssetCheckExecutionContext,
    fees_candidate: TrainingResult,
    ledger: dg.ResourceParam[TrainingLedger],
) -> dg.AssetCheckResult:
    reasons = gate(fees_candidate.card)
    return gate_verdict(context, ledger, MODEL_NAME, fees_candidate.model.version, reasons)


@dg.asset(
    group_name=GROUP,
    description="Moves fees-lgbm's pointer to the candidate that passed its gate",
)
def fees_promotion(
    context: dg.AssetExecutionContext,
    fees_candidate: TrainingResult,
    registry: dg.ResourceParam[ModelRegistry],
    ledger: dg.ResourceParam[TrainingLedger],
) -> ModelPointer:
    pointer = promote(context, registry, ledger, MODEL_NAME, fees_candidate.model.version)
    context.add_output_metadata({"version": pointer.version, "store": pointer.store})
    return pointer


ASSETS = [fees_candidate, fees_promotion]
CHECKS = [fees_promotion_gate]

fees_job = dg.define_asset_job(
    "fees_training",
    selection=dg.AssetSelection.groups(GROUP),
    description="Train, judge and promote the fee model (fees-lgbm)",
    tags={TRIGGER_TAG: "manual"},
    executor_def=dg.in_process_executor,
)
