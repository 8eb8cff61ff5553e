"""The training job, in-process on the real recorded transactions, against real servers.

The job writes each version to an S3 server (moto) and a filesystem mirror, moves the KV
pointer, and the scorer's own watcher hot-swaps the new champion into a running cascade.
A second run trained on shuffled labels is refused by the promotion gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.watchers import watch_model
from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODELS_KV_BUCKET,
    FilesystemStore,
    S3Store,
    current_version,
)
from chainwatch.shared.schemas import RawTransaction, Tier
from chainwatch.shared.settings import DatabaseSettings, NatsSettings
from chainwatch.trainer.assets import ASSETS, CHECKS, LabelLists
from chainwatch.trainer.dataset import RecordedTransactions
from chainwatch.trainer.elliptic_assets import EllipticFolders
from chainwatch.trainer.ledger import PostgresLedger
from chainwatch.trainer.recent import StreamTransactions
from chainwatch.trainer.registry import ModelRegistry
from chainwatch.trainer.retrain import TRIGGER_TAG

XGB_CHAIN = [
    "screening_transactions",
    "labelled_transactions",
    "screening_features",
    "xgb_candidate",
    "xgb_promotion",
]


class SwapSignallingCascade(Cascade):
    """A cascade that sets an event whenever its watchers swap a model in."""

    swapped: asyncio.Event

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "models" and hasattr(self, "swapped"):
            self.swapped.set()


@dataclass
class Trained:
    result: dg.ExecuteInProcessResult
    s3: S3Store
    mirror: FilesystemStore
    resources: dict[str, object]
    cascade: SwapSignallingCascade


def _materialize(resources: dict[str, object], **kwargs: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize_to_memory([*ASSETS, *CHECKS], resources=resources, **kwargs)


async def _delete_pointers(nc: NATS) -> None:
    with contextlib.suppress(nats.js.errors.NotFoundError):  # no bucket: nothing to clear
        await nc.jetstream().delete_key_value(MODELS_KV_BUCKET)


@pytest.fixture(scope="module")
async def trained(
    nats_settings: NatsSettings,
    database_settings: DatabaseSettings,
    s3_endpoint: str,
    data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Trained]:
    """One training run on real data, watched by a scorer cascade as it promotes."""
    from chainwatch.shared import bus

    nc = await bus.connect(nats_settings, "test-trainer")
    await _delete_pointers(nc)
    s3 = S3Store(
        f"models-{secrets.token_hex(4)}",
        endpoint_url=s3_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
    )
    await s3.ensure_bucket()
    folder = tmp_path_factory.mktemp("trainer")
    mirror = FilesystemStore(folder / "models")
    resources: dict[str, object] = {
        "transactions": RecordedTransactions(data_dir),
        "recent_transactions": StreamTransactions(nats_settings),
        "label_lists": LabelLists(data_dir),
        "registry": ModelRegistry(s3, nats_settings, [mirror]),
        "ledger": PostgresLedger(database_settings),
        "elliptic": EllipticFolders(data_dir, folder / "reports"),
    }
    cascade = SwapSignallingCascade(HeuristicTier(), RiskBands())
    cascade.swapped = asyncio.Event()
    watcher = asyncio.create_task(watch_model(nc.jetstream(), s3, cascade, MODEL_CHAMPION))

    result = await asyncio.to_thread(_materialize, resources, tags={TRIGGER_TAG: "manual"})
    yield Trained(result, s3, mirror, resources, cascade)

    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    await _delete_pointers(nc)
    await nc.drain()


async def test_job_stores_promotes_and_the_scorer_swaps_without_restart(
    trained: Trained, nc: NATS, data_dir: Path
) -> None:
    result, js = trained.result, nc.jetstream()
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    candidate = result.output_for_node("xgb_candidate")

    assert await current_version(js, MODEL_CHAMPION) == candidate.version
    assert await current_version(js, MODEL_CHALLENGER) is not None
    for store in (trained.s3, trained.mirror):
        stored = await store.get_version(MODEL_CHAMPION, candidate.version)
        assert set(stored.files) == {"model.json"}
        assert stored.card["metrics"]["pr_auc"] == candidate.card["metrics"]["pr_auc"]

    await asyncio.wait_for(trained.cascade.swapped.wait(), 10)
    served = trained.cascade.models.champion
    assert served is not None and served.version == candidate.version

    tx = RecordedTransactions(data_dir, ["block277647"]).load().txs[5].tx
    raw = RawTransaction(source="test", observed_at=datetime.now(UTC), tx=tx)
    decision = trained.cascade.decide_batch([raw], [[]])[0]
    batch = [t for t in decision.tiers if t.tier == Tier.BATCH]
    assert batch and batch[0].model_version == candidate.version


async def test_card_lists_its_metrics_and_label_sources(trained: Trained) -> None:
    card = trained.result.output_for_node("xgb_candidate").card

    assert card["framework"] == "xgboost" and card["feature_names"][0] == "input_count"
    assert 0.0 < card["threshold"] < 1.0
    assert card["metrics"]["positives"] >= 5
    for figure in ("pr_auc", "precision_at_threshold", "recall_at_threshold", "yield_at_1pct"):
        assert card["metrics"][figure] is not None
    assert len(card["metrics"]["reliability"]) == 10
    assert {"direct_exposure", "entity_cluster", "unlabelled"} <= set(card["label_sources"])
    assert "unlabelled" in card["metrics_by_label_source"]
    windows = card["data_window"]
    assert windows["train"]["to"] <= windows["held_out"]["from"]


async def test_ledger_records_versions_and_decisions(trained: Trained, pool: asyncpg.Pool) -> None:
    run_id = trained.result.run_id

    versions = await pool.fetch("SELECT name FROM model_version WHERE run_id = $1", run_id)
    runs = await pool.fetch(
        "SELECT model_name, decision, trigger FROM training_run WHERE run_id = $1", run_id
    )

    assert sorted(v["name"] for v in versions) == [MODEL_CHALLENGER, MODEL_CHAMPION]
    assert {(r["model_name"], r["decision"], r["trigger"]) for r in runs} == {
        (MODEL_CHAMPION, "promoted", "manual"),
        (MODEL_CHALLENGER, "promoted", "manual"),
    }


async def test_shuffled_labels_candidate_is_refused(
    trained: Trained, nc: NATS, pool: asyncpg.Pool
) -> None:
    js = nc.jetstream()
    serving = await current_version(js, MODEL_CHAMPION)
    degraded = {"ops": {"xgb_candidate": {"config": {"shuffle_labels": True}}}}

    result = await asyncio.to_thread(
        _materialize,
        trained.resources,
        run_config=degraded,
        selection=XGB_CHAIN,
        raise_on_error=False,
        tags={TRIGGER_TAG: "drift"},
    )

    [gate] = result.get_asset_check_evaluations()
    refused = result.output_for_node("xgb_candidate")
    assert not gate.passed
    assert f"worse than the serving {serving}" in (gate.description or "")
    assert await current_version(js, MODEL_CHAMPION) == serving
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey("xgb_promotion") not in materialized
    stored = await trained.s3.get_version(MODEL_CHAMPION, refused.version)
    assert stored.card["training"]["shuffled_labels"] and not stored.card["gate"]["promote"]
    row = await pool.fetchrow(
        "SELECT decision, trigger, reasons, champion_version FROM training_run WHERE run_id = $1",
        result.run_id,
    )
    assert row is not None and row["decision"] == "refused" and row["trigger"] == "drift"
    assert row["champion_version"] == serving and "worse than" in row["reasons"]
