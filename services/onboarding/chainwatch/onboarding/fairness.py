"""Fairness report: outcomes and errors of the decisions, group by group.

The favourable outcome is acceptance. For each group of a protected attribute:

- ``acceptance_rate``: share accepted, P(accept | group);
- ``good_acceptance_rate``: share of the good applicants accepted, P(accept | good, group),
  the true positive rate of the favourable outcome;
- ``false_refusal_rate``: share of the good applicants refused (1 − the above);
- ``bad_acceptance_rate``: share of the bad applicants accepted, P(accept | bad, group);
- ``bad_rate`` (observed) and ``mean_proba`` (predicted), and the cost per applicant.

Across the groups of one attribute:

- ``demographic_parity_difference``: largest minus smallest acceptance rate (0 is parity);
  ``disparate_impact_ratio``: smallest over largest (the "four-fifths rule" asks ≥ 0.8);
- ``equal_opportunity_difference``: largest minus smallest good-acceptance rate, i.e. how
  differently equally good applicants are treated (0 is equal opportunity);
- ``equalized_odds_difference``: the larger of that gap and the gap in bad-acceptance rate.

Groups smaller than ``min_group_size`` are reported but left out of the differences: with a
handful of applicants a rate says more about chance than about the model.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from chainwatch.onboarding.attributes import BY_NAME
from chainwatch.onboarding.costs import CostMatrix
from chainwatch.shared.onboarding import Applicant, PersonalStatusSex

MIN_GROUP_SIZE = 30


@dataclass(frozen=True)
class Grouping:
    """A way of splitting applicants into groups: by a protected attribute's value or band.

    ``order`` lists the groups in the order a report shows them (bands from the lowest);
    groups not in it follow, alphabetically.
    """

    name: str
    attribute: str
    group_of: Callable[[Applicant], str]
    order: tuple[str, ...] = ()


def band_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """The bands of ascending ``edges``: (25, 35) gives '<25', '25-34', '35+'."""
    bounds = sorted(edges)
    if not bounds:
        return ("all",)
    middle = [f"{low}-{high - 1}" for low, high in itertools.pairwise(bounds)]
    return (f"<{bounds[0]}", *middle, f"{bounds[-1]}+")


def banding(edges: Sequence[int]) -> Callable[[int], str]:
    """The band of a value among ``band_labels(edges)``."""
    bounds, labels = sorted(edges), band_labels(edges)
    return lambda value: labels[bisect.bisect_right(bounds, value)]


def groupings(protected: Sequence[str], bands: Mapping[str, Sequence[int]]) -> list[Grouping]:
    """One grouping per protected attribute; personal status and sex also gives sex alone.

    An integer attribute is banded by ``bands[attribute]`` (ascending edges) and must have
    them; a categorical or yes/no attribute is grouped by its value.
    """
    found = []
    for name in protected:
        attribute = BY_NAME[name]
        if attribute.kind == "integer":
            if name not in bands:
                raise ValueError(f"protected attribute {name} is an integer: give its bands")
            band = banding(bands[name])
            order = band_labels(bands[name])
            found.append(Grouping(f"{name}_band", name, _banded(name, band), order))
        else:
            found.append(Grouping(name, name, _by_value(name)))
        if name == "personal_status_sex":
            found.append(Grouping("sex", name, _sex))
    return found


def _banded(name: str, band: Callable[[int], str]) -> Callable[[Applicant], str]:
    return lambda applicant: band(int(getattr(applicant, name)))


def _by_value(name: str) -> Callable[[Applicant], str]:
    def value(applicant: Applicant) -> str:
        raw = getattr(applicant, name)
        return ("yes" if raw else "no") if isinstance(raw, bool) else str(raw)

    return value


def _sex(applicant: Applicant) -> str:
    return PersonalStatusSex(applicant.personal_status_sex).sex


def group_metrics(
    bad: npt.NDArray[np.int_],
    refused: npt.NDArray[np.bool_],
    proba: npt.NDArray[np.float64],
    cost: CostMatrix,
) -> dict[str, float | int | None]:
    """Outcome and error rates of one group (see the module docstring); None when undefined."""
    is_bad = bad.astype(bool)
    accepted = ~refused
    goods, bads = int((~is_bad).sum()), int(is_bad.sum())
    good_acceptance = float(accepted[~is_bad].mean()) if goods else None
    return {
        "applicants": len(bad),
        "bad": bads,
        "bad_rate": float(is_bad.mean()),
        "mean_proba": float(proba.mean()),
        "acceptance_rate": float(accepted.mean()),
        "good_acceptance_rate": good_acceptance,
        "false_refusal_rate": None if good_acceptance is None else 1.0 - good_acceptance,
        "bad_acceptance_rate": float(accepted[is_bad].mean()) if bads else None,
        "cost_per_applicant": cost.per_applicant(bad, refused),
    }


def fairness_report(
    applicants: Sequence[Applicant],
    bad: npt.NDArray[np.int_],
    refused: npt.NDArray[np.bool_],
    proba: npt.NDArray[np.float64],
    by: Sequence[Grouping],
    cost: CostMatrix,
    min_group_size: int = MIN_GROUP_SIZE,
) -> dict[str, Any]:
    """Per grouping: each group's metrics, and the gaps between the groups large enough."""
    report: dict[str, Any] = {}
    for grouping in by:
        labels = np.array([grouping.group_of(a) for a in applicants])
        groups = {
            label: group_metrics(bad[labels == label], refused[labels == label],
                                 proba[labels == label], cost)
            for label in _ordered(set(labels.tolist()), grouping.order)
        }  # fmt: skip
        compared = {k: v for k, v in groups.items() if int(v["applicants"] or 0) >= min_group_size}
        report[grouping.name] = {
            "attribute": grouping.attribute,
            "label": BY_NAME[grouping.attribute].label,
            "groups": groups,
            "compared_groups": sorted(compared),
            "too_small_to_compare": sorted(set(groups) - set(compared)),
            **_differences(compared),
        }
    return report


def _ordered(labels: set[str], order: Sequence[str]) -> list[str]:
    return [g for g in order if g in labels] + sorted(labels - set(order))


def _differences(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    def gap(metric: str) -> float | None:
        values = [g[metric] for g in groups.values() if g[metric] is not None]
        return float(max(values) - min(values)) if len(values) >= 2 else None

    acceptance = [g["acceptance_rate"] for g in groups.values()]
    opportunity, bad_acceptance = gap("good_acceptance_rate"), gap("bad_acceptance_rate")
    odds = [v for v in (opportunity, bad_acceptance) if v is not None]
    return {
        "demographic_parity_difference": gap("acceptance_rate"),
        "disparate_impact_ratio": (
            float(min(acceptance) / max(acceptance))
            if len(acceptance) >= 2 and max(acceptance) > 0
            else None
        ),
        "equal_opportunity_difference": opportunity,
        "equalized_odds_difference": max(odds) if odds else None,
    }
