"""Platt scaling: a model's raw margin turned into a calibrated probability of a bad risk.

``proba = sigmoid(slope × margin + intercept)``, fitted by maximum likelihood on margins
the model gave to applicants it was not trained on (out-of-fold), with Platt's smoothed
targets so that a perfectly separated fold does not drive the slope to infinity.

Why Platt and not isotonic regression: the calibrated log-odds are an affine function of
the margin, so TreeSHAP contributions computed on the margin, multiplied by ``slope``, add
up exactly to the calibrated log-odds; a per-decision explanation stays exact after
calibration. Isotonic regression is a step function and would break that sum.

Reference: J. Platt, "Probabilistic outputs for support vector machines and comparisons to
regularized likelihood methods", Advances in Large Margin Classifiers, 1999.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NEWTON_STEPS = 100
TOLERANCE = 1e-10
RIDGE = 1e-9
"""A touch of curvature so that a degenerate set of margins still has a solution."""


def sigmoid(log_odds: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The logistic function, computed without overflow for large |log_odds|."""
    z = np.asarray(log_odds, dtype=np.float64)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


@dataclass(frozen=True)
class PlattScaling:
    """``log_odds = slope × margin + intercept``; a positive slope keeps the ranking."""

    slope: float
    intercept: float

    @classmethod
    def fit(cls, margin: npt.ArrayLike, bad: npt.ArrayLike) -> PlattScaling:
        """Fit on out-of-fold margins and outcomes (1 bad, 0 good) by Newton's method."""
        x = np.asarray(margin, dtype=np.float64)
        y = np.asarray(bad).astype(bool)
        positives, negatives = int(y.sum()), int((~y).sum())
        if positives == 0 or negatives == 0:
            raise ValueError("Platt scaling needs both good and bad applicants")
        target = np.where(y, (positives + 1) / (positives + 2), 1 / (negatives + 2))

        design = np.column_stack([x, np.ones_like(x)])
        params = np.array([1.0, 0.0])
        for _ in range(NEWTON_STEPS):
            p = sigmoid(design @ params)
            gradient = design.T @ (p - target)
            weights = p * (1 - p)
            hessian = design.T @ (design * weights[:, None]) + RIDGE * np.eye(2)
            step = np.linalg.solve(hessian, gradient)
            params -= step
            if np.max(np.abs(step)) < TOLERANCE:
                break
        return cls(slope=float(params[0]), intercept=float(params[1]))

    def log_odds(self, margin: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated log-odds of a bad risk."""
        return self.slope * np.asarray(margin, dtype=np.float64) + self.intercept

    def proba(self, margin: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated probability of a bad risk, in (0, 1)."""
        return sigmoid(self.log_odds(margin))
