"""The onboarding risk model as Dagster assets: applicants, candidate, gate, promotion.

::

    onboarding_applicants -> onboarding_candidate --[onboarding_promotion_gate, blocking]-->
        onboarding_promotion

The candidate is the onboarding service's own recipe (``chainwatch.onboarding.pipeline``):
10-fold cross-validation of the calibrated LightGBM model and of the logistic-regression
baseline, the fairness report, the final fit and the card; it is stored whatever the gate
says. The gate refuses a model that ranks worse than ROC-AUC 0.70 or whose decisions cost
no less than a blanket decision; then the pointer does not move and the ledger says why.
Settings are the service's (``CHAINWATCH_ONBOARDING_*``), so the model trained here is the
one the service expects.
"""

from datetime import UTC, datetime

import dagster as dg

from chainwatch.onboarding.dataset import CreditData, load_credit_data
from chainwatch.onboarding.pipeline import TrainedVersion, gate, train_version
from chainwatch.onboarding.settings import OnboardingSettings
from chainwatch.shared.registry import ModelPointer
from chainwatch.trainer.ledger import TrainingLedger
from chainwatch.trainer.promotion import gate_verdict, promote
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.retrain import TRIGGER_TAG

GROUP = "onboarding"


class OnboardingTraining:
    """The onboarding service's settings, for the assets to train exactly as it serves."""

    def __init__(self, settings: OnboardingSettings) -> None:
        self.settings = settings


@dg.asset(group_name=GROUP, description="The 1,000 applicants of the German credit data")
def onboarding_applicants(
    context: dg.AssetExecutionContext, onboarding: dg.ResourceParam[OnboardingTraining]
) -> CreditData:
    data = load_credit_data(onboarding.settings.data.data_dir)
    context.add_output_metadata(
        {"applicants": len(data), "bad": int(data.bad.sum()), "source": data.source}
    )
    return data


@dg.asset(
    group_name=GROUP,
    description="Cross-validated against the baseline, fairness-reported, stored as a version",
)
def onboarding_candidate(
    context: dg.AssetExecutionContext,
    onboarding_applicants: CreditData,
    onboarding: dg.ResourceParam[OnboardingTraining],
    registry: dg.ResourceParam[ModelRegistry],
    ledger: dg.ResourceParam[TrainingLedger],
) -> TrainedVersion:
    run_id = context.run.run_id
    trained = train_version(
        onboarding.settings, onboarding_applicants, now=datetime.now(UTC), run_id=run_id
    )
    name, version = trained.model.name, trained.model.version
    stored = registry.put(name, version, trained.files, trained.card)
    ledger.record_version(trained.card, stored, run_id)

    metrics, baseline = trained.card["metrics"], trained.card["baseline"]
    context.add_output_metadata(
        {
            "version": version,
            "stored_at": [v.uri for v in stored],
            "roc_auc": metrics["roc_auc_mean"],
            "cost_per_applicant": metrics["cost_per_applicant_mean"],
            "baseline_roc_auc": baseline["roc_auc_mean"],
            "baseline_cost_per_applicant": baseline["cost_per_applicant_mean"],
            "threshold": trained.model.threshold,
            "demographic_parity_difference": {
                grouping: report["demographic_parity_difference"]
                for grouping, report in trained.card["fairness"].items()
            },
        }
    )
    return trained


@dg.asset_check(
    asset=onboarding_candidate,
    name="onboarding_promotion_gate",
    blocking=True,
    description="Refuses a model that ranks poorly or costs as much as a blanket decision",
)
def onboarding_promotion_gate(
    context: dg.AssetCheckExecutionContext,
    onboarding_candidate: TrainedVersion,
    ledger: dg.ResourceParam[TrainingLedger],
) -> dg.AssetCheckResult:
    model = onboarding_candidate.model
    return gate_verdict(context, ledger, model.name, model.version, gate(onboarding_candidate.card))


@dg.asset(
    group_name=GROUP,
    description="Moves the onboarding model's pointer to the candidate that passed its gate",
)
def onboarding_promotion(
    context: dg.AssetExecutionContext,
    onboarding_candidate: TrainedVersion,
    registry: dg.ResourceParam[ModelRegistry],
    ledger: dg.ResourceParam[TrainingLedger],
) -> ModelPointer:
    model = onboarding_candidate.model
    pointer = promote(context, registry, ledger, model.name, model.version)
    context.add_output_metadata({"version": pointer.version, "store": pointer.store})
    return pointer


ASSETS = [onboarding_applicants, onboarding_candidate, onboarding_promotion]
CHECKS = [onboarding_promotion_gate]

onboarding_job = dg.define_asset_job(
    "onboarding_training",
    selection=dg.AssetSelection.groups(GROUP),
    description="Train, judge and promote the onboarding risk model",
    tags={TRIGGER_TAG: "manual"},
    executor_def=dg.in_process_executor,
)
