"""The quantile model on the real series: ordered, calibrated enough, stored and reloaded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from chainwatch.fees.card import load_fee_model
from chainwatch.fees.dataset import Dataset
from chainwatch.fees.errors import FeeModelError
from chainwatch.fees.model import MODEL_NAME, FeeModel, choose_in_band
from chainwatch.shared.model_store import FilesystemStore

from .conftest import minimal_card


def test_served_quantiles_are_ordered(small_model: FeeModel, dataset: Dataset) -> None:
    log_q = small_model.log_quantiles(dataset.features[dataset.split.test])
    assert np.all(np.diff(log_q, axis=2) >= 0)


def test_outer_quantiles_rarely_cross_before_sorting(
    small_model: FeeModel, dataset: Dataset
) -> None:
    raw = small_model.raw_log_quantiles(dataset.features[dataset.split.test])
    assert np.mean(raw[:, :, 0] > raw[:, :, -1]) < 0.02  # q10 above q90


def test_interval_covers_the_held_out_blocks(small_model: FeeModel, dataset: Dataset) -> None:
    """The 10–90 % interval of the next block's median holds it for most held-out blocks
    (nominal 80 %; the test weeks are later and busier than the training weeks)."""
    rows = dataset.split.test
    log_q = small_model.log_quantiles(dataset.features[rows])
    y = dataset.targets[1][rows]
    known = np.isfinite(y)
    inside = (y[known] >= log_q[known, 0, 0]) & (y[known] <= log_q[known, 0, -1])
    assert 0.6 < inside.mean() < 0.95


def test_predictions_follow_the_fee_level(small_model: FeeModel, dataset: Dataset) -> None:
    rows = dataset.split.test
    median = small_model.log_quantiles(dataset.features[rows])[:, 0, 1]
    y = dataset.targets[1][rows]
    known = np.isfinite(y)
    assert np.corrcoef(median[known], y[known])[0, 1] > 0.5


def test_in_band_choice_centres_a_symmetric_distribution() -> None:
    """For a log-symmetric prediction, the rate most likely in [r·Y, Y] is median·√r."""
    quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)
    z = np.array([-1.645, -0.674, 0.0, 0.674, 1.645])
    log_q = np.log(10.0) + 0.3 * z
    chosen = np.exp(choose_in_band(log_q[None, :], quantiles, band_ratio=0.64, grid=2001))[0]
    assert chosen == pytest.approx(10.0 * 0.8, rel=0.03)


def test_a_stored_version_reloads_to_the_same_predictions(
    small_model: FeeModel, dataset: Dataset, tmp_path: Path
) -> None:
    store = FilesystemStore(tmp_path)
    card = minimal_card(small_model.with_decision(small_model.band_ratio, "round"))
    asyncio.run(store.put_version(MODEL_NAME, small_model.version, small_model.to_files(), card))
    loaded = load_fee_model(asyncio.run(store.get_version(MODEL_NAME, small_model.version)))
    features = dataset.features[:200]
    assert np.allclose(loaded.log_quantiles(features), small_model.log_quantiles(features))
    rounded = loaded.recommend_sat_vb(features)
    assert np.all(rounded == np.round(rounded)) and np.all(rounded >= 1)

    with pytest.raises(FeeModelError, match="other features"):
        FeeModel.from_files(
            "x", small_model.to_files(), [1], [0.5], 0.7, "none", ["something", "else"]
        )
