"""The trainer's Dagster code location: every asset, check, job, schedule, sensor and resource.

Load it with ``dagster dev -m chainwatch.trainer.definitions`` (UI) or run a job with
``dagster job execute -m chainwatch.trainer.definitions -j screening_training``. Settings
come from the environment once, here (``TrainerSettings``, ``CHAINWATCH_REGISTRY_*``);
``build_definitions`` takes them, or ready resources, so tests wire their own servers.

Jobs: ``screening_training`` (data set → features → XGBoost and LightGBM candidates →
blocking promotion gates → promotion), ``elliptic`` (the benchmark) and
``onboarding_training`` (the onboarding risk model: ``onboarding_assets``) and
``fees_training`` (the fee model: ``fees_assets``). Screening training
also runs on a schedule and whenever a ``RetrainRequest`` arrives on the bus (the drift
service's way in), on the window the request names.
"""

from __future__ import annotations

import dagster as dg

from chainwatch.onboarding.settings import OnboardingSettings
from chainwatch.shared.registry import FilesystemStore, S3Store, open_store
from chainwatch.trainer import assets, elliptic_assets, fees_assets, onboarding_assets
from chainwatch.trainer.assets import LabelLists
from chainwatch.trainer.dataset import RecordedTransactions
from chainwatch.trainer.elliptic_assets import EllipticFolders
from chainwatch.trainer.fees_assets import FeesTraining
from chainwatch.trainer.ledger import NoLedger, PostgresLedger
from chainwatch.trainer.onboarding_assets import OnboardingTraining
from chainwatch.trainer.recent import StreamTransactions
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.retrain import TRIGGER_TAG, build_retrain_sensor, build_schedule
from chainwatch.trainer.settings import TrainerSettings

training_job = dg.define_asset_job(
    "screening_training",
    selection=dg.AssetSelection.groups(assets.GROUP),
    description="Train, judge and promote the screening models",
    tags={TRIGGER_TAG: "manual"},
    executor_def=dg.in_process_executor,  # one process: the steps share imports and data
)

elliptic_job = dg.define_asset_job(
    "elliptic",
    selection=dg.AssetSelection.groups(elliptic_assets.GROUP),
    description="The Elliptic benchmark, when its files are in the data dir",
    executor_def=dg.in_process_executor,
)


def build_resources(settings: TrainerSettings) -> dict[str, object]:
    """Resources from settings: the real data, the registry, the ledger, the Elliptic folders."""
    store = open_store(settings.registry)
    mirrors = [FilesystemStore(settings.mirror_root)] if settings.mirror_root else []
    ensure_bucket = isinstance(store, S3Store) and settings.registry.create_bucket
    return {
        "transactions": RecordedTransactions(settings.data.data_dir, settings.replay_files),
        "recent_transactions": StreamTransactions(settings.nats, settings.window_max_transactions),
        "label_lists": LabelLists(settings.data.data_dir),
        "registry": ModelRegistry(store, settings.nats, mirrors, ensure_bucket=ensure_bucket),
        "ledger": (
            PostgresLedger(settings.database, settings.verdict_table)
            if settings.ledger
            else NoLedger()
        ),
        "elliptic": EllipticFolders(settings.data.data_dir, settings.report_dir),
        "onboarding": OnboardingTraining(OnboardingSettings()),
        "fees": FeesTraining(settings.data.data_dir),
    }


def build_definitions(
    settings: TrainerSettings, resources: dict[str, object] | None = None
) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *assets.ASSETS,
            *elliptic_assets.ASSETS,
            *onboarding_assets.ASSETS,
            *fees_assets.ASSETS,
        ],
        asset_checks=[*assets.CHECKS, *onboarding_assets.CHECKS, *fees_assets.CHECKS],
        jobs=[training_job, elliptic_job, onboarding_assets.onboarding_job, fees_assets.fees_job],
        schedules=[build_schedule(training_job, settings.schedule_cron)],
        sensors=[build_retrain_sensor(training_job, settings.nats, settings.retrain_poll_s)],
        resources=resources if resources is not None else build_resources(settings),
    )


defs = build_definitions(TrainerSettings())
