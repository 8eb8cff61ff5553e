"""Recommendations: floors, monotonic tiers, the shallow-mempool rule, the model's path."""

from __future__ import annotations

from dataclasses import replace

from chainwatch.fees.dataset import Dataset
from chainwatch.fees.model import FeeModel
from chainwatch.fees.recommend import recommend
from chainwatch.fees.state import Observation


def _history(dataset: Dataset, end: int) -> list[Observation]:
    return list(dataset.observations[end - 144 : end])


def test_projection_only_takes_block_medians_monotonic_and_floored(dataset: Dataset) -> None:
    history = _history(dataset, 3000)
    floor = history[-1].mempool.mempool_min_fee_sat_vb
    rec = recommend(history, None, [12.0, 5.0, 30.0, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert rec.method == "projection" and rec.model_version is None
    rates = [rec.by_target_sat_vb[k] for k in (1, 3, 6, 144)]
    assert rates == sorted(rates, reverse=True)  # block 3 (target 3) lifts target 1
    assert rates[0] == 30.0 and min(rates) >= floor
    assert floor <= rec.economy_sat_vb <= rates[-1]


def test_a_shallow_mempool_needs_only_the_minimum(dataset: Dataset) -> None:
    history = _history(dataset, 3000)
    shallow = replace(history[-1], mempool=replace(history[-1].mempool, vsize_vb=400_000))
    rec = recommend([*history[:-1], shallow], None, [25.0])
    assert set(rec.by_target_sat_vb.values()) == {shallow.mempool.mempool_min_fee_sat_vb}


def test_model_path_reports_its_version_and_ordered_quantiles(
    dataset: Dataset, small_model: FeeModel
) -> None:
    rec = recommend(_history(dataset, 8000), small_model, [5.0] * 8)
    assert rec.method == "model" and rec.model_version == small_model.version
    assert rec.quantiles_sat_vb is not None
    for levels in rec.quantiles_sat_vb.values():
        values = list(levels.values())
        assert values == sorted(values)
    assert rec.by_target_sat_vb[1] >= rec.by_target_sat_vb[6] >= rec.minimum_sat_vb
