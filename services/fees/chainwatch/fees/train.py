"""``chainwatch-fees-train``: fit the fee model on the recorded series, judge it, register it.

Steps, all on ``fee_estimation/`` of the data dir:

1. Load the per-block series and the imputed p5 ratio; build features and targets.
2. Grow the quantile boosters on the first 60 % of blocks, stopping early on the next 15 %.
3. Pick the decision rule (band ratio and whole-sat/vB rounding) that lands in the next
   block's p5–p50 range most often on those validation blocks.
4. Judge on the last 25 %: pinball loss and 5–95 % coverage per target and quantile, how
   often raw quantiles cross, and next-block over/under/in-range against mempool.space's
   method and the last block's median (``make bench`` adds Core's estimator).
5. Store the version (``fees-lgbm``) with its card in the registry
   (``CHAINWATCH_REGISTRY_*``) and, with ``--promote``, point NATS KV at it so running
   fees services load it.

The Dagster code location (``services/trainer``, job ``fees_training``) runs the same
recipe as assets: ``train_fee_model``, then ``gate`` as a blocking check before promotion.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from nats.js import JetStreamContext

from chainwatch.fees.card import build_card
from chainwatch.fees.dataset import Dataset
from chainwatch.fees.evaluation import estimate_series, score_band
from chainwatch.fees.model import MODEL_NAME, ROUNDINGS, FeeModel, TrainConfig, fit_fee_model
from chainwatch.fees.series import P5Ratio, load_block_series, load_p5_ratio
from chainwatch.shared import bus
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.model_store import ModelStore, ModelVersion
from chainwatch.shared.registry import RegistrySettings, open_store, promote
from chainwatch.shared.settings import DataSettings, LogSettings, NatsSettings

logger = logging.getLogger(__name__)

BAND_RATIOS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
MIN_OUTER_COVERAGE = 0.6
"""The 5–95 % interval of the next block's median must hold at least this share of test blocks."""


@dataclass(frozen=True)
class TrainingResult:
    model: FeeModel
    card: dict[str, Any]
    dataset: Dataset
    ratio: P5Ratio


def train_fee_model(
    data_dir: Path, version: str, config: TrainConfig | None = None
) -> TrainingResult:
    """Fit, choose the decision rule, judge; nothing is stored."""
    config = config or TrainConfig()
    observations = load_block_series(data_dir)
    ratio = load_p5_ratio(data_dir, observations[0].block.height, observations[-1].block.height)
    dataset = Dataset.build(observations, config.targets)
    logger.info("series: %d blocks, %d features", len(observations), dataset.features.shape[1])

    x_train, y_train = dataset.part(dataset.split.train)
    x_valid, y_valid = dataset.part(dataset.split.valid)
    model = fit_fee_model(version, x_train, y_train, x_valid, y_valid, ratio.mean, config)
    model, selection = choose_decision(model, dataset, ratio)
    logger.info(
        "decision: band ratio %.2f, rounding %s (validation in range %.3f)",
        model.band_ratio,
        model.rounding,
        selection[f"{model.band_ratio:.2f}/{model.rounding}"],
    )

    judged = estimate_series(dataset, model, ratio, with_core=False)
    card = build_card(model, dataset, ratio, config, judged, selection)
    return TrainingResult(model, card, dataset, ratio)


def choose_decision(
    model: FeeModel, dataset: Dataset, ratio: P5Ratio
) -> tuple[FeeModel, dict[str, float]]:
    """The (band ratio, rounding) with the most next-block estimates in range on the
    validation blocks, and the in-range share of every candidate."""
    rows = dataset.split.valid
    y = dataset.targets[1][rows]
    heights = np.array([o.block.height for o in dataset.observations[rows]])
    p50 = np.exp(y)
    p5 = p50 * ratio.at(heights + 1)
    floor = np.array([o.mempool.mempool_min_fee_sat_vb for o in dataset.observations[rows]])
    first = model.targets.index(1)

    shares = {}
    for band_ratio in BAND_RATIOS:
        for rounding in ROUNDINGS:
            candidate = model.with_decision(band_ratio, rounding)
            estimate = np.maximum(
                candidate.recommend_sat_vb(dataset.features[rows])[:, first], floor
            )
            shares[f"{band_ratio:.2f}/{rounding}"] = score_band("", estimate, p5, p50).in_range
    best = max(shares, key=lambda key: shares[key])
    band_text, rounding = best.split("/")
    return model.with_decision(float(band_text), rounding), shares


def gate(card: dict[str, Any]) -> list[str]:
    """Why a trained version must not be promoted; empty when it may be.

    Refused when, on the held-out blocks, its next-block estimates land in range less often
    than mempool.space's method on the same blocks, or its 5–95 % next-block interval holds
    fewer than ``MIN_OUTER_COVERAGE`` of them.
    """
    reasons = []
    judged = card["metrics"]["next_block_test"]
    ours, theirs = judged["chainwatch"]["in_range"], judged["mempool.space"]["in_range"]
    if ours <= theirs:
        reasons.append(f"next-block in range {ours:.3f}, not above mempool.space's {theirs:.3f}")
    coverage = card["metrics"]["target_1"]["coverage_outer"]
    if coverage < MIN_OUTER_COVERAGE:
        reasons.append(f"5-95 % interval holds {coverage:.3f} of test blocks")
    return reasons


async def register(
    result: TrainingResult, store: ModelStore, js: JetStreamContext | None = None
) -> ModelVersion:
    """Store the version; with ``js``, promote it to current."""
    stored = await store.put_version(
        MODEL_NAME, result.model.version, result.model.to_files(), result.card
    )
    logger.info("stored %s %s at %s", MODEL_NAME, stored.version, stored.uri)
    if js is not None:
        await promote(js, MODEL_NAME, stored.version, store=store, run_id=stored.version)
    return stored


async def _register_from_cli(result: TrainingResult, promote_it: bool) -> None:
    store = open_store(RegistrySettings())
    if not promote_it:
        await register(result, store)
        return
    nc = await bus.connect(NatsSettings(), "chainwatch-fees-train")
    try:
        await register(result, store, nc.jetstream())
    finally:
        await nc.drain()


def default_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainwatch-fees-train", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None, help="default CHAINWATCH_DATA_DIR")
    parser.add_argument("--version", default=None, help="default: UTC time, 20250101T120000Z")
    parser.add_argument("--promote", action="store_true", help="make it the current version")
    args = parser.parse_args(argv)

    log = LogSettings()
    configure_logging("fees-train", log.level, log.format)
    data_dir = args.data_dir or DataSettings().data_dir
    result = train_fee_model(data_dir, args.version or default_version())
    band = result.card["metrics"]["next_block_test"]["chainwatch"]
    logger.info(
        "test: in range %.3f, overpaid %.3f, underpaid %.3f",
        band["in_range"],
        band["overpaid"],
        band["underpaid"],
    )
    reasons = gate(result.card)
    if reasons and args.promote:
        logger.warning("stored but not promoted: %s", "; ".join(reasons))
    asyncio.run(_register_from_cli(result, args.promote and not reasons))


if __name__ == "__main__":
    main()
