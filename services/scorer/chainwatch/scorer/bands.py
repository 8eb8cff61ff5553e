"""Risk bands: where a score in [0, 1] falls, and which bands go to an analyst."""

from __future__ import annotations

from dataclasses import dataclass

from chainwatch.shared.schemas import RiskBand

_ORDER = (RiskBand.LOW, RiskBand.MEDIUM, RiskBand.HIGH, RiskBand.SEVERE)


@dataclass(frozen=True)
class RiskBands:
    """Lower bounds of Medium, High and Severe; a score below ``medium`` is Low."""

    medium: float = 0.30
    high: float = 0.60
    severe: float = 0.85
    flag_from: RiskBand = RiskBand.HIGH

    def __post_init__(self) -> None:
        if not 0.0 < self.medium < self.high < self.severe <= 1.0:
            raise ValueError(
                "band thresholds must rise within (0, 1]: "
                f"{self.medium}, {self.high}, {self.severe}"
            )

    def band(self, risk_score: float) -> RiskBand:
        if risk_score >= self.severe:
            return RiskBand.SEVERE
        if risk_score >= self.high:
            return RiskBand.HIGH
        if risk_score >= self.medium:
            return RiskBand.MEDIUM
        return RiskBand.LOW

    def is_flagged(self, band: RiskBand) -> bool:
        """Whether a decision in ``band`` is queued for analyst review."""
        return _ORDER.index(band) >= _ORDER.index(self.flag_from)
