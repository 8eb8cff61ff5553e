"""One number for the health of a channel graph, and the parts it is made of.

    score = 100 × (0.4·R + 0.2·D + 0.2·C + 0.2·B)

* R, reachability: the mean, over 1k, 10k, 100k and 1M sat, of the probability that a
  random pair of nodes can route the amount (``reachability``). Weighted most, because
  payments arriving is what the exchange's users notice.
* D, decentralisation: 1 − the Gini coefficient of node capacity.
* C, connectivity: the share of nodes with channels that sit in the largest component.
* B, robustness: the share of the largest component that stays joined when its top 1% of
  nodes by channel count disappear (``topology.attack_survival``).

Each part is in [0, 1], so the score is in [0, 100]. Bands: ``healthy`` from 75,
``watch`` from 50, ``poor`` below. The weights are a policy choice, not a finding; they are
reported beside the parts so a reader can recompute the score with their own.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS = {"reachability": 0.4, "decentralisation": 0.2, "connectivity": 0.2, "robustness": 0.2}
HEALTHY_FROM = 75.0
WATCH_FROM = 50.0


@dataclass(frozen=True)
class HealthScore:
    score: float
    band: str
    parts: dict[str, float]
    weights: dict[str, float]


def health_score(
    reachability: float, capacity_gini: float, connectivity: float, robustness: float
) -> HealthScore:
    """Combine the four parts (each in [0, 1]) into a score in [0, 100] and its band."""
    parts = {
        "reachability": reachability,
        "decentralisation": 1.0 - capacity_gini,
        "connectivity": connectivity,
        "robustness": robustness,
    }
    for name, value in parts.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"health part {name}={value} outside [0, 1]")
    score = 100.0 * sum(WEIGHTS[name] * value for name, value in parts.items())
    band = "healthy" if score >= HEALTHY_FROM else "watch" if score >= WATCH_FROM else "poor"
    return HealthScore(round(score, 2), band, parts, dict(WEIGHTS))
