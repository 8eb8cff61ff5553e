"""The recorded per-block series and the imputed 5th percentile."""

from __future__ import annotations

import numpy as np

from chainwatch.fees.dataset import Dataset
from chainwatch.fees.features import FEATURE_NAMES
from chainwatch.fees.series import P5Ratio
from chainwatch.fees.state import Observation


def test_series_is_one_row_per_block_in_height_order(series: list[Observation]) -> None:
    heights = [o.block.height for o in series]
    assert heights == sorted(set(heights))
    assert (heights[0], heights[-1]) == (861_523, 872_689)
    assert len(series) > 9_500
    medians = [o.block.median_fee_rate_sat_vb for o in series if o.block.median_fee_rate_sat_vb]
    assert 1 <= float(np.median(medians)) <= 20


def test_imputed_p5_ratio_is_a_plausible_share(p5_ratio: P5Ratio) -> None:
    ratios = p5_ratio.at(np.arange(861_523, 872_690, 100))
    assert np.all((ratios > 0.4) & (ratios <= 1.0))
    assert 0.6 < p5_ratio.mean < 0.9


def test_targets_look_only_forward_and_split_keeps_time_order(dataset: Dataset) -> None:
    obs = dataset.observations
    y1 = dataset.targets[1]
    by_height = {o.block.height: o.block.median_fee_rate_sat_vb for o in obs}
    for i in (100, 2000, 5000):
        following = by_height.get(obs[i].block.height + 1)
        if following is not None:
            assert np.isclose(np.exp(y1[i]), following)
    assert np.all(dataset.targets[6][np.isfinite(dataset.targets[6])] <= np.nanmax(y1))
    split = dataset.split
    assert 0 < split.valid_start < split.test_start < split.n == len(obs)
    assert dataset.features.shape == (len(obs), len(FEATURE_NAMES))
