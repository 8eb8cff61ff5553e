"""The cost of a decision, and the threshold that makes it smallest.

The German credit data comes with a cost matrix: accepting an applicant who turns out bad
costs 5, refusing one who would have been good costs 1, a right decision costs nothing.
Costs are in those units; ``per_applicant`` is the mean over applicants, so refusing
everyone in a population with 30% bad risks costs 0.7 and accepting everyone 1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

ThresholdMethod = Literal["bayes", "empirical"]


@dataclass(frozen=True)
class CostMatrix:
    """Cost of a bad applicant accepted and of a good applicant refused."""

    bad_accepted: float = 5.0
    good_refused: float = 1.0

    @property
    def bayes_threshold(self) -> float:
        """Refuse when P(bad) ≥ this: the cheaper decision for a calibrated probability.

        Accepting costs ``bad_accepted × p`` in expectation, refusing ``good_refused × (1 -
        p)``; they are equal at ``good_refused / (good_refused + bad_accepted)`` (1/6 here).
        """
        return self.good_refused / (self.good_refused + self.bad_accepted)

    def total(self, bad: npt.ArrayLike, refused: npt.ArrayLike) -> float:
        """Cost of the decisions ``refused`` (bool per applicant) given outcomes ``bad`` (0/1)."""
        bad_ = np.asarray(bad).astype(bool)
        refused_ = np.asarray(refused).astype(bool)
        bad_accepted = np.count_nonzero(bad_ & ~refused_)
        good_refused = np.count_nonzero(~bad_ & refused_)
        return float(self.bad_accepted * bad_accepted + self.good_refused * good_refused)

    def per_applicant(self, bad: npt.ArrayLike, refused: npt.ArrayLike) -> float:
        """Mean cost per applicant; 0 for no applicants."""
        count = np.asarray(bad).size
        return self.total(bad, refused) / count if count else 0.0

    def minimising_threshold(self, bad: npt.ArrayLike, proba: npt.ArrayLike) -> float:
        """The threshold on ``proba`` (refuse when ``proba >= t``) with the least total cost.

        Every distinct probability is a candidate, and so is "refuse nobody" (above 1).
        Among thresholds of equal cost the one nearest the Bayes threshold wins, so a flat
        stretch of the cost curve does not push the threshold to an extreme.
        """
        bad_ = np.asarray(bad).astype(bool)
        proba_ = np.asarray(proba, dtype=np.float64)
        order = np.argsort(proba_)
        sorted_proba = proba_[order]
        sorted_bad = bad_[order]

        # Refusing from position i onwards: bads below i are accepted, goods from i refused.
        bads_accepted = np.concatenate([[0], np.cumsum(sorted_bad)])
        goods_refused = np.concatenate([np.cumsum((~sorted_bad)[::-1])[::-1], [0]])
        costs = self.bad_accepted * bads_accepted + self.good_refused * goods_refused
        candidates = np.concatenate([sorted_proba, [np.nextafter(1.0, 2.0)]])

        # A threshold can only sit at the first of equal probabilities.
        first = np.concatenate([[True], sorted_proba[1:] != sorted_proba[:-1], [True]])
        costs, candidates = costs[first], candidates[first]
        cheapest = np.flatnonzero(costs == costs.min())
        best = cheapest[np.argmin(np.abs(candidates[cheapest] - self.bayes_threshold))]
        return float(min(candidates[best], 1.0))


def choose_threshold(
    cost: CostMatrix,
    method: ThresholdMethod,
    bad: npt.ArrayLike,
    proba: npt.ArrayLike,
) -> float:
    """The operating threshold: the Bayes rule, or the cheapest on out-of-fold ``proba``."""
    if method == "bayes":
        return cost.bayes_threshold
    return cost.minimising_threshold(bad, proba)
