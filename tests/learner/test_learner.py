"""The learner over a real nats-server and a filesystem registry, on real transactions."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from chainwatch.ingest.normalise import normalise
from chainwatch.learner.model import OnlineModel, build_pipeline
from chainwatch.learner.service import Learner, resume
from chainwatch.learner.settings import LearnerSettings
from chainwatch.scorer.bands import RiskBands
from chainwatch.scorer.cascade import Cascade
from chainwatch.scorer.exposure import ExposureTracker, MemoryTaintStore
from chainwatch.scorer.heuristics import HeuristicTier
from chainwatch.scorer.labels import LabelBook
from chainwatch.scorer.models import load_online_model
from chainwatch.shared import bus
from chainwatch.shared.features import FEATURE_NAMES
from chainwatch.shared.model_store import FilesystemStore
from chainwatch.shared.registry import MODEL_ONLINE, current_pointer, models_kv
from chainwatch.shared.schemas import RawTransaction, ScoredTransaction
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT, ReviewVerdict, Verdict

REASON = {
    Verdict.TRUE_POSITIVE: "illicit_exposure_confirmed",
    Verdict.FALSE_POSITIVE: "legitimate_service",
}


@pytest.fixture(scope="module")
async def decisions(data_dir: Path) -> dict[str, list[ScoredTransaction]]:
    """Real decisions of two shapes: 200-input consolidations and ordinary payments."""
    with gzip.open(
        data_dir / "mempool_api/derived/block540107_txs_esplora_like.jsonl.gz", "rt"
    ) as f:
        txs = [normalise(json.loads(line)) for line in f]
    cascade = Cascade(HeuristicTier(), RiskBands())
    exposures = await ExposureTracker(LabelBook(data_dir), MemoryTaintStore()).assess(txs)
    raws = [RawTransaction(source="test", observed_at=datetime.now(UTC), tx=tx) for tx in txs]
    scored = cascade.decide_batch(raws, exposures)
    return {
        "consolidation": [d for d in scored if d.input_count >= 100 and d.output_count == 1],
        "payment": [d for d in scored if d.input_count <= 2 and d.output_count == 2],
    }


def _verdict(decision: ScoredTransaction, verdict: Verdict) -> ReviewVerdict:
    return ReviewVerdict(
        txid=decision.txid,
        verdict=verdict,
        label=verdict.label,
        reason_code=REASON[verdict],
        analyst="alice",
        analyst_role="analyst",
        decided_at=datetime.now(UTC),
        risk_score=decision.risk_score,
        band=decision.band,
        deciding_tier=decision.deciding_tier,
        feature_set_version=decision.feature_set_version,
        features=decision.features,
    )


@pytest.fixture
async def js(nc: NATS) -> AsyncIterator[JetStreamContext]:
    js = nc.jetstream()
    if await _exists(js):
        await js.delete_stream(REVIEW_STREAM.name)  # each test reads its own verdicts only
    await bus.ensure_streams(js, [REVIEW_STREAM])
    await (await models_kv(js)).purge(MODEL_ONLINE)
    yield js
    await (await models_kv(js)).purge(MODEL_ONLINE)


async def _exists(js: JetStreamContext) -> bool:
    try:
        await js.stream_info(REVIEW_STREAM.name)
    except Exception:
        return False
    return True


async def _publish(
    js: JetStreamContext, verdicts: list[ReviewVerdict], msg_ids: list[str] | None = None
) -> None:
    for verdict, msg_id in zip(verdicts, msg_ids or [v.verdict_id for v in verdicts], strict=True):
        await bus.publish(js, REVIEW_VERDICT, verdict, msg_id=msg_id)


async def _run_learner(
    js: JetStreamContext, store: FilesystemStore, settings: LearnerSettings, until: int
) -> Learner:
    """Run a learner until its model has learned ``until`` verdicts, then stop it."""
    learner = Learner(settings, js, store, await resume(js, store, settings))
    stop = asyncio.Event()
    task = asyncio.create_task(learner.run(stop))
    deadline = time.monotonic() + 30
    while learner.model.n_verdicts < until:
        assert time.monotonic() < deadline, f"learned {learner.model.n_verdicts} of {until}"
        await asyncio.sleep(0.01)
    stop.set()
    await task
    return learner


async def _online_score(
    js: JetStreamContext, store: FilesystemStore, decision: ScoredTransaction
) -> float:
    """What the scorer's online tier would say now: the promoted checkpoint, loaded as it does."""
    pointer = await current_pointer(js, MODEL_ONLINE)
    assert pointer is not None
    served = load_online_model(
        MODEL_ONLINE, pointer.version, await store.get_version(MODEL_ONLINE, pointer.version)
    )
    row = np.array(
        [
            [
                decision.features.get(n) if decision.features.get(n) is not None else np.nan
                for n in FEATURE_NAMES
            ]
        ]
    )
    return float(served.predict_proba(row)[0])


async def test_false_positives_on_a_pattern_lower_its_next_score(
    js: JetStreamContext, tmp_path: Path, decisions: dict[str, list[ScoredTransaction]]
) -> None:
    store = FilesystemStore(tmp_path / "models")
    settings = LearnerSettings(durable=f"learner-{uuid.uuid4().hex[:8]}")
    consolidations, payments = decisions["consolidation"], decisions["payment"]
    probe = consolidations[-1]

    # Analysts first confirmed consolidations like these as illicit, payments as fine.
    history = []
    for consolidation, payment in zip(consolidations[:10], payments[:10], strict=True):
        history += [_verdict(consolidation, Verdict.TRUE_POSITIVE)]
        history += [_verdict(payment, Verdict.FALSE_POSITIVE)]
    await _publish(js, history)
    await _run_learner(js, store, settings, until=20)
    before = await _online_score(js, store, probe)

    # Then a handful of false-positive verdicts on the same pattern.
    await _publish(js, [_verdict(d, Verdict.FALSE_POSITIVE) for d in consolidations[10:15]])
    learner = await _run_learner(js, store, settings, until=25)
    after = await _online_score(js, store, probe)

    assert learner.model.class_counts == {"true": 10, "false": 15}
    assert before > 0.5, f"the confirmed pattern scores {before:.3f}"
    assert after < before - 0.2, f"score of the pattern went from {before:.3f} to {after:.3f}"


async def test_duplicate_and_replayed_verdicts_are_learned_once(
    js: JetStreamContext, tmp_path: Path, decisions: dict[str, list[ScoredTransaction]]
) -> None:
    store = FilesystemStore(tmp_path / "models")
    settings = LearnerSettings(durable=f"learner-{uuid.uuid4().hex[:8]}")
    verdicts = [_verdict(d, Verdict.TRUE_POSITIVE) for d in decisions["consolidation"][:3]]
    await _publish(js, verdicts)
    # The same verdicts again under other message ids, as a replay beyond the dedup window.
    await _publish(js, verdicts, msg_ids=[f"replay-{v.verdict_id}" for v in verdicts])
    marker = _verdict(decisions["payment"][1], Verdict.FALSE_POSITIVE)
    await _publish(js, [marker])

    learner = await _run_learner(js, store, settings, until=4)
    await asyncio.sleep(0)
    assert learner.model.n_verdicts == 4
    assert learner.model.learned_ids == {v.verdict_id for v in [*verdicts, marker]}


async def test_restart_resumes_from_checkpoint_and_later_verdicts(
    js: JetStreamContext, tmp_path: Path, decisions: dict[str, list[ScoredTransaction]]
) -> None:
    store = FilesystemStore(tmp_path / "models")
    settings = LearnerSettings(durable=f"learner-{uuid.uuid4().hex[:8]}")
    first = [_verdict(d, Verdict.TRUE_POSITIVE) for d in decisions["consolidation"][:4]]
    await _publish(js, first)
    await _run_learner(js, store, settings, until=4)

    later = [_verdict(d, Verdict.FALSE_POSITIVE) for d in decisions["payment"][:3]]
    await _publish(js, later)
    restarted = await _run_learner(js, store, settings, until=7)

    assert restarted.model.n_verdicts == 7
    pointer = await current_pointer(js, MODEL_ONLINE)
    assert pointer is not None and pointer.version == restarted.model.version
    resumed = OnlineModel.from_checkpoint(await store.get_version(MODEL_ONLINE, pointer.version))
    assert resumed.learned_ids == {v.verdict_id for v in [*first, *later]}


def test_escalations_teach_nothing() -> None:
    model = OnlineModel(build_pipeline(0.05, 0.0))
    verdict = ReviewVerdict(
        txid="ab" * 32, verdict=Verdict.ESCALATE, label=None, reason_code="needs_supervisor_review",
        analyst="bob", analyst_role="analyst", decided_at=datetime.now(UTC), risk_score=0.7,
        band="High", deciding_tier="heuristic",
    )  # fmt: skip
    assert not model.learn(verdict, 1)
    assert model.n_verdicts == 0 and model.last_seq == 1


class _FlakyStore(FilesystemStore):
    """A store whose first write fails, as an S3 endpoint that is briefly away."""

    failures = 1

    async def put_version(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise OSError("store unreachable")
        return await super().put_version(*args, **kwargs)


async def test_a_failed_checkpoint_loses_no_verdict(
    js: JetStreamContext, tmp_path: Path, decisions: dict[str, list[ScoredTransaction]]
) -> None:
    store = _FlakyStore(tmp_path / "models")
    settings = LearnerSettings(durable=f"learner-{uuid.uuid4().hex[:8]}")
    verdicts = [_verdict(d, Verdict.TRUE_POSITIVE) for d in decisions["consolidation"][:3]]
    await _publish(js, verdicts)

    learner = await _run_learner(js, store, settings, until=3)

    pointer = await current_pointer(js, MODEL_ONLINE)
    assert store.failures == 0 and pointer is not None
    checkpoint = OnlineModel.from_checkpoint(await store.get_version(MODEL_ONLINE, pointer.version))
    assert checkpoint.learned_ids == {v.verdict_id for v in verdicts} == learner.model.learned_ids
