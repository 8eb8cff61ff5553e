"""Evaluation of a screening model on held-out transactions.

Scores are predicted probabilities of illicit activity in [0, 1]; labels are 1 (illicit)
or 0. Every figure is computed over transactions, each counting once (training weights do
not enter evaluation). A figure that is undefined for the data (PR-AUC with no positive,
precision with nothing flagged) is None, never a made-up 0.

- ``pr_auc``: average precision, the area under the precision-recall curve; a model with
  no skill scores the positive rate (``prevalence``).
- ``precision_at_threshold`` / ``recall_at_threshold``: of the transactions scored at or
  above the operating threshold, the share that is illicit; of the illicit, the share
  scored at or above it.
- ``yield_at_1pct``: the share of illicit transactions among the top 1% of scores, what an
  analyst team reviewing 1% of traffic would find; ``recall_at_1pct``: the share of all
  illicit transactions inside that 1%.
- ``brier``: mean squared error of the probabilities (0 is perfect); ``ece``: expected
  calibration error over ``reliability`` (ten equal-width bins of predicted probability,
  each with its count, mean prediction and observed illicit rate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

REVIEW_BUDGET = 0.01
"""Share of traffic an analyst team reviews: the top 1% of scores."""

RELIABILITY_BINS = 10


def evaluate(scores: Array, labels: npt.NDArray[Any], threshold: float) -> dict[str, Any]:
    """Every held-out figure of one model: see the module docstring for their meaning."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    positives = int(labels.sum())
    flagged = scores >= threshold
    true_flags = int((flagged & (labels == 1)).sum())
    budget_k = max(1, math.ceil(REVIEW_BUDGET * len(scores))) if len(scores) else 0
    top = np.argsort(-scores, kind="stable")[:budget_k]
    top_positives = int(labels[top].sum()) if budget_k else 0

    return {
        "rows": len(scores),
        "positives": positives,
        "prevalence": _ratio(positives, len(scores)),
        "threshold": threshold,
        "pr_auc": average_precision(scores, labels),
        "precision_at_threshold": _ratio(true_flags, int(flagged.sum())),
        "recall_at_threshold": _ratio(true_flags, positives),
        "flagged_share": _ratio(int(flagged.sum()), len(scores)),
        "review_budget_rows": budget_k,
        "yield_at_1pct": _ratio(top_positives, budget_k),
        "recall_at_1pct": _ratio(top_positives, positives),
        "brier": float(np.mean((scores - labels) ** 2)) if len(scores) else None,
        **calibration(scores, labels),
    }


def average_precision(scores: Array, labels: npt.NDArray[Any]) -> float | None:
    """Area under the precision-recall curve (step-wise, as scikit-learn); None without positives.

    Tied scores are ranked together: a tie between a positive and negatives does not let
    the positive count as found first.
    """
    positives = int(np.sum(labels))
    if positives == 0 or len(scores) == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # Each distinct score is one threshold: its precision and recall count the whole tie.
    last_of_tie = np.r_[np.diff(sorted_scores) != 0, True]
    true_positives = np.cumsum(sorted_labels)[last_of_tie]
    flagged = (np.arange(len(scores)) + 1)[last_of_tie]
    precision = true_positives / flagged
    recall = true_positives / positives
    recall_gain = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_gain * precision))


def calibration(scores: Array, labels: npt.NDArray[Any]) -> dict[str, Any]:
    """Reliability bins and the expected calibration error (count-weighted |mean - rate|)."""
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    bins = []
    ece = 0.0
    for b in range(RELIABILITY_BINS):
        members = which == b
        count = int(members.sum())
        mean_predicted = float(scores[members].mean()) if count else None
        observed_rate = float(labels[members].mean()) if count else None
        if count and mean_predicted is not None and observed_rate is not None:
            ece += count / len(scores) * abs(mean_predicted - observed_rate)
        bins.append(
            {
                "from": round(float(edges[b]), 2),
                "to": round(float(edges[b + 1]), 2),
                "count": count,
                "mean_predicted": mean_predicted,
                "observed_rate": observed_rate,
            }
        )
    return {"ece": ece if len(scores) else None, "reliability": bins}


def by_label_source(
    scores: Array, labels: npt.NDArray[Any], sources: Sequence[str], threshold: float
) -> dict[str, dict[str, Any]]:
    """Per label source: rows, positives, mean score, share flagged, and PR-AUC where defined.

    For a source of positives only, ``flagged_share`` is its recall; for a source of
    negatives only, its false-positive rate.
    """
    source_array = np.asarray(sources)
    result = {}
    for source in sorted(set(sources)):
        members = source_array == source
        s, y = scores[members], labels[members]
        result[source] = {
            "rows": int(members.sum()),
            "positives": int(y.sum()),
            "mean_score": float(s.mean()),
            "flagged_share": float((s >= threshold).mean()),
            "pr_auc": average_precision(s, y) if 0 < y.sum() < len(y) else None,
        }
    return result


def choose_threshold(
    scores: Array, labels: npt.NDArray[Any], default: float = 0.5
) -> tuple[float, str]:
    """The operating threshold maximising F1 on ``scores``, and how it was chosen.

    Falls back to ``default`` when there is no positive to find, and to the lowest positive
    score when there is no negative (F1 cannot weigh precision then); the reason says so.
    """
    positives = int(np.sum(labels))
    if positives == 0:
        return default, f"no positive in the validation window: default {default}"
    if positives == len(labels):
        lowest = float(np.min(scores))
        return lowest, (
            f"no negative in the validation window ({positives} positives): the lowest score "
            "of its positives (recall 1 there); precision could not be measured"
        )
    candidates = np.unique(scores)
    best_f1, best = -1.0, default
    for threshold in candidates:
        flagged = scores >= threshold
        true_flags = int((flagged & (labels == 1)).sum())
        f1 = 2 * true_flags / (int(flagged.sum()) + positives)
        if f1 > best_f1:
            best_f1, best = f1, float(threshold)
    return best, f"maximum F1 ({best_f1:.3f}) on the validation window ({positives} positives)"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
