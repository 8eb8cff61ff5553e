"""The transaction feature set: one definition for training and for serving.

A feature row is a float64 vector, ``FEATURE_NAMES`` long. Its first ``N_INTRINSIC`` values
are read from the transaction alone; the last ``N_CONTEXT`` come from what the scorer knows
about the addresses and the stream (exposure, anomaly score), passed in as a
``FeatureContext``. The columns, their units and ``describe`` live in
``chainwatch.shared.feature_specs`` and are re-exported here.

Conventions, so a row means the same thing wherever it is built:

- amounts are ``log10(1 + sat)``: 0 sat is 0.0, 1 BTC is just over 8.0;
- "payment outputs" are the outputs that are not OP_RETURN; value statistics, round
  amounts, equal outputs and dust count only those, and are 0 when there are none;
- NaN means "not known", never "zero": input values need every prevout
  (``prevouts_known``); input script types and address reuse need at least one prevout and
  are computed over the inputs whose prevout is known; fee features need the fee. A coinbase
  spends no output, so its input features are NaN and its fee is 0. The context features
  ``exposure_min_hops`` (no exposure) and ``anomaly_score`` (not scored) are NaN by default.

A model records ``FEATURE_SET_VERSION``; the scorer refuses a model trained on another
version. Change a name, an order or a meaning and the version must change with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chainwatch.shared.feature_specs import (
    CONTEXT_SPECS,
    DUST_LIMIT_SAT,
    EXPOSURE_CATEGORIES,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    FEATURE_SPECS,
    INPUT_TYPES,
    INTRINSIC_SPECS,
    LOCKTIME_TIME_THRESHOLD,
    LOW_VALUE_SAT,
    N_CONTEXT,
    N_FEATURES,
    N_INTRINSIC,
    OUTPUT_TYPES,
    ROUND_LARGE_SAT,
    ROUND_SMALL_SAT,
    FeatureSpec,
    describe,
    feature_index,
)
from chainwatch.shared.schemas import RBF_SEQUENCE_LIMIT, Exposure, Transaction

__all__ = [
    "CONTEXT_SPECS",
    "EXPOSURE_CATEGORIES",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "FEATURE_SPECS",
    "INTRINSIC_SPECS",
    "NO_CONTEXT",
    "N_CONTEXT",
    "N_FEATURES",
    "N_INTRINSIC",
    "FeatureContext",
    "FeatureSpec",
    "Vector",
    "describe",
    "exposure_context",
    "feature_index",
    "feature_matrix",
    "feature_row",
    "intrinsic_features",
    "squash",
]

Vector = npt.NDArray[np.float64]
"""A feature row (k,) or matrix (n, k) of float64."""


@dataclass(frozen=True)
class FeatureContext:
    """What the scorer knows beyond the transaction; the defaults mean "nothing found".

    ``exposure_<category>`` is the share of the transaction's value (0..1) exposed to that
    category, directly or through earlier transactions; ``exposure_min_hops`` the fewest
    hops to any exposure (0 direct, NaN none); ``anomaly_score`` in 0..1, NaN not scored.
    """

    exposure_sanctions: float = 0.0
    exposure_ransomware: float = 0.0
    exposure_darknet_market: float = 0.0
    exposure_mixer: float = 0.0
    exposure_scam: float = 0.0
    exposure_seizure: float = 0.0
    exposure_min_hops: float = math.nan
    anomaly_score: float = math.nan

    def __post_init__(self) -> None:
        shares = self.values()[: len(EXPOSURE_CATEGORIES)]
        if not all(0.0 <= s <= 1.0 for s in shares):
            raise ValueError(f"exposure shares must lie in [0, 1]: {shares}")
        if self.exposure_min_hops < 0:
            raise ValueError(f"exposure_min_hops must be >= 0 or NaN: {self.exposure_min_hops}")
        if not (math.isnan(self.anomaly_score) or 0.0 <= self.anomaly_score <= 1.0):
            raise ValueError(f"anomaly_score must lie in [0, 1] or be NaN: {self.anomaly_score}")

    @classmethod
    def from_exposure(
        cls,
        shares: Mapping[str, float],
        min_hops: float = math.nan,
        anomaly_score: float = math.nan,
    ) -> FeatureContext:
        """A context from exposure shares by category name (``EXPOSURE_CATEGORIES``).

        Raises ``ValueError`` for a category without a feature, so a new label category is
        noticed rather than dropped.
        """
        unknown = set(shares) - set(EXPOSURE_CATEGORIES)
        if unknown:
            raise ValueError(f"no exposure feature for categories {sorted(unknown)}")
        fields = {f"exposure_{c}": share for c, share in shares.items()}
        return cls(**fields, exposure_min_hops=min_hops, anomaly_score=anomaly_score)

    def values(self) -> tuple[float, ...]:
        """The context features in ``CONTEXT_SPECS`` order."""
        return (
            self.exposure_sanctions,
            self.exposure_ransomware,
            self.exposure_darknet_market,
            self.exposure_mixer,
            self.exposure_scam,
            self.exposure_seizure,
            self.exposure_min_hops,
            self.anomaly_score,
        )


NO_CONTEXT = FeatureContext()


def exposure_context(
    exposures: Sequence[Exposure], anomaly_score: float = math.nan
) -> FeatureContext:
    """The context features of a transaction's exposure, for training and serving alike.

    Per category the largest share of value exposed (either direction, any hop count), and
    the fewest hops to any exposure (NaN with none).
    """
    shares = dict.fromkeys(EXPOSURE_CATEGORIES, 0.0)
    hops = math.nan
    for exposure in exposures:
        if exposure.category in shares:
            shares[exposure.category] = max(shares[exposure.category], exposure.share_of_value)
            hops = exposure.hops if math.isnan(hops) else min(hops, exposure.hops)
    return FeatureContext(
        **{f"exposure_{c}": share for c, share in shares.items()},
        exposure_min_hops=hops,
        anomaly_score=anomaly_score,
    )


def intrinsic_features(tx: Transaction) -> Vector:
    """The ``N_INTRINSIC`` features read from ``tx`` alone, as one float64 row."""
    return np.array(_intrinsic_row(tx), dtype=np.float64)


def feature_row(tx: Transaction, context: FeatureContext = NO_CONTEXT) -> Vector:
    """The full row, ``N_FEATURES`` long: intrinsic features, then ``context``'s."""
    return np.array(_intrinsic_row(tx) + list(context.values()), dtype=np.float64)


def feature_matrix(
    txs: Sequence[Transaction], contexts: Sequence[FeatureContext] | None = None
) -> Vector:
    """One row per transaction (n x ``N_FEATURES``); ``contexts`` default to none found.

    Raises ``ValueError`` when ``contexts`` is given and its length differs from ``txs``'s.
    """
    if contexts is not None and len(contexts) != len(txs):
        raise ValueError(f"{len(txs)} transactions but {len(contexts)} contexts")

    matrix = np.empty((len(txs), N_FEATURES), dtype=np.float64)
    if not txs:
        return matrix
    matrix[:, :N_INTRINSIC] = [_intrinsic_row(tx) for tx in txs]
    if contexts is None:
        matrix[:, N_INTRINSIC:] = NO_CONTEXT.values()
    else:
        matrix[:, N_INTRINSIC:] = [c.values() for c in contexts]
    return matrix


def squash(row: dict[str, float]) -> dict[str, float]:
    """``sign(x) · log(1 + |x|)`` of every value: counts and sizes (200 inputs, 28,000 vB)
    come down to the scale of shares and log amounts, so one linear model can weigh them
    together. Monotone, so the order of values (and the sign of a weight) keeps its meaning.
    Used inside the online model's pipeline, which must unpickle wherever it is served.
    """
    return {k: math.copysign(math.log1p(abs(v)), v) for k, v in row.items()}


def _log_sat(sat: int | float) -> float:
    return math.log10(1.0 + sat)


def _intrinsic_row(tx: Transaction) -> list[float]:
    """The intrinsic features in ``INTRINSIC_SPECS`` order; one pass over inputs and outputs."""
    vin, vout = tx.vin, tx.vout
    nan = math.nan

    in_values: list[int] = []
    in_types: dict[str, int] = {}
    in_addresses: set[str] = set()
    witnessed = 0
    rbf = False
    for tx_in in vin:
        if tx_in.witness:
            witnessed += 1
        if tx_in.is_coinbase:
            continue
        if tx_in.sequence < RBF_SEQUENCE_LIMIT:
            rbf = True
        prevout = tx_in.prevout
        if prevout is not None:
            in_values.append(prevout.value)
            in_types[prevout.scriptpubkey_type] = in_types.get(prevout.scriptpubkey_type, 0) + 1
            if prevout.scriptpubkey_address is not None:
                in_addresses.add(prevout.scriptpubkey_address)

    out_types: dict[str, int] = {}
    payments: list[int] = []
    value_out = 0
    reused_sat = 0
    for tx_out in vout:
        kind = tx_out.scriptpubkey_type
        out_types[kind] = out_types.get(kind, 0) + 1
        value_out += tx_out.value
        if kind != "op_return":
            payments.append(tx_out.value)
        if tx_out.scriptpubkey_address in in_addresses:
            reused_sat += tx_out.value

    n_in, n_out, n_known = len(vin), len(vout), len(in_values)
    all_known = n_known > 0 and n_known == n_in
    fee = tx.fee

    row = [float(n_in), float(n_out)]
    row += _value_stats(in_values if all_known else None, payments, value_out)
    row += [
        nan if fee is None else _log_sat(fee),
        nan if fee is None else fee / tx.vsize,
        float(tx.vsize),
        _witness_share(tx.size, tx.weight),
        float(all_known),
        float(fee is not None),
    ]
    row += _type_shares(in_types, n_known, INPUT_TYPES)
    row.append(witnessed / n_in)
    row += _type_shares(out_types, n_out, OUTPUT_TYPES)
    row += _amount_patterns(payments, in_types, out_types, n_out)
    row.append(nan if n_known == 0 else (reused_sat / value_out if value_out else 0.0))
    row += _equal_and_dust(payments)
    row += [
        float(rbf),
        float(tx.locktime > 0),
        float(0 < tx.locktime < LOCKTIME_TIME_THRESHOLD),
        float(tx.version),
        float("op_return" in out_types),
        float(tx.is_coinbase),
    ]
    return row


def _value_stats(in_values: list[int] | None, payments: list[int], value_out: int) -> list[float]:
    """value in/out, input min/max, payment-output min/max/cv, largest output share."""
    if in_values:
        value_in = _log_sat(sum(in_values))
        in_min, in_max = _log_sat(min(in_values)), _log_sat(max(in_values))
    else:
        value_in = in_min = in_max = math.nan

    if payments:
        out_max = max(payments)
        mean = sum(payments) / len(payments)
        var = sum((v - mean) ** 2 for v in payments) / len(payments) if len(payments) > 1 else 0.0
        cv = math.sqrt(var) / mean if mean > 0 else 0.0
        stats = [_log_sat(min(payments)), _log_sat(out_max), cv]
        largest = out_max / value_out if value_out else 0.0
    else:
        stats, largest = [0.0, 0.0, 0.0], 0.0
    return [value_in, _log_sat(value_out), in_min, in_max, *stats, largest]


def _witness_share(size: int, weight: int) -> float:
    """Witness bytes / serialized bytes, from weight = 3 x base size + total size."""
    base = (weight - size) / 3
    return min(1.0, max(0.0, (size - base) / size))


def _type_shares(counts: dict[str, int], total: int, named: tuple[str, ...]) -> list[float]:
    """Share of each named script type, then of all others; NaN for all when total is 0."""
    if total == 0:
        return [math.nan] * (len(named) + 1)
    shares = [counts.get(t, 0) / total for t in named]
    shares.append(1.0 - sum(counts.get(t, 0) for t in named) / total)
    return shares


def _amount_patterns(
    payments: list[int], in_types: dict[str, int], out_types: dict[str, int], n_out: int
) -> list[float]:
    """Round-amount shares and the two change heuristics."""
    n_pay = len(payments)
    round_small = sum(1 for v in payments if v % ROUND_SMALL_SAT == 0 and v > 0)
    round_large = sum(1 for v in payments if v % ROUND_LARGE_SAT == 0 and v > 0)

    if not in_types:
        unique_type = math.nan
    elif len(in_types) == 1 and n_out >= 2:
        (input_type,) = in_types
        unique_type = float(out_types.get(input_type, 0) == 1)
    else:
        unique_type = 0.0

    one_nonround = float(n_pay >= 2 and round_small == n_pay - 1)
    return [
        round_small / n_pay if n_pay else 0.0,
        round_large / n_pay if n_pay else 0.0,
        unique_type,
        one_nonround,
    ]


def _equal_and_dust(payments: list[int]) -> list[float]:
    """Largest equal-value group (size, share), repeated values, dust counts."""
    groups: dict[int, int] = {}
    dust = tiny = 0
    for value in payments:
        if value < LOW_VALUE_SAT:
            tiny += 1
            if value < DUST_LIMIT_SAT:
                dust += 1
                continue
        groups[value] = groups.get(value, 0) + 1

    largest = max(groups.values(), default=0)
    repeated = sum(1 for n in groups.values() if n > 1)
    share = largest / len(payments) if payments else 0.0
    return [float(largest), share, float(repeated), float(dust), float(tiny)]
