"""Feature drift: a moved feature is named, an unmoved one is not, however many are tested."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from chainwatch.drift.feature_drift import FeatureDriftParams, check_features
from chainwatch.shared.drift import DriftReference, DriftWindow
from chainwatch.shared.feature_reference import summarise

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = DriftWindow(first_seq=1, last_seq=200, first_at=NOW, last_at=NOW, size=200)
INFO = DriftReference(reference_id="test", source="bootstrap", rows=1000, description="test")


def _sample(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """k features: continuous ones and flags, like the feature set."""
    continuous = rng.lognormal(size=(n, k // 2))
    flags = (rng.random(size=(n, k - k // 2)) < 0.3).astype(np.float64)
    return np.hstack((continuous, flags))


def test_a_shifted_feature_is_named_with_its_evidence() -> None:
    rng = np.random.default_rng(5)
    names = [f"f{i}" for i in range(10)]
    reference = summarise(_sample(rng, 1000, 10), names, "reference")
    window = _sample(rng, 200, 10)
    window[:, 2] *= 3.0  # a continuous feature triples
    window[:, 7] = (rng.random(200) < 0.7).astype(np.float64)  # a flag flips its rate

    result = check_features(reference, INFO, window, names, WINDOW, FeatureDriftParams())

    assert result.drifted
    assert {f.subject for f in result.findings} == {"f2", "f7"}
    by_name = {f.subject: f for f in result.findings}
    assert by_name["f2"].test == "ks" and by_name["f7"].test == "chi_square"
    for finding in result.findings:
        assert finding.psi is not None and finding.psi >= 0.25
        assert finding.p_adjusted is not None and finding.p_adjusted < 0.01
        assert len(finding.window_shares) == len(finding.edges) + 2
    assert "f2" in result.summary and result.figures["f0"]["psi"] is not None


def test_fifty_unmoved_features_over_many_windows_raise_no_false_alarm() -> None:
    rng = np.random.default_rng(9)
    names = [f"f{i}" for i in range(50)]
    reference = summarise(_sample(rng, 1000, 50), names, "reference", bins=10)
    params = FeatureDriftParams(exclude=frozenset())

    alarms = sum(
        check_features(reference, INFO, _sample(rng, 200, 50), names, WINDOW, params).drifted
        for _ in range(100)
    )

    assert alarms == 0


def test_psi_alone_does_not_make_drift_without_the_test() -> None:
    rng = np.random.default_rng(2)
    names = ["f0", "f1"]
    reference = summarise(_sample(rng, 40, 2), names, "a tiny reference")
    params = FeatureDriftParams(psi_threshold=0.01, exclude=frozenset())

    result = check_features(reference, INFO, _sample(rng, 200, 2), names, WINDOW, params)

    assert max(f["psi"] or 0 for f in result.figures.values()) > 0.01
    assert not result.drifted


def test_excluded_and_unknown_features_are_not_compared() -> None:
    rng = np.random.default_rng(4)
    reference = summarise(_sample(rng, 500, 2), ["a", "anomaly_score"], "reference")
    window = _sample(rng, 200, 3)

    result = check_features(
        reference, INFO, window, ["a", "anomaly_score", "new"], WINDOW, FeatureDriftParams()
    )

    assert set(result.figures) == {"a"}
