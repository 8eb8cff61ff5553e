"""The sliding window of recent decisions that every check looks at.

A count-based window: the last ``size`` decisions in the order the drift service consumed
them (stream order of ``chainwatch.tx.scored``), checked every ``check_every`` new
decisions once it is full. Count-based rather than time-based, so a check always rests on
the same amount of evidence whether traffic is quiet or busy; the evidence records the
window's stream sequences and decision times, so it can be placed in time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from chainwatch.shared.drift import DriftWindow
from chainwatch.shared.schemas import ScoredTransaction


@dataclass(frozen=True)
class Observation:
    """What a check needs of one decision: where it sits, its features and its outputs."""

    seq: int
    decided_at: datetime
    features: tuple[float, ...]
    risk_score: float
    flagged: bool
    anomaly_score: float | None
    batch_version: str | None = None
    """The batch champion's version that scored the decision, if one did."""

    @classmethod
    def of(cls, decision: ScoredTransaction, seq: int, names: Sequence[str]) -> Observation:
        """The observation of ``decision`` (stream sequence ``seq``); unknown features → NaN."""
        values = decision.features
        return cls(
            seq=seq,
            decided_at=decision.decided_at,
            features=tuple(
                float("nan") if (v := values.get(name)) is None else float(v) for name in names
            ),
            risk_score=decision.risk_score,
            flagged=decision.flagged,
            anomaly_score=decision.anomaly_score,
            batch_version=decision.model_versions.get("batch"),
        )


def span(observations: Sequence[Observation]) -> DriftWindow:
    """The window ``observations`` cover (they must not be empty)."""
    return DriftWindow(
        first_seq=observations[0].seq,
        last_seq=observations[-1].seq,
        first_at=observations[0].decided_at,
        last_at=observations[-1].decided_at,
        size=len(observations),
    )


def feature_matrix(observations: Sequence[Observation]) -> npt.NDArray[np.float64]:
    """The observations' features as an (n × k) matrix, NaN for unknown."""
    return np.array([o.features for o in observations], dtype=np.float64).reshape(
        len(observations), -1
    )


class DecisionWindow:
    """The last ``size`` observations; says when ``check_every`` new ones make a check due."""

    def __init__(self, size: int, check_every: int) -> None:
        self.size = size
        self.check_every = check_every
        self._items: deque[Observation] = deque(maxlen=size)
        self._since_check = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, observation: Observation) -> bool:
        """Add one observation; True when a check is due (the window is full and has moved)."""
        self._items.append(observation)
        self._since_check += 1
        if len(self._items) < self.size or self._since_check < self.check_every:
            return False
        self._since_check = 0
        return True

    def observations(self) -> list[Observation]:
        return list(self._items)
