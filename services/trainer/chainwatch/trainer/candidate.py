"""A candidate model: fitted on the train window, thresholded on validation, judged on held-out.

``train_candidate`` does the work of one model and returns everything its card, its gate
and its registry entry need. ``shuffle_labels`` trains on permuted labels: a deliberately
degraded candidate, to show that the gate refuses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from chainwatch.shared import feature_reference
from chainwatch.shared.registry import ARTIFACT_FILE
from chainwatch.trainer import metrics
from chainwatch.trainer.gate import DEFAULT_GATE, Champion, GateDecision, GateParams, decide
from chainwatch.trainer.screening import Array, FeatureSet, LabelledData
from chainwatch.trainer.training import FITTERS, FittedModel, balanced_weights

REFERENCE_FRACTION = 0.2
"""Share of the data set, newest first, that the drift service compares traffic with."""

ChampionJudge = Callable[[Array, npt.NDArray[np.int64]], Champion | None]
"""Scores the held-out rows (features, labels) with the serving model; None when none serves."""


@dataclass(frozen=True)
class Candidate:
    name: str
    version: str
    framework: str
    fitted: FittedModel
    threshold: float
    card: dict[str, Any]
    decision: GateDecision

    @property
    def files(self) -> dict[str, bytes]:
        return self.fitted.files


def train_candidate(
    name: str,
    framework: str,
    features: FeatureSet,
    data: LabelledData,
    *,
    version: str,
    run_id: str,
    trained_at: datetime,
    champion: ChampionJudge,
    seed: int = 7,
    shuffle_labels: bool = False,
    gate: GateParams = DEFAULT_GATE,
    threads: int = 1,
) -> Candidate:
    """Fit, threshold, evaluate and judge one model; the card describes all of it."""
    split = features.split
    x_train, y_train = features.x[split.train], features.y[split.train].copy()
    if shuffle_labels:
        np.random.default_rng(seed).shuffle(y_train)
    weights = balanced_weights(y_train, features.weights[split.train])
    fitted = FITTERS[framework](
        x_train, y_train, weights, features.feature_names, seed, threads=threads
    )

    validation_scores = fitted.predict_proba(features.x[split.validation])
    threshold, threshold_rule = metrics.choose_threshold(
        validation_scores, features.y[split.validation]
    )

    x_held, y_held = features.x[split.held_out], features.y[split.held_out]
    scores = fitted.predict_proba(x_held)
    held_out = metrics.evaluate(scores, y_held, threshold)
    by_source = metrics.by_label_source(scores, y_held, features.sources[split.held_out], threshold)

    decision = decide(scores, held_out, champion(x_held, y_held), gate)

    card = {
        "name": name,
        "version": version,
        "framework": framework,
        "artifact": ARTIFACT_FILE[framework],
        "feature_set_version": features.feature_set_version,
        "feature_names": list(features.feature_names),
        "threshold": threshold,
        "threshold_rule": threshold_rule,
        "output": "probability of illicit activity in [0, 1] (not log-odds)",
        "trained_at": trained_at.isoformat(),
        "run_id": run_id,
        "data_source": data.description,
        "records_skipped": dict(data.skipped),
        "data_window": {
            "train": features.window_summary(split.train),
            "validation": features.window_summary(split.validation),
            "held_out": features.window_summary(split.held_out),
            "order": "time (block time, or arrival for a stream window), then source order; "
            "never shuffled",
            "split_notes": list(split.notes),
        },
        "label_sources": data.labelled.counts(),
        "label_mode": "verdicts only" if data.labelled.verdicts_only else "weak labels + verdicts",
        "verdicts_available": data.labelled.verdicts_available,
        "training": {
            "params": fitted.params,
            "rounds": fitted.rounds,
            "seed": seed,
            "class_weighting": "balanced: positives weighted up to the negatives' total",
            "shuffled_labels": shuffle_labels,
        },
        "metrics": held_out,
        "metrics_by_label_source": by_source,
        "gate": decision.as_dict(),
        "caveats": caveats(features, data, shuffle_labels),
        # For the drift service: see chainwatch.shared.feature_reference.
        feature_reference.CARD_KEY: reference_summary(features),
    }
    return Candidate(name, version, framework, fitted, threshold, card, decision)


def reference_summary(features: FeatureSet) -> dict[str, object]:
    """The drift service's reference: the newest ``REFERENCE_FRACTION`` of the data set.

    Not the whole data set: a data set read from a recent window can span a change of the
    world (the drift that asked for it), and the model should be compared with the world as
    it last saw it, not with an average of before and after. Not the held-out window either:
    that one reaches back as far as it must to hold enough positives, into the old world.
    """
    rows = len(features.y)
    newest = slice(rows - max(1, round(rows * REFERENCE_FRACTION)), rows)
    summary = features.window_summary(newest)
    return feature_reference.summarise(
        features.x[newest],
        features.feature_names,
        f"the newest {summary['rows']} rows of the data set ({summary['from']} to {summary['to']})",
    ).to_card()


def caveats(features: FeatureSet, data: LabelledData, shuffled: bool) -> list[str]:
    """What a reader of the card must know before trusting its figures."""
    counts = data.labelled.counts()
    positives = {s: c["positives"] for s, c in counts.items() if c["positives"]}
    notes = [
        "metrics are measured against weak labels unless label_mode says verdicts only: "
        "they say how well the model reproduces the labelling rules, not that it finds crime",
        f"positives by label source: {positives or 'none'}; presumed-licit 'unlabelled' rows "
        "may hide illicit transactions the lists do not know",
        "exposure features carry the same address lists that made direct-exposure labels: "
        "those positives are easy by construction",
    ]
    if int(features.y.sum()) < 50:
        notes.append(
            f"only {int(features.y.sum())} positives in {len(features.y)} rows: a bootstrap "
            "model, thin on evidence; the gate's held-out figures have wide error bars"
        )
    if shuffled:
        notes.append("trained on SHUFFLED labels: a deliberately degraded candidate")
    return notes
