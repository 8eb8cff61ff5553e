"""How figures are written in evidence and narratives, in one place.

The evidence document and the template narrative both use these, so that every figure the
template cites appears in the evidence exactly as written, and the citation check
(``citations.py``) reads them back the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

SAT_PER_BTC = 100_000_000
BTC_FROM_SAT = 100_000
"""Amounts from 0.001 BTC up are written in BTC, smaller ones in sat (as wallets do)."""


def score(value: float) -> str:
    """A score or probability in [0, 1], three decimals: ``0.874``."""
    return f"{value:.3f}"


def percent(fraction: float) -> str:
    """A fraction as a percentage, one decimal: ``87.4%``."""
    return f"{fraction * 100:.1f}%"


def score_and_percent(value: float) -> str:
    """``0.874 (87.4%)``: a score written both ways, since narratives use either."""
    return f"{score(value)} ({percent(value)})"


def log_odds(value: float) -> str:
    """A log-odds figure with its sign, three decimals: ``+1.230``."""
    return f"{value:+.3f}"


def points(fraction: float) -> str:
    """A change of probability in percentage points, with its sign: ``+20.1 percentage points``."""
    return f"{fraction * 100:+.1f} percentage points"


def btc(sat: int) -> str:
    """``1.2345 BTC``: up to 8 decimals, trailing zeros dropped."""
    return f"{sat / SAT_PER_BTC:.8f}".rstrip("0").rstrip(".") + " BTC"


def sat(value: int) -> str:
    """``12,345 sat``."""
    return f"{value:,} sat"


def amount(value_sat: int) -> str:
    """An amount the way wallets show it, with the exact satoshis beside BTC figures."""
    if value_sat < BTC_FROM_SAT:
        return sat(value_sat)
    return f"{btc(value_sat)} ({sat(value_sat)})"


def fee_rate(sat_vb: float) -> str:
    """``54.9 sat/vB``."""
    return f"{sat_vb:.1f} sat/vB"


def timestamp(moment: datetime) -> str:
    """``2025-05-01 12:00:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def category(name: str) -> str:
    """A label or typology category in words: ``darknet_market`` -> ``darknet market``."""
    return name.replace("_", " ")
