"""What a check returns, and when a drifted check becomes an event.

Every detector's check yields a ``CheckResult``: whether the window drifted, the findings
that say so (strongest first), per-subject figures for the dashboard's charts, and the
window and reference it compared. ``Alarm`` turns a run of drifted checks into events: one
when drift begins (the previous check, against the same reference, was not drifted), then
again only if it persists for ``realert_s``; a new reference re-arms it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chainwatch.shared.drift import DriftFinding, DriftKind, DriftReference, DriftWindow
from chainwatch.shared.schemas import Tier

Figures = dict[str, dict[str, float | None]]
"""Subject → named figures of one check (psi, statistic, p_value, ...), for drift_check."""


@dataclass(frozen=True)
class CheckResult:
    kind: DriftKind
    drifted: bool
    summary: str
    window: DriftWindow
    findings: list[DriftFinding] = field(default_factory=list)
    figures: Figures = field(default_factory=dict)
    headline: float | None = None
    """The figure a chart plots: largest PSI (features, scores) or the ADWIN mean."""
    reference: DriftReference | None = None
    tier: Tier | None = None

    @property
    def subjects(self) -> list[str]:
        return [f.subject for f in self.findings]


class Alarm:
    """Reports drift when it begins, and again after ``realert_s`` if it has not cleared."""

    def __init__(self, realert_s: float) -> None:
        self.realert_s = realert_s
        self._reference_id: str | None = None
        self._drifted = False
        self._reported_at: datetime | None = None

    def should_report(self, drifted: bool, reference_id: str | None, now: datetime) -> bool:
        if reference_id != self._reference_id:
            self._reference_id, self._drifted, self._reported_at = reference_id, False, None
        began = drifted and not self._drifted
        self._drifted = drifted
        if not drifted:
            return False
        stale = (
            self._reported_at is not None
            and (now - self._reported_at).total_seconds() >= self.realert_s
        )
        if began or stale:
            self._reported_at = now
            return True
        return False
