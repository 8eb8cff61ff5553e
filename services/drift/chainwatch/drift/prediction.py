"""Prediction drift: the risk scores served, and the share flagged, against their own start.

A model's card does not say what scores the cascade will serve (rules floor the models,
sanctions override them), so the reference of the predictions is what the serving
configuration produced first: the first ``bootstrap_size`` decisions after start and after
every champion promotion. The window's risk scores are compared with it as a feature is
(PSI and KS or chi-square on the reference's bins); the flagged share by a chi-square test
of the two proportions, and only a change of at least ``flag_rate_min_change`` counts. Both
p-values are Holm-adjusted together. Reference and windows hold only decisions scored by
the champion version that serves now (none, before the first), and a window only decisions
made after the reference's (at least ``min_window``): a comparison never straddles a
change of model, however late a scorer swaps it in.
"""

from __future__ import annotations

import numpy as np

from chainwatch.drift import stats
from chainwatch.drift.checks import CheckResult, Figures
from chainwatch.drift.feature_drift import compare
from chainwatch.drift.window import Observation, span
from chainwatch.shared.drift import DriftFinding, DriftKind, DriftReference
from chainwatch.shared.feature_reference import FeatureDistribution, summarise_column


class PredictionDrift:
    def __init__(
        self,
        bootstrap_size: int,
        bins: int,
        psi_threshold: float,
        alpha: float,
        flag_rate_min_change: float,
        min_window: int,
    ) -> None:
        self.bootstrap_size = bootstrap_size
        self.bins = bins
        self.psi_threshold = psi_threshold
        self.alpha = alpha
        self.flag_rate_min_change = flag_rate_min_change
        self.min_window = min_window
        self._collecting: list[Observation] = []
        self._scores: FeatureDistribution | None = None
        self._flag_rate = 0.0
        self._mean_score = 0.0
        self.version: str | None = None
        self.info: DriftReference | None = None

    def restart(self, version: str | None) -> None:
        """The champion changed to ``version``: forget the reference, collect a new one."""
        self._collecting, self._scores, self.info = [], None, None
        self.version = version

    def observe(self, observation: Observation) -> None:
        if self._scores is not None or observation.batch_version != self.version:
            return
        self._collecting.append(observation)
        if len(self._collecting) < self.bootstrap_size:
            return
        scores = np.array([o.risk_score for o in self._collecting], dtype=np.float64)
        self._scores = summarise_column(scores, bins=self.bins)
        self._flag_rate = float(np.mean([o.flagged for o in self._collecting]))
        self._mean_score = float(scores.mean())
        window = span(self._collecting)
        self.info = DriftReference(
            reference_id=f"predictions:{window.first_seq}-{window.last_seq}",
            source="bootstrap",
            rows=window.size,
            description=(
                f"risk scores and flags of the first {window.size} decisions by batch model "
                f"{self.version or 'none'} (sequences {window.first_seq}-{window.last_seq})"
            ),
            window=window,
        )
        self._collecting = []

    def check(self, observations: list[Observation]) -> CheckResult | None:
        """Compare the window with the reference; None while either is too small."""
        if self._scores is None or self.info is None or self.info.window is None:
            return None
        after = self.info.window.last_seq
        observations = [
            o for o in observations if o.seq > after and o.batch_version == self.version
        ]
        if len(observations) < self.min_window:
            return None
        rows = self.info.rows
        scores = np.array([o.risk_score for o in observations], dtype=np.float64)
        psi, score_test, counts = compare(self._scores, rows, scores)

        flagged = sum(o.flagged for o in observations)
        flag_rate = flagged / len(observations)
        reference_flags = np.array([0.0, 1.0 - self._flag_rate, self._flag_rate])
        window_flags = np.array([0, len(observations) - flagged, flagged], dtype=np.int64)
        flag_test = stats.chi_square(reference_flags, rows, window_flags)
        score_p, flag_p = stats.holm([score_test.p_value, flag_test.p_value])

        findings = []
        if psi >= self.psi_threshold and score_p < self.alpha:
            findings.append(
                DriftFinding(
                    subject="risk_score",
                    test="chi_square" if self._scores.kind == "discrete" else "ks",
                    statistic=score_test.statistic,
                    p_value=score_test.p_value,
                    p_adjusted=score_p,
                    psi=psi,
                    reference_value=self._mean_score,
                    window_value=float(scores.mean()),
                    edges=list(self._scores.edges),
                    reference_shares=self._scores.shares.tolist(),
                    window_shares=(counts / counts.sum()).tolist(),
                )
            )
        if abs(flag_rate - self._flag_rate) >= self.flag_rate_min_change and flag_p < self.alpha:
            findings.append(
                DriftFinding(
                    subject="flag_rate",
                    test="chi_square",
                    statistic=flag_test.statistic,
                    p_value=flag_test.p_value,
                    p_adjusted=flag_p,
                    reference_value=self._flag_rate,
                    window_value=flag_rate,
                )
            )
        figures: Figures = {
            "risk_score": {"psi": psi, "statistic": score_test.statistic, "p_adjusted": score_p},
            "flag_rate": {"reference": self._flag_rate, "window": flag_rate, "p_adjusted": flag_p},
        }
        summary = (
            "; ".join(_describe(f) for f in findings)
            or f"scores and flag rate steady (score PSI {psi:.2f}, flagged {flag_rate:.1%})"
        )
        return CheckResult(
            kind=DriftKind.PREDICTION,
            drifted=bool(findings),
            summary=summary,
            window=span(observations),
            findings=findings,
            figures=figures,
            headline=psi,
            reference=self.info,
        )


def _describe(finding: DriftFinding) -> str:
    if finding.subject == "flag_rate":
        return (
            f"flag rate {finding.reference_value:.1%} -> {finding.window_value:.1%} "
            f"(p={finding.p_adjusted:.2g})"
        )
    return f"risk scores moved (PSI {finding.psi:.2f}, mean {finding.window_value:.3f})"
