"""Feature drift: each feature of the window against its training reference.

For every feature both distributions are put on the reference's bins (the unknown bin
first) and compared twice: by PSI, how far the shares moved (an effect size), and by a
test, whether the move is more than sampling noise — Kolmogorov–Smirnov for a continuous
feature, chi-square for a discrete one. The tests' p-values are Holm-adjusted over all the
features compared, so with 50-odd features the chance of calling any of them drifted when
none moved stays below ``alpha``. A feature has drifted when both agree: PSI at least
``psi_threshold`` *and* adjusted p below ``alpha``. A large PSI on a small window can be
noise; a tiny p-value on a huge window can be a move too small to matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chainwatch.drift import stats
from chainwatch.drift.checks import CheckResult, Figures
from chainwatch.shared.drift import DriftFinding, DriftKind, DriftReference, DriftWindow
from chainwatch.shared.feature_reference import FeatureDistribution, FeatureReference

UNKNOWN_SHIFT = 0.05
"""A move of the unknown share this large is named in the summary: it may be the data feed."""


@dataclass(frozen=True)
class FeatureDriftParams:
    psi_threshold: float = 0.25
    alpha: float = 0.01
    min_drifted_features: int = 1
    exclude: frozenset[str] = frozenset({"anomaly_score"})


def compare(
    distribution: FeatureDistribution, rows: int, values: npt.NDArray[np.float64]
) -> tuple[float, stats.TestResult, npt.NDArray[np.int64]]:
    """PSI, the test of the feature's kind, and the window's bin counts."""
    counts = distribution.counts(values)
    psi = stats.psi(distribution.shares, rows, counts)
    test = stats.chi_square if distribution.kind == "discrete" else stats.ks_binned
    return psi, test(distribution.shares, rows, counts), counts


def check_features(
    reference: FeatureReference,
    info: DriftReference,
    matrix: npt.NDArray[np.float64],
    names: Sequence[str],
    window: DriftWindow,
    params: FeatureDriftParams,
) -> CheckResult:
    """Compare every feature of ``matrix`` (n × len(names)) that the reference knows."""
    compared = [
        (j, name)
        for j, name in enumerate(names)
        if name in reference.features and name not in params.exclude
    ]
    results = []
    for j, name in compared:
        distribution = reference.features[name]
        psi, test, counts = compare(distribution, reference.rows, matrix[:, j])
        results.append((name, distribution, psi, test, counts))
    adjusted = stats.holm([test.p_value for _, _, _, test, _ in results])

    findings: list[DriftFinding] = []
    figures: Figures = {}
    for (name, distribution, psi, test, counts), p_adjusted in zip(results, adjusted, strict=True):
        figures[name] = {"psi": psi, "statistic": test.statistic, "p_adjusted": p_adjusted}
        if psi < params.psi_threshold or p_adjusted >= params.alpha:
            continue
        findings.append(
            DriftFinding(
                subject=name,
                test="chi_square" if distribution.kind == "discrete" else "ks",
                statistic=test.statistic,
                p_value=test.p_value,
                p_adjusted=p_adjusted,
                psi=psi,
                edges=list(distribution.edges),
                reference_shares=distribution.shares.tolist(),
                window_shares=(counts / max(1, counts.sum())).tolist(),
            )
        )
    findings.sort(key=lambda f: f.psi or 0.0, reverse=True)

    drifted = len(findings) >= params.min_drifted_features
    headline = max((f["psi"] or 0.0 for f in figures.values()), default=None)
    return CheckResult(
        kind=DriftKind.FEATURE,
        drifted=drifted,
        summary=_summary(findings, len(compared)),
        window=window,
        findings=findings,
        figures=figures,
        headline=headline,
        reference=info,
    )


def _summary(findings: Sequence[DriftFinding], compared: int) -> str:
    if not findings:
        return f"no feature drifted ({compared} compared)"
    named = ", ".join(_named(f) for f in findings[:5])
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    return f"{len(findings)} of {compared} features drifted: {named}{more}"


def _named(finding: DriftFinding) -> str:
    """``fee_rate_sat_vb (PSI 0.47)``, saying so when the share of unknown values moved."""
    unknown_before, unknown_now = finding.reference_shares[0], finding.window_shares[0]
    if abs(unknown_now - unknown_before) < UNKNOWN_SHIFT:
        return f"{finding.subject} (PSI {finding.psi:.2f})"
    return (
        f"{finding.subject} (PSI {finding.psi:.2f}, unknown {unknown_before:.0%} -> "
        f"{unknown_now:.0%})"
    )
