"""Unsupervised anomaly score on every transaction: River's Half-Space Trees.

The detector sees the intrinsic features, min-max scaled online to [0, 1] over everything
seen so far (unknown values as 0), and learns from every transaction it scores. The scaling
is done here for the whole batch with numpy, the trees are River's. Its score is in
[0, 1]; higher means the transaction sits in a sparser region of recent traffic, i.e. is
more unusual. Until the
first window of ``window_size`` transactions has been seen the trees hold no reference
mass, so the score is reported as None (unknown) rather than as a number that means
nothing. Each scorer replica learns from the transactions it scores.

Tan, Ting & Liu (2011), "Fast Anomaly Detection for Streaming Data", IJCAI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from river import anomaly

from chainwatch.shared.features import INTRINSIC_SPECS, Vector


@dataclass(frozen=True)
class AnomalyParams:
    n_trees: int = 10
    height: int = 8
    window_size: int = 250
    seed: int = 42


class AnomalyDetector:
    def __init__(self, params: AnomalyParams | None = None) -> None:
        self.params = params or AnomalyParams()
        self.trees = anomaly.HalfSpaceTrees(
            n_trees=self.params.n_trees,
            height=self.params.height,
            window_size=self.params.window_size,
            seed=self.params.seed,
        )
        self.names = [spec.name for spec in INTRINSIC_SPECS]
        self.low = np.full(len(self.names), np.inf)
        self.high = np.full(len(self.names), -np.inf)
        self.seen = 0

    def score_and_learn(self, intrinsic: Vector) -> list[float | None]:
        """Score each row of an (n × N_INTRINSIC) matrix, then learn it; in row order."""
        scores: list[float | None] = []
        clean = np.nan_to_num(intrinsic, nan=0.0, posinf=0.0, neginf=0.0)
        # Bounds grow with the batch first: a row is scaled by what was seen up to its batch.
        self.low = np.minimum(self.low, clean.min(axis=0, initial=np.inf))
        self.high = np.maximum(self.high, clean.max(axis=0, initial=-np.inf))
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        scaled = np.clip((clean - self.low) / span, 0.0, 1.0)

        # River's tree methods carry no annotations; name their types once here.
        score_one: Callable[[dict[str, float]], float] = self.trees.score_one
        learn_one: Callable[[dict[str, float]], None] = self.trees.learn_one
        for row in scaled.tolist():
            x = dict(zip(self.names, row, strict=True))
            warm = self.seen >= self.params.window_size
            score = score_one(x)
            scores.append(min(1.0, max(0.0, float(score))) if warm else None)
            learn_one(x)
            self.seen += 1
        return scores
