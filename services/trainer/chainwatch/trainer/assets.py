"""The screening training assets: data set, features, two candidates, their gates, promotion.

::

    screening_transactions -> labelled_transactions -> screening_features
        -> xgb_candidate  --[xgb_promotion_gate, blocking]-->  xgb_promotion
        -> lgbm_candidate --[lgbm_promotion_gate, blocking]--> lgbm_promotion

A candidate asset trains, evaluates and stores its version (every version is kept, refused
ones too, so they can be inspected). Its blocking check is the promotion gate: when it
fails, the promotion asset does not run, the pointer does not move, and the check's
metadata and the ``training_run`` row say why. Run tag ``chainwatch/trigger`` (schedule,
drift, manual) is recorded with the decision.

The data: the configured source (``transactions``: the recorded files), unless the run's
config names a window (``DataWindowConfig``), as a retraining request from the drift
service does; then the transactions that reached the platform in that window
(``recent_transactions``: read back from ``chainwatch.tx.raw``).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import numpy.typing as npt

from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.models import ModelRefusedError, load_batch_model
from chainwatch.shared.registry import MODEL_CHALLENGER, MODEL_CHAMPION, ModelPointer
from chainwatch.shared.retraining import TrainingWindow
from chainwatch.trainer import metrics
from chainwatch.trainer.candidate import Candidate, ChampionJudge, train_candidate
from chainwatch.trainer.dataset import LoadedTransactions, TransactionSource
from chainwatch.trainer.gate import Champion, GateParams
from chainwatch.trainer.labels import LabelPolicy
from chainwatch.trainer.ledger import TrainingLedger
from chainwatch.trainer.promotion import gate_verdict, promote
from chainwatch.trainer.recent import StreamTransactions
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.screening import Array, FeatureSet, LabelledData
from chainwatch.trainer.screening import build_features as _build_features
from chainwatch.trainer.screening import build_labelled as _build_labelled
from chainwatch.trainer.split import SplitParams

GROUP = "screening"
HEADLINE = (
    *("rows", "positives", "pr_auc", "precision_at_threshold", "recall_at_threshold"),
    *("yield_at_1pct", "recall_at_1pct", "brier", "ece", "threshold"),
)
"""The held-out figures shown in run metadata (the card has them all)."""


class DataWindowConfig(dg.Config):
    """Train on the transactions that arrived in this window (ISO 8601 with a zone).

    Both empty: the configured data. ``window_end`` empty: up to when the run reads.
    """

    window_start: str = ""
    window_end: str = ""

    def window(self) -> TrainingWindow | None:
        if not self.window_start:
            if self.window_end:
                raise ValueError("window_end needs a window_start")
            return None
        return TrainingWindow.model_validate(
            {"start": self.window_start, "end": self.window_end or None}
        )


class LabelConfig(dg.Config):
    """Which weak labels to use (see ``chainwatch.trainer.labels``)."""

    use_input_scripts: bool = True
    use_entity_clusters: bool = True
    include_unlabelled: bool = True


class SplitConfig(dg.Config):
    """The time-ordered split (see ``chainwatch.trainer.split``) and presumed-licit weight."""

    held_out_fraction: float = 0.2
    validation_fraction: float = 0.2
    min_held_out_positives: int = 5
    unlabelled_weight: float = 1.0


class CandidateConfig(dg.Config):
    seed: int = 7
    shuffle_labels: bool = False
    """Train on permuted labels: a deliberately degraded candidate the gate must refuse."""
    gate_min_lift: float = 2.0
    gate_tolerance: float = 0.01
    threads: int = 1
    """Training threads; more only on a machine not shared with the services."""


class LabelLists:
    """The labelled-address lists of the data dir, read when training starts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def load(self) -> LabelBook:
        return LabelBook(self.data_dir)


@dg.asset(group_name=GROUP, description="Real transactions in time order, from the source")
def screening_transactions(
    context: dg.AssetExecutionContext,
    config: DataWindowConfig,
    transactions: dg.ResourceParam[TransactionSource],
    recent_transactions: dg.ResourceParam[StreamTransactions],
) -> LoadedTransactions:
    window = config.window()
    loaded = transactions.load() if window is None else recent_transactions.load(window)
    context.add_output_metadata(
        {
            "transactions": len(loaded.txs),
            "skipped": loaded.skipped,
            "source": loaded.description,
            "window": window.describe() if window else "none: the configured data",
        }
    )
    return loaded


@dg.asset(group_name=GROUP, description="Every transaction labelled, with its label source")
def labelled_transactions(
    context: dg.AssetExecutionContext,
    config: LabelConfig,
    screening_transactions: LoadedTransactions,
    label_lists: dg.ResourceParam[LabelLists],
    ledger: dg.ResourceParam[TrainingLedger],
) -> LabelledData:
    policy = LabelPolicy(
        use_input_scripts=config.use_input_scripts,
        use_entity_clusters=config.use_entity_clusters,
        include_unlabelled=config.include_unlabelled,
    )
    data = _build_labelled(screening_transactions, label_lists.load(), ledger.verdicts(), policy)
    counts = data.labelled.counts()
    context.add_output_metadata(
        {
            "rows": len(data.labelled.rows),
            "positives": sum(c["positives"] for c in counts.values()),
            "label_sources": counts,
            "verdicts_available": data.labelled.verdicts_available,
        }
    )
    return data


@dg.asset(group_name=GROUP, description="Feature matrix and its time-ordered split")
def screening_features(
    context: dg.AssetExecutionContext, config: SplitConfig, labelled_transactions: LabelledData
) -> FeatureSet:
    params = SplitParams(
        held_out_fraction=config.held_out_fraction,
        validation_fraction=config.validation_fraction,
        min_held_out_positives=config.min_held_out_positives,
    )
    features = _build_features(labelled_transactions, params, config.unlabelled_weight)
    split = features.split
    context.add_output_metadata(
        {
            "shape": list(features.x.shape),
            "feature_set_version": features.feature_set_version,
            "train": features.window_summary(split.train),
            "validation": features.window_summary(split.validation),
            "held_out": features.window_summary(split.held_out),
            "split_notes": list(split.notes),
        }
    )
    return features


def judge_serving(registry: ModelRegistry, name: str) -> ChampionJudge:
    """Score held-out rows with what serves ``name`` now, through the scorer's own loader."""

    def judge(x_held: Array, y_held: npt.NDArray[np.int64]) -> Champion | None:
        found = registry.serving(name)
        if found is None:
            return None
        pointer, loaded = found
        try:
            served = load_batch_model(name, pointer.version, loaded)
        except ModelRefusedError as exc:
            return Champion(pointer.version, comparable=False, metrics=None, note=exc.reason)
        figures = metrics.evaluate(served.predict_proba(x_held), y_held, served.threshold)
        return Champion(pointer.version, True, {k: figures[k] for k in HEADLINE})

    return judge


@dataclass(frozen=True)
class ModelSlot:
    """One model the job trains: its registry name, framework and asset-name prefix."""

    name: str
    framework: str
    prefix: str


SLOTS = (
    ModelSlot(MODEL_CHAMPION, "xgboost", "xgb"),
    ModelSlot(MODEL_CHALLENGER, "lightgbm", "lgbm"),
)


def model_assets(
    slot: ModelSlot,
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition, dg.AssetsDefinition]:
    """The candidate, its blocking promotion gate and its promotion, for one model."""

    @dg.asset(
        name=f"{slot.prefix}_candidate",
        group_name=GROUP,
        description=f"{slot.name}: trained, evaluated on held-out, stored as a new version",
    )
    def candidate(
        context: dg.AssetExecutionContext,
        config: CandidateConfig,
        screening_features: FeatureSet,
        labelled_transactions: LabelledData,
        registry: dg.ResourceParam[ModelRegistry],
        ledger: dg.ResourceParam[TrainingLedger],
    ) -> Candidate:
        trained_at = datetime.now(UTC)
        run_id = context.run.run_id
        result = train_candidate(
            slot.name,
            slot.framework,
            screening_features,
            labelled_transactions,
            version=f"{trained_at:%Y%m%dT%H%M%SZ}-{run_id[:8]}",
            run_id=run_id,
            trained_at=trained_at,
            champion=judge_serving(registry, slot.name),
            seed=config.seed,
            shuffle_labels=config.shuffle_labels,
            gate=GateParams(min_lift=config.gate_min_lift, tolerance=config.gate_tolerance),
            threads=config.threads,
        )
        stored = registry.put(slot.name, result.version, result.files, result.card)
        ledger.record_version(result.card, stored, run_id)
        context.add_output_metadata(
            {
                "version": result.version,
                "stored_at": [v.uri for v in stored],
                "metrics": {k: result.card["metrics"][k] for k in HEADLINE},
                "metrics_by_label_source": result.card["metrics_by_label_source"],
                "gate": result.decision.as_dict(),
            }
        )
        return result

    @dg.asset_check(
        asset=candidate,
        name=f"{slot.prefix}_promotion_gate",
        blocking=True,
        description="Refuses a candidate worse than the serving model on the same held-out rows",
    )
    def gate(
        context: dg.AssetCheckExecutionContext,
        candidate: Candidate,
        ledger: dg.ResourceParam[TrainingLedger],
    ) -> dg.AssetCheckResult:
        decision = candidate.decision
        return gate_verdict(
            context,
            ledger,
            slot.name,
            candidate.version,
            [] if decision.promote else decision.reasons,
            champion_version=decision.champion_version,
            description="; ".join(decision.reasons),
            metadata={
                "reasons": list(decision.reasons),
                "notes": list(decision.notes),
                "candidate_pr_auc": candidate.card["metrics"]["pr_auc"],
                "champion_version": decision.champion_version or "none",
                "champion_metrics": decision.champion_metrics or {},
            },
        )

    @dg.asset(
        name=f"{slot.prefix}_promotion",
        ins={"candidate": dg.AssetIn(key=f"{slot.prefix}_candidate")},
        group_name=GROUP,
        description=f"Moves the {slot.name} pointer to the candidate that passed its gate",
    )
    def promotion(
        context: dg.AssetExecutionContext,
        candidate: Candidate,
        registry: dg.ResourceParam[ModelRegistry],
        ledger: dg.ResourceParam[TrainingLedger],
    ) -> ModelPointer:
        pointer = promote(
            context,
            registry,
            ledger,
            slot.name,
            candidate.version,
            champion_version=candidate.decision.champion_version,
            reasons=candidate.decision.reasons,
        )
        context.add_output_metadata(
            {
                "version": pointer.version,
                "store": pointer.store,
                "promoted_at": str(pointer.promoted_at),
            }
        )
        return pointer

    return candidate, gate, promotion


MODEL_ASSETS = [model_assets(slot) for slot in SLOTS]
ASSETS: list[dg.AssetsDefinition] = [
    screening_transactions,
    labelled_transactions,
    screening_features,
    *(a for c, _, p in MODEL_ASSETS for a in (c, p)),
]
CHECKS: list[dg.AssetChecksDefinition] = [g for _, g, _ in MODEL_ASSETS]
