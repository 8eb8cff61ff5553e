"""Platt scaling recovers a known calibration and keeps the ranking."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.onboarding.calibration import PlattScaling, sigmoid


def test_platt_recovers_the_slope_and_intercept_that_generated_the_labels() -> None:
    rng = np.random.default_rng(11)
    margin = rng.normal(0.0, 2.0, size=20_000)
    bad = (rng.uniform(size=margin.size) < sigmoid(0.5 * margin - 1.0)).astype(int)
    fitted = PlattScaling.fit(margin, bad)
    assert fitted.slope == pytest.approx(0.5, abs=0.03)
    assert fitted.intercept == pytest.approx(-1.0, abs=0.05)


def test_sigmoid_stays_finite_far_out() -> None:
    values = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert values.tolist() == [0.0, 0.5, 1.0]


def test_one_class_only_cannot_be_calibrated() -> None:
    with pytest.raises(ValueError, match="both"):
        PlattScaling.fit(np.array([0.1, 0.2]), np.array([0, 0]))
