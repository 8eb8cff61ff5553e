"""The training reference of each feature: binned distributions a drift detector compares with.

The trainer summarises the feature matrix a model was built on and writes the summary into
the model's card under ``feature_reference``; the drift service reads it back and compares
recent decisions with it. Without a card reference the drift service builds the same
summary from the first decisions it sees (a bootstrap reference).

One feature's summary is a histogram over fixed bins, plus the share of unknown values::

    {"kind": "continuous", "edges": [e1, ..., ek],
     "proportions": [p0, ..., pk], "missing": m}

Bin ``i`` holds the values ``x`` with ``edges[i-1] < x <= edges[i]`` (bin 0 everything up to
``e1``, bin ``k`` everything above ``ek``); ``missing`` is the share of NaN values (the
feature set's "unknown"); ``proportions`` and ``missing`` are shares of all rows and sum to 1.
A feature with at most ``max_categories`` distinct values is ``discrete``: its edges are its
values but the largest, so each value has a bin of its own. A ``continuous`` feature gets up
to ``bins`` bins at quantiles of its values; equal quantiles (a point mass such as "0
exposure") merge into one edge.

The card value, as JSON::

    {"format": 1, "rows": 3926, "rows_from": "...", "features": {"fee_rate_sat_vb": {...}}}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

CARD_KEY = "feature_reference"
FORMAT = 1
DEFAULT_BINS = 10
DEFAULT_MAX_CATEGORIES = 10

Kind = Literal["discrete", "continuous"]


@dataclass(frozen=True)
class FeatureDistribution:
    """One feature's reference histogram: bin ``edges``, the share of rows in each bin, NaNs."""

    kind: Kind
    edges: tuple[float, ...]
    proportions: tuple[float, ...]
    missing: float

    def __post_init__(self) -> None:
        if len(self.proportions) != len(self.edges) + 1:
            raise ValueError(
                f"{len(self.edges)} edges need {len(self.edges) + 1} proportions, "
                f"got {len(self.proportions)}"
            )
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase strictly")
        total = sum(self.proportions) + self.missing
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"proportions and missing sum to {total}, not 1")

    @property
    def shares(self) -> npt.NDArray[np.float64]:
        """Shares of rows per bin, the missing bin first: ``[missing, p0, ..., pk]``."""
        return np.array((self.missing, *self.proportions), dtype=np.float64)

    def counts(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """How many of ``values`` fall in each bin, the missing (NaN) bin first."""
        known = values[~np.isnan(values)]
        bins = np.searchsorted(np.asarray(self.edges, dtype=np.float64), known, side="left")
        found = np.bincount(bins, minlength=len(self.edges) + 1)
        return np.concatenate(([len(values) - len(known)], found)).astype(np.int64)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "edges": list(self.edges),
            "proportions": list(self.proportions),
            "missing": self.missing,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FeatureDistribution:
        """Parse one feature's summary; raises ``ValueError``/``KeyError`` when malformed."""
        kind = value["kind"]
        if kind not in ("discrete", "continuous"):
            raise ValueError(f"unknown kind {kind!r}")
        return cls(
            kind=kind,
            edges=tuple(float(e) for e in value["edges"]),
            proportions=tuple(float(p) for p in value["proportions"]),
            missing=float(value["missing"]),
        )


@dataclass(frozen=True)
class FeatureReference:
    """Every feature's reference distribution, over ``rows`` rows described by ``rows_from``."""

    features: Mapping[str, FeatureDistribution]
    rows: int
    rows_from: str

    def to_card(self) -> dict[str, Any]:
        """The JSON value of the card's ``feature_reference`` key."""
        return {
            "format": FORMAT,
            "rows": self.rows,
            "rows_from": self.rows_from,
            "features": {name: d.to_json() for name, d in self.features.items()},
        }

    @classmethod
    def from_card(cls, value: Mapping[str, Any]) -> FeatureReference:
        """Parse a card's ``feature_reference``; raises ``ValueError`` when it cannot be used."""
        if value.get("format") != FORMAT:
            raise ValueError(f"feature_reference format {value.get('format')!r}, not {FORMAT}")
        try:
            features = {
                str(name): FeatureDistribution.from_json(summary)
                for name, summary in value["features"].items()
            }
            return cls(features, int(value["rows"]), str(value.get("rows_from", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed feature_reference: {exc!r}") from exc


def summarise_column(
    values: npt.NDArray[np.float64],
    *,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> FeatureDistribution:
    """The reference histogram of one column (NaN = unknown); see the module docstring."""
    known = values[~np.isnan(values)]
    distinct = np.unique(known)
    if len(distinct) <= max_categories:
        kind: Kind = "discrete"
        edges = distinct[:-1]
    else:
        kind = "continuous"
        quantiles = np.quantile(known, np.linspace(0.0, 1.0, bins + 1)[1:-1])
        edges = np.unique(quantiles)
        edges = edges[edges < distinct[-1]]  # the top bin must not be empty by construction
    binning = FeatureDistribution(
        kind, tuple(float(e) for e in edges), (1.0,) + (0.0,) * len(edges), 0.0
    )
    shares = binning.counts(values) / max(1, len(values))
    return FeatureDistribution(
        kind,
        binning.edges,
        tuple(float(s) for s in shares[1:]),
        float(1.0 - shares[1:].sum()),  # no rows at all: everything unknown
    )


def summarise(
    matrix: npt.NDArray[np.float64],
    names: Sequence[str],
    rows_from: str,
    *,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> FeatureReference:
    """The reference of every column of ``matrix`` (n × len(names), NaN = unknown)."""
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise ValueError(f"matrix of shape {matrix.shape} does not have {len(names)} columns")
    features = {
        name: summarise_column(matrix[:, j], bins=bins, max_categories=max_categories)
        for j, name in enumerate(names)
    }
    return FeatureReference(features, int(matrix.shape[0]), rows_from)
