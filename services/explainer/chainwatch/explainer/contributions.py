"""Feature contributions of a model with a logistic link, and their probability-terms reading.

Both attribution methods (exact TreeSHAP for the batch tier's trees, weight × standardised
value for the online tier's logistic regression) give the same thing: for each row, one
contribution per model column **in log-odds**, a base value (the expected raw output), and
the raw output itself, with ``expected + sum(contributions) == output``.

**Log-odds, not probability.** A contribution of +1.0 log-odds does not add a fixed amount of
probability: how much it moves the probability depends on where the other features already put
the output. ``proportional_proba`` gives the reading used in narratives: every log-odds
contribution scaled by the same factor, ``(sigmoid(output) - sigmoid(expected)) / (output -
expected)``. The scaled figures keep their signs and their order, and add up exactly to the
change of probability from the base value to the output. They are an approximation: the exact
Shapley values of the probability would need the interventional TreeSHAP of the probability
output over a background data set, tens of times slower, for a ranking that rarely differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chainwatch.shared.features import Vector

REPRODUCE_TOLERANCE = 1e-5
"""Largest gap between sigmoid(raw output) and the model's probability that counts as equal."""


@dataclass(frozen=True)
class Contributions:
    """Log-odds contributions of one model for n rows.

    ``columns[j]`` is the index into ``FEATURE_NAMES`` of contribution column ``j``;
    ``log_odds`` is (n, len(columns)); ``expected_log_odds`` and ``output_log_odds`` are (n,).
    """

    columns: tuple[int, ...]
    log_odds: Vector
    expected_log_odds: Vector
    output_log_odds: Vector

    @property
    def additivity_error(self) -> Vector:
        """|expected + sum(contributions) - output| per row, log-odds; ~1e-6 for float32 trees."""
        total = self.expected_log_odds + self.log_odds.sum(axis=1)
        return np.asarray(np.abs(total - self.output_log_odds), dtype=np.float64)


def sigmoid(log_odds: Vector) -> Vector:
    """The logistic link: probability in [0, 1] from log-odds."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(log_odds, dtype=np.float64))))


def proportional_proba(contributions: Contributions) -> Vector:
    """Probability-terms contributions (n, k), an approximation; see the module docstring.

    The factor's denominator is the contributions' own sum (output - expected, up to the
    trees' float32 rounding), so that rows sum to ``sigmoid(output) - sigmoid(expected)``
    exactly; where it is 0 the factor is the slope of the sigmoid at the output.
    """
    expected = contributions.expected_log_odds
    output = contributions.output_log_odds
    gap = contributions.log_odds.sum(axis=1)  # output - expected, up to float32 rounding
    p_out, p_base = sigmoid(output), sigmoid(expected)
    slope = p_out * (1.0 - p_out)
    close = np.abs(gap) < 1e-9
    factor = np.where(close, slope, (p_out - p_base) / np.where(close, 1.0, gap))
    return np.asarray(contributions.log_odds * factor[:, None], dtype=np.float64)


def reproduces(output_log_odds: Vector, proba: Vector) -> np.ndarray:
    """True per row where sigmoid(raw output) is the probability the model itself returns.

    A model whose probability is not the logistic of its raw output (another objective, a
    calibration layer) cannot be read in log-odds this way; callers refuse to explain it.
    """
    return np.asarray(np.abs(sigmoid(output_log_odds) - proba) <= REPRODUCE_TOLERANCE)
