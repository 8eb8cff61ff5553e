"""The cascade's policy with real models, promoted through the registry and hot-swapped."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import pickle
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from nats.aio.client import Client as NATS
from river import linear_model, preprocessing

from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.watchers import start_watchers
from chainwatch.shared.features import FEATURE_NAMES, FEATURE_SET_VERSION, feature_index
from chainwatch.shared.model_store import FilesystemStore
from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODEL_ONLINE,
    models_kv,
    promote,
)
from chainwatch.shared.schemas import ScoredTransaction, Tier, Transaction

from .conftest import raw

FEE_RATE = feature_index("fee_rate_sat_vb")


def _card(name: str, version: str, framework: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "version": version,
        "framework": framework,
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold": 0.5,
        "trained_at": datetime.now(UTC).isoformat(),
        "data_window": {"train": ["2013-12-30", "2019-05-02"], "held_out": ["2019-05-02"] * 2},
        "label_sources": {"synthetic": 600},
        "metrics": {},
        "metrics_by_label_source": {},
        **extra,
    }


def _fee_rate_data() -> tuple[np.ndarray, np.ndarray]:
    """Seeded rows where only the fee rate matters: above 50 sat/vB is 'illicit'."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, len(FEATURE_NAMES)))
    x[:, FEE_RATE] = rng.uniform(0, 100, size=600)
    return x, (x[:, FEE_RATE] > 50).astype(np.float64)


def _xgb_model() -> bytes:
    x, y = _fee_rate_data()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(x, y), 20)
    return bytes(booster.save_raw("json"))


def _lgb_model() -> bytes:
    x, y = _fee_rate_data()
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x, y), 20)
    return booster.model_to_string().encode()


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
async def no_model_pointers(nc: NATS) -> AsyncIterator[None]:
    """Each test starts and leaves with no model promoted on the session's NATS."""

    async def purge() -> None:
        kv = await models_kv(nc.jetstream())
        for name in (MODEL_CHAMPION, MODEL_CHALLENGER, MODEL_ONLINE):
            await kv.purge(name)

    await purge()
    yield
    await purge()


@pytest.fixture
def cascade() -> Cascade:
    return Cascade(HeuristicTier(), RiskBands())


async def _decide(
    cascade: Cascade, labels: LabelBook, txs: list[Transaction]
) -> list[ScoredTransaction]:
    exposures = await ExposureTracker(labels, MemoryTaintStore()).assess(txs)
    return cascade.decide_batch([raw(tx) for tx in txs], exposures)


async def test_promoted_models_are_hot_swapped_and_decide(
    nc: NATS, tmp_path: Path, cascade: Cascade, labels: LabelBook, block277647: list[Transaction]
) -> None:
    js = nc.jetstream()
    store = FilesystemStore(tmp_path / "models")
    await store.put_version(MODEL_CHAMPION, "xgb-1", {"model.json": _xgb_model()},
                            _card(MODEL_CHAMPION, "xgb-1", "xgboost"))  # fmt: skip
    await store.put_version(MODEL_CHALLENGER, "lgb-1", {"model.txt": _lgb_model()},
                            _card(MODEL_CHALLENGER, "lgb-1", "lightgbm"))  # fmt: skip
    watchers = start_watchers(js, store, cascade)
    try:
        before = await _decide(cascade, labels, block277647[:20])
        assert all(d.deciding_tier is Tier.HEURISTIC for d in before)

        await promote(js, MODEL_CHAMPION, "xgb-1", store=store, run_id="test")
        await promote(js, MODEL_CHALLENGER, "lgb-1", store=store, run_id="test")
        await _until(lambda: cascade.models.champion is not None)
        await _until(lambda: cascade.models.challenger is not None)

        after = await _decide(cascade, labels, block277647[:20])
    finally:
        for task in watchers:
            task.cancel()

    for decision in after:
        assert decision.deciding_tier is Tier.BATCH
        assert decision.model_versions == {"batch": "xgb-1", "batch_challenger": "lgb-1"}
        batch = [t for t in decision.tiers if t.tier is Tier.BATCH]
        assert [t.model_version for t in batch] == ["xgb-1", "lgb-1"]
        assert "shadow" in batch[1].note
        rules = next(t for t in decision.tiers if t.tier is Tier.HEURISTIC)
        floored = "floor" in decision.decision_reason
        expected = rules.risk_score if floored else batch[0].risk_score
        assert decision.risk_score == pytest.approx(expected, abs=1e-6)
        assert not floored or rules.risk_score > batch[0].risk_score
    # The model learned "fee rate above 50 sat/vB": its score must follow the fee rate.
    high = [d for d in after if (d.features["fee_rate_sat_vb"] or 0) > 60]
    low = [d for d in after if (d.features["fee_rate_sat_vb"] or 0) < 40]
    assert high and low
    assert min(d.risk_score for d in high) > max(d.risk_score for d in low)


async def test_model_on_another_feature_set_is_refused(
    nc: NATS, tmp_path: Path, cascade: Cascade, caplog: pytest.LogCaptureFixture
) -> None:
    js = nc.jetstream()
    store = FilesystemStore(tmp_path / "models")
    card = _card(MODEL_CHAMPION, "xgb-old", "xgboost", feature_set_version="tx-features-0")
    await store.put_version(MODEL_CHAMPION, "xgb-old", {"model.json": _xgb_model()}, card)
    await store.put_version(MODEL_CHAMPION, "xgb-2", {"model.json": _xgb_model()},
                            _card(MODEL_CHAMPION, "xgb-2", "xgboost"))  # fmt: skip
    watchers = start_watchers(js, store, cascade)
    try:
        await promote(js, MODEL_CHAMPION, "xgb-2", store=store, run_id="test")
        await _until(lambda: cascade.models.champion is not None)
        await promote(js, MODEL_CHAMPION, "xgb-old", store=store, run_id="test")
        await _until(lambda: any("xgb-old refused" in r.getMessage() for r in caplog.records))
    finally:
        for task in watchers:
            task.cancel()

    assert cascade.models.champion is not None
    assert cascade.models.champion.version == "xgb-2", "the refused model must not serve"
    refusal = next(r.getMessage() for r in caplog.records if "refused" in r.getMessage())
    assert "tx-features-0" in refusal and "still serving xgb-2" in refusal


def _river_model(n_verdicts: int) -> tuple[bytes, dict[str, object]]:
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    rng = np.random.default_rng(3)
    counts = {"true": 0, "false": 0}
    for _ in range(n_verdicts):
        row = dict(zip(FEATURE_NAMES, rng.normal(size=len(FEATURE_NAMES)).tolist(), strict=True))
        row["fee_rate_sat_vb"] = float(rng.uniform(0, 100))
        label = row["fee_rate_sat_vb"] > 50
        counts["true" if label else "false"] += 1
        model.learn_one(row, label)
    return pickle.dumps(model), {"n_verdicts": n_verdicts, "class_counts": counts}


async def test_online_tier_decides_only_once_trusted(
    nc: NATS, tmp_path: Path, cascade: Cascade, labels: LabelBook, block277647: list[Transaction]
) -> None:
    js = nc.jetstream()
    store = FilesystemStore(tmp_path / "models")
    for version, n in (("online-10", 10), ("online-400", 400)):
        blob, extra = _river_model(n)
        await store.put_version(MODEL_ONLINE, version, {"model.pkl": blob},
                                _card(MODEL_ONLINE, version, "river", **extra))  # fmt: skip
    watchers = start_watchers(js, store, cascade)
    try:
        await promote(js, MODEL_ONLINE, "online-10", store=store, run_id="test")
        await _until(lambda: cascade.models.online is not None)
        untrusted = await _decide(cascade, labels, block277647[:5])

        await promote(js, MODEL_ONLINE, "online-400", store=store, run_id="test")
        await _until(lambda: getattr(cascade.models.online, "version", "") == "online-400")
        trusted = await _decide(cascade, labels, block277647[:5])
    finally:
        for task in watchers:
            task.cancel()

    for decision in untrusted:
        assert decision.deciding_tier is not Tier.ONLINE
        online = next(t for t in decision.tiers if t.tier is Tier.ONLINE)
        assert online.model_version == "online-10" and "not trusted" in online.note
    assert all(d.deciding_tier is Tier.ONLINE for d in trusted)
    assert all("online model online-400 is trusted" in d.decision_reason for d in trusted)


async def test_a_model_answering_nan_abstains_and_never_lowers_a_decision(
    labels: LabelBook, block574200: list[Transaction]
) -> None:
    from chainwatch.scorer.models import ServedModel
    from chainwatch.shared.schemas import RiskBand

    sanctioned = next(t for t in block574200 if t.txid.startswith("41f366c2"))
    broken = ServedModel(
        name=MODEL_ONLINE, version="broken", framework="river", threshold=0.5, card={},
        predict_proba=lambda x: np.full(len(x), np.nan), n_verdicts=10_000,
        class_counts={"true": 5000, "false": 5000},
    )  # fmt: skip
    cascade = Cascade(HeuristicTier(), RiskBands())
    cascade.models = dataclasses.replace(cascade.models, online=broken, champion=broken)

    decisions = await _decide(cascade, labels, [sanctioned, *block574200[:20]])

    assert decisions[0].band is RiskBand.SEVERE and decisions[0].flagged
    for decision in decisions:
        assert decision.deciding_tier is Tier.HEURISTIC
        assert all(math.isfinite(t.risk_score) for t in decision.tiers)
        online = next(t for t in decision.tiers if t.tier is Tier.ONLINE)
        assert "no usable score" in online.note
        ScoredTransaction.model_validate_json(decision.model_dump_json())  # consumers can read it


async def test_a_bad_artifact_does_not_end_the_watch(
    nc: NATS, tmp_path: Path, cascade: Cascade
) -> None:
    js = nc.jetstream()
    store = FilesystemStore(tmp_path / "models")
    bad_card = _card(MODEL_ONLINE, "bad", "river", n_verdicts="lots", class_counts=[1, 2])
    await store.put_version(MODEL_ONLINE, "bad", {"model.pkl": b"not a pickle"}, bad_card)
    blob, extra = _river_model(50)
    await store.put_version(MODEL_ONLINE, "good", {"model.pkl": blob},
                            _card(MODEL_ONLINE, "good", "river", **extra))  # fmt: skip
    watchers = start_watchers(js, store, cascade)
    try:
        await promote(js, MODEL_ONLINE, "bad", store=store, run_id="test")
        await promote(js, MODEL_ONLINE, "good", store=store, run_id="test")
        await _until(lambda: getattr(cascade.models.online, "version", "") == "good")
    finally:
        for task in watchers:
            task.cancel()
    assert all(not task.done() or task.cancelled() for task in watchers)
