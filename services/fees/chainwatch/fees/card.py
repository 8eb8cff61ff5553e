"""The fee model's card: what it was trained on, how it decides, and how well it did.

Besides the registry's required keys (``chainwatch.shared.registry``), the card says:

- ``targets_blocks``, ``quantiles``, ``artifacts`` ("<target>/<quantile>" → file): the
  boosters; ``band_ratio`` and ``rounding``: the decision rule chosen on validation blocks;
- ``data_window``: heights and UTC times of the train, validation and test blocks;
- ``metrics``: on the test blocks, per target the pinball loss of each quantile (log
  sat/vB), the share of targets inside the 5–95 % interval, the share of rows whose raw
  quantiles cross; ``next_block_test``: over/under/in-range shares for chainwatch,
  mempool.space's method and the last block's median; ``decision_validation``: the
  in-range share of every candidate decision rule;
- ``p5_imputation``: how the blocks' 5th percentiles were imputed.

``threshold`` is the decision rule's band ratio (in (0, 1]): the model outputs fee rates, not
a probability, and the band ratio is its operating point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from chainwatch.fees.dataset import Dataset
from chainwatch.fees.evaluation import SeriesEstimates
from chainwatch.fees.features import FEATURE_NAMES, FEATURE_SET_VERSION
from chainwatch.fees.model import MODEL_NAME, FeeModel, TrainConfig, artifact_file, pinball_loss
from chainwatch.fees.series import PERCENTILES_FILE, SERIES_FILE, P5Ratio
from chainwatch.shared.model_store import LoadedModel


def build_card(
    model: FeeModel,
    dataset: Dataset,
    ratio: P5Ratio,
    config: TrainConfig,
    judged: SeriesEstimates,
    selection: Mapping[str, float],
) -> dict[str, Any]:
    split = dataset.split
    train_rows = int(np.isfinite(dataset.targets[1][split.train]).sum())
    metrics = quantile_metrics(model, dataset)
    metrics["next_block_test"] = {
        score.method: {k: v for k, v in asdict(score).items() if k != "method"}
        for score in judged.scores()
    }
    metrics["decision_validation"] = dict(selection)
    return {
        "name": MODEL_NAME,
        "version": model.version,
        "framework": "lightgbm",
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold": model.band_ratio,
        "trained_at": datetime.now(UTC).isoformat(),
        "targets_blocks": list(model.targets),
        "quantiles": list(model.quantiles),
        "artifacts": {
            f"{k}/{q}": artifact_file(k, q) for k in model.targets for q in model.quantiles
        },
        "band_ratio": model.band_ratio,
        "rounding": model.rounding,
        "train_config": asdict(config),
        "data_window": {
            "train": _window(dataset, split.train),
            "validation": _window(dataset, split.valid),
            "test": _window(dataset, split.test),
        },
        "label_sources": {SERIES_FILE: {"rows": train_rows, "positives": None}},
        "metrics": metrics,
        "metrics_by_label_source": {SERIES_FILE: metrics["next_block_test"]},
        "p5_imputation": {
            "source": PERCENTILES_FILE,
            "rule": "block median x (mean p0 + mean p10) / 2 / mean p50 of a centred 7-day window",
            "mean_ratio": ratio.mean,
        },
    }


def quantile_metrics(model: FeeModel, dataset: Dataset) -> dict[str, Any]:
    """Per target, on the test rows: pinball loss by quantile, 5–95 % coverage, crossings."""
    rows = dataset.split.test
    raw = model.raw_log_quantiles(dataset.features[rows])
    ordered = np.sort(raw, axis=2)
    out: dict[str, Any] = {}
    for t, target in enumerate(model.targets):
        y = dataset.targets[target][rows]
        known = np.isfinite(y)
        inside = (y[known] >= ordered[known, t, 0]) & (y[known] <= ordered[known, t, -1])
        crossing = np.any(np.diff(raw[known, t, :], axis=1) < 0, axis=1)
        out[f"target_{target}"] = {
            "rows": int(known.sum()),
            "pinball_loss": {
                str(q): pinball_loss(y, ordered[:, t, j], q) for j, q in enumerate(model.quantiles)
            },
            "coverage_outer": float(inside.mean()),
            "nominal_outer": model.quantiles[-1] - model.quantiles[0],
            "raw_crossing_share": float(crossing.mean()),
        }
    return out


def _window(dataset: Dataset, rows: slice) -> dict[str, Any]:
    part = dataset.observations[rows]
    first, last = part[0].block, part[-1].block
    return {
        "first_height": first.height,
        "last_height": last.height,
        "first_time": datetime.fromtimestamp(first.block_time_ts, UTC).isoformat(),
        "last_time": datetime.fromtimestamp(last.block_time_ts, UTC).isoformat(),
        "blocks": len(part),
    }


def load_fee_model(loaded: LoadedModel) -> FeeModel:
    """A ``FeeModel`` from a registry version; ``FeeModelError`` when it cannot serve."""
    card = loaded.card
    return FeeModel.from_files(
        version=loaded.version.version,
        files=loaded.files,
        targets=[int(k) for k in card["targets_blocks"]],
        quantiles=[float(q) for q in card["quantiles"]],
        band_ratio=float(card["band_ratio"]),
        rounding=str(card.get("rounding", "none")),
        feature_names=card["feature_names"],
    )
