"""Drift events: the subject, its stream and the message the drift service publishes.

The drift service compares recent decisions with a reference and publishes a
``DriftDetected`` on ``chainwatch.drift.detected`` when they differ, after the event is in
the audit database (table ``drift_event``). Four kinds:

- ``feature``: a feature's distribution moved away from the training reference (PSI and a
  Kolmogorov–Smirnov or chi-square test per feature, corrected for testing many features);
- ``prediction``: the risk scores served, or the share flagged, moved away from what the
  serving model produced when it started;
- ``performance``: analysts' verdicts say a tier's error rose (ADWIN on its errors);
- ``anomaly``: the share of transactions the anomaly detector finds unusual rose (ADWIN).

Each event carries its evidence: what moved (``findings``, strongest first), the window of
decisions it saw (stream sequences, decision times, size) and the reference it compared
with. ``Nats-Msg-Id`` is the ``event_id``; a redelivered event is stored and published once.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from chainwatch.shared import subjects
from chainwatch.shared.schemas import Tier, WireModel

DRIFT_DETECTED = f"{subjects.PREFIX}.drift.detected"
"""One message per drift event, published once it is in the audit database."""

DRIFT_STREAM = subjects.StreamSpec(
    name="CHAINWATCH_DRIFT",
    subjects=(DRIFT_DETECTED,),
    max_age=timedelta(days=365),
    duplicate_window=timedelta(days=1),
    description="Drift events with their evidence, one message per event_id",
)


class DriftKind(StrEnum):
    FEATURE = "feature"
    PREDICTION = "prediction"
    PERFORMANCE = "performance"
    ANOMALY = "anomaly"


DriftTest = Literal["ks", "chi_square", "adwin"]


class DriftWindow(WireModel):
    """A run of consecutive decisions (or verdicts): where it starts and ends, and its size."""

    first_seq: int = Field(ge=0, description="Stream sequence of its first message")
    last_seq: int = Field(ge=0, description="Stream sequence of its last message")
    first_at: AwareDatetime = Field(description="Decision (or verdict) time of the first, UTC")
    last_at: AwareDatetime = Field(description="Decision (or verdict) time of the last, UTC")
    size: int = Field(ge=0, description="Messages in the window")


class DriftReference(WireModel):
    """What the window was compared with."""

    reference_id: str = Field(description="Key of the reference in table drift_reference")
    source: Literal["card", "bootstrap"] = Field(
        description="card: the serving model's training data; bootstrap: early decisions"
    )
    model_name: str | None = None
    model_version: str | None = Field(None, description="The model whose card it came from")
    rows: int = Field(ge=0, description="Rows the reference summarises")
    description: str = Field(description="Where the rows came from, in words")
    window: DriftWindow | None = Field(None, description="The decisions of a bootstrap reference")


class DriftFinding(WireModel):
    """One thing that moved, with the statistics that say so.

    ``subject`` is a feature name, ``risk_score``, ``flag_rate``, ``anomaly_rate`` or
    ``<tier>_error``. For a histogram comparison ``edges`` are the bin edges and the shares
    list the missing (unknown) bin first, then one share per bin.
    """

    subject: str
    test: DriftTest
    statistic: float = Field(
        description="KS: largest CDF gap in [0, 1]; chi_square: Pearson's statistic; "
        "adwin: rise of the mean between the older and the newer sub-window"
    )
    p_value: float | None = Field(None, ge=0.0, le=1.0)
    p_adjusted: float | None = Field(
        None, ge=0.0, le=1.0, description="Holm-adjusted over every subject tested together"
    )
    psi: float | None = Field(None, ge=0.0, description="Population stability index, >= 0")
    reference_value: float | None = Field(None, description="Rate or mean in the reference")
    window_value: float | None = Field(None, description="Rate or mean in the window")
    edges: list[float] = Field(default_factory=list)
    reference_shares: list[float] = Field(default_factory=list)
    window_shares: list[float] = Field(default_factory=list)


class DriftDetected(WireModel):
    """Drift was detected (subject ``chainwatch.drift.detected``), with its evidence."""

    schema_version: Literal[1] = 1
    event_id: str = Field(description="Unique and stable: a redelivered event keeps its id")
    kind: DriftKind
    detected_at: AwareDatetime
    summary: str = Field(description="One line for people: what moved and how much")
    findings: list[DriftFinding] = Field(description="What moved, strongest first")
    window: DriftWindow
    reference: DriftReference | None = Field(
        None, description="What it was compared with; null for ADWIN (the stream's own past)"
    )
    tier: Tier | None = Field(None, description="The tier, for performance drift")
    model_versions: dict[str, str] = Field(
        default_factory=dict, description="Tier → model version serving when it was detected"
    )
    retrain: bool = Field(description="Whether the event crosses the retraining policy")
