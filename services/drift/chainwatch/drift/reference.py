"""Which reference the features are compared with, and re-basing it when a model is promoted.

The reference is the newest part of the serving champion's data set (its newest fifth),
summarised in its card under ``feature_reference`` by the trainer. When no champion serves,
or its card has no usable reference (an older card, another feature set), the tracker
collects the next ``bootstrap_size`` decisions and summarises those instead: a *bootstrap*
reference, which says so in every event's evidence. Each promotion of the champion
re-bases the reference.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainwatch.drift.window import Observation, feature_matrix, span
from chainwatch.shared import feature_reference
from chainwatch.shared.drift import DriftReference
from chainwatch.shared.feature_reference import FeatureReference
from chainwatch.shared.features import FEATURE_SET_VERSION

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveReference:
    """A reference in use: its summary, and how events describe it."""

    features: FeatureReference
    info: DriftReference


def card_reference(name: str, version: str, card: Mapping[str, Any]) -> ActiveReference | str:
    """The reference in a model's card, or the reason there is none that can be used."""
    if card.get("feature_set_version") != FEATURE_SET_VERSION:
        return (
            f"{name} {version} was trained on feature set "
            f"{card.get('feature_set_version')!r}, the decisions carry {FEATURE_SET_VERSION!r}"
        )
    value = card.get(feature_reference.CARD_KEY)
    if value is None:
        return f"the card of {name} {version} has no {feature_reference.CARD_KEY}"
    try:
        parsed = FeatureReference.from_card(value)
    except ValueError as exc:
        return f"the {feature_reference.CARD_KEY} of {name} {version} is unusable: {exc}"
    info = DriftReference(
        reference_id=f"card:{name}:{version}",
        source="card",
        model_name=name,
        model_version=version,
        rows=parsed.rows,
        description=f"data set of {name} {version}: {parsed.rows} rows, {parsed.rows_from}",
    )
    return ActiveReference(parsed, info)


class ReferenceTracker:
    """Holds the active reference, or collects a bootstrap until it has enough decisions."""

    def __init__(self, names: Sequence[str], bootstrap_size: int, bins: int) -> None:
        self.names = tuple(names)
        self.bootstrap_size = bootstrap_size
        self.bins = bins
        self.active: ActiveReference | None = None
        self._collecting: list[Observation] = []
        self._why_bootstrap = "no champion serves"
        self._model: tuple[str, str] | None = None

    @property
    def bootstrapping(self) -> bool:
        return self.active is None

    def use_card(self, name: str, version: str, card: Mapping[str, Any]) -> ActiveReference | None:
        """Re-base on a promoted model's card; bootstrap (and return None) if it has none."""
        found = card_reference(name, version, card)
        if isinstance(found, str):
            self.bootstrap(found, model=(name, version))
            return None
        self.active, self._collecting, self._model = found, [], (name, version)
        logger.info("reference re-based on %s", found.info.description)
        return found

    def bootstrap(self, why: str, model: tuple[str, str] | None = None) -> None:
        """Drop the active reference and collect the next decisions into a new one."""
        self.active, self._collecting, self._why_bootstrap, self._model = None, [], why, model
        logger.warning(
            "%s: bootstrapping the reference from the next %d decisions", why, self.bootstrap_size
        )

    def observe(self, observation: Observation) -> ActiveReference | None:
        """Collect ``observation`` while bootstrapping; return the reference once complete."""
        if self.active is not None:
            return None
        self._collecting.append(observation)
        if len(self._collecting) < self.bootstrap_size:
            return None

        window = span(self._collecting)
        rows_from = (
            f"the first {window.size} decisions after start or promotion "
            f"(sequences {window.first_seq}-{window.last_seq}), because {self._why_bootstrap}"
        )
        summary = feature_reference.summarise(
            feature_matrix(self._collecting), self.names, rows_from, bins=self.bins
        )
        name, version = self._model or (None, None)
        self.active = ActiveReference(
            summary,
            DriftReference(
                reference_id=f"bootstrap:{window.first_seq}-{window.last_seq}",
                source="bootstrap",
                model_name=name,
                model_version=version,
                rows=summary.rows,
                description=f"bootstrap: {rows_from}",
                window=window,
            ),
        )
        self._collecting = []
        logger.info("bootstrap reference complete: %s", rows_from)
        return self.active
