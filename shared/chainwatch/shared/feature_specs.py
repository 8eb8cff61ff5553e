"""The feature registry: what each column of a transaction feature row is called and means.

``FEATURE_SPECS`` lists the columns in order, intrinsic features first, then the context
features the scorer supplies; ``chainwatch.shared.features`` computes the rows. Each spec has
a name (the column), a label and a unit for people, and a description. ``describe`` renders
a value for a narrative: "fee rate 12.4 sat/vB".

``FEATURE_SET_VERSION`` names this list and the way ``features`` computes it. A model
records it and the scorer refuses a model trained on another version: change a name, the
order or a meaning and the version must change with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURE_SET_VERSION = "tx-features-1"

COUNT = "count"
LOG_SAT = "log10(1 + sat)"
FRACTION = "fraction 0..1"
FLAG = "flag 0/1"
SAT_PER_VB = "sat/vB"
VBYTES = "vB"
HOPS = "hops"
SCORE = "score 0..1"
NUMBER = "number"

DUST_LIMIT_SAT = 546
"""Bitcoin Core's relay dust limit for a P2PKH output; smaller payment outputs are dust."""

LOW_VALUE_SAT = 1_000
"""A second, looser dust line: outputs below it cost about as much to spend as they hold."""

ROUND_SMALL_SAT = 100_000
ROUND_LARGE_SAT = 1_000_000
"""A round amount is a multiple of 100,000 sat (0.001 BTC), or of 1,000,000 sat (0.01 BTC)."""

LOCKTIME_TIME_THRESHOLD = 500_000_000
"""Locktimes below this are block heights, above it Unix times (BIP 65 / nLockTime)."""

EXPOSURE_CATEGORIES = ("sanctions", "ransomware", "darknet_market", "mixer", "scam", "seizure")
"""Illicit label categories with an exposure feature each, in column order."""

INPUT_TYPES = ("p2pkh", "p2sh", "v0_p2wpkh", "v0_p2wsh", "v1_p2tr")
OUTPUT_TYPES = (*INPUT_TYPES, "op_return")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: ``name`` (the column), ``label`` and ``unit`` (for people), meaning."""

    name: str
    label: str
    unit: str
    description: str


_SHAPE = (
    FeatureSpec("input_count", "inputs", COUNT, "Number of inputs"),
    FeatureSpec("output_count", "outputs", COUNT, "Number of outputs, OP_RETURN included"),
    FeatureSpec("value_in_log10", "value in", LOG_SAT, "Sum of input values; NaN unless all known"),
    FeatureSpec("value_out_log10", "value out", LOG_SAT, "Sum of output values"),
    FeatureSpec("input_value_min_log10", "smallest input", LOG_SAT, "Smallest input value"),
    FeatureSpec("input_value_max_log10", "largest input", LOG_SAT, "Largest input value"),
    FeatureSpec("output_value_min_log10", "smallest output", LOG_SAT, "Smallest payment output"),
    FeatureSpec("output_value_max_log10", "largest output", LOG_SAT, "Largest payment output"),
    FeatureSpec("output_value_cv", "output value spread", NUMBER, "Std / mean of payment outputs"),
    FeatureSpec("largest_output_share", "largest output share", FRACTION, "Largest output / value"),
)
_FEE = (
    FeatureSpec("fee_log10", "fee", LOG_SAT, "Fee paid; NaN when unknown"),
    FeatureSpec("fee_rate_sat_vb", "fee rate", SAT_PER_VB, "Fee paid per virtual byte"),
    FeatureSpec("vsize_vb", "virtual size", VBYTES, "Virtual size, ceil(weight / 4)"),
    FeatureSpec("witness_byte_share", "witness share", FRACTION, "Share of bytes that are witness"),
    FeatureSpec("prevouts_known", "prevouts known", FLAG, "Every input's spent output is known"),
    FeatureSpec("fee_known", "fee known", FLAG, "The fee is known"),
)
_INPUT_MIX = (
    *(
        FeatureSpec(f"in_share_{t}", f"{t} inputs", FRACTION, f"Share of known-prevout inputs: {t}")
        for t in INPUT_TYPES
    ),
    FeatureSpec("in_share_other", "other inputs", FRACTION, "Share of known-prevout inputs: other"),
    FeatureSpec("segwit_input_share", "segwit inputs", FRACTION, "Share of inputs with a witness"),
)
_OUTPUT_MIX = (
    *(
        FeatureSpec(f"out_share_{t}", f"{t} outputs", FRACTION, f"Share of outputs of type {t}")
        for t in OUTPUT_TYPES
    ),
    FeatureSpec("out_share_other", "other outputs", FRACTION, "Share of outputs of any other type"),
)
_PATTERNS = (
    FeatureSpec(
        "round_1e5_output_share", "round outputs", FRACTION, "Payment outputs k x 100,000 sat"
    ),
    FeatureSpec(
        "round_1e6_output_share", "very round outputs", FRACTION, "Payment outputs k x 1e6 sat"
    ),
    FeatureSpec(
        "change_unique_input_type",
        "one output of the input type",
        FLAG,
        "Inputs share one script type and exactly one of 2+ outputs has it",
    ),
    FeatureSpec(
        "change_one_nonround",
        "one non-round output",
        FLAG,
        "Exactly one of 2+ payment outputs is not a multiple of 100,000 sat",
    ),
    FeatureSpec(
        "input_address_output_share",
        "value paid back to input addresses",
        FRACTION,
        "Share of output value paid to an address an input spends from (address reuse)",
    ),
    FeatureSpec(
        "equal_output_max_group",
        "largest equal-output group",
        COUNT,
        "Most payment outputs of >= 546 sat that share one value",
    ),
    FeatureSpec(
        "equal_output_max_group_share",
        "equal-output share",
        FRACTION,
        "That group's size over the number of payment outputs",
    ),
    FeatureSpec(
        "equal_output_group_count",
        "equal-output groups",
        COUNT,
        "Distinct values shared by two or more payment outputs of >= 546 sat",
    ),
    FeatureSpec("dust_546_output_count", "dust outputs", COUNT, "Payment outputs below 546 sat"),
    FeatureSpec("dust_1000_output_count", "tiny outputs", COUNT, "Payment outputs below 1,000 sat"),
)
_FLAGS = (
    FeatureSpec(
        "rbf_signalled", "RBF signalled", FLAG, "An input opts in to replace-by-fee (BIP 125)"
    ),
    FeatureSpec("locktime_set", "locktime set", FLAG, "nLockTime is not 0"),
    FeatureSpec(
        "locktime_height_type", "locktime is a height", FLAG, "nLockTime is a block height"
    ),
    FeatureSpec("version", "version", NUMBER, "Transaction version"),
    FeatureSpec("op_return_present", "OP_RETURN present", FLAG, "An output carries OP_RETURN data"),
    FeatureSpec("is_coinbase", "coinbase", FLAG, "The transaction is a coinbase"),
)
_CONTEXT = (
    *(
        FeatureSpec(
            f"exposure_{c}",
            f"exposure to {c.replace('_', ' ')}",
            FRACTION,
            f"Share of value exposed to {c}, directly or through earlier transactions",
        )
        for c in EXPOSURE_CATEGORIES
    ),
    FeatureSpec("exposure_min_hops", "hops to exposure", HOPS, "Fewest hops to exposure; 0 direct"),
    FeatureSpec(
        "anomaly_score", "anomaly score", SCORE, "Unsupervised anomaly score, 1 most unusual"
    ),
)

INTRINSIC_SPECS: tuple[FeatureSpec, ...] = (
    *_SHAPE,
    *_FEE,
    *_INPUT_MIX,
    *_OUTPUT_MIX,
    *_PATTERNS,
    *_FLAGS,
)
CONTEXT_SPECS: tuple[FeatureSpec, ...] = _CONTEXT
FEATURE_SPECS: tuple[FeatureSpec, ...] = INTRINSIC_SPECS + CONTEXT_SPECS
FEATURE_NAMES: tuple[str, ...] = tuple(s.name for s in FEATURE_SPECS)
N_INTRINSIC = len(INTRINSIC_SPECS)
N_CONTEXT = len(CONTEXT_SPECS)
N_FEATURES = len(FEATURE_SPECS)

_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_SPEC_BY_NAME = {s.name: s for s in FEATURE_SPECS}


def feature_index(name: str) -> int:
    """The column of feature ``name``; raises ``KeyError`` for an unknown name."""
    return _INDEX[name]


def describe(name: str, value: float) -> str:
    """``value`` of feature ``name`` in words for a narrative: "fee rate 12.4 sat/vB".

    Amounts are shown in sat or BTC, shares as percentages, flags as yes/no, NaN as
    "unknown". Raises ``KeyError`` for an unknown name.
    """
    spec = _SPEC_BY_NAME[name]
    if math.isnan(value):
        return f"{spec.label} unknown"
    if spec.unit == LOG_SAT:
        return f"{spec.label} {_amount(round(10.0**value - 1.0))}"
    if spec.unit == FRACTION:
        return f"{spec.label} {value:.0%}"
    if spec.unit == FLAG:
        return f"{spec.label}: {'yes' if value >= 0.5 else 'no'}"
    if spec.unit == SAT_PER_VB:
        return f"{spec.label} {value:.1f} sat/vB"
    if spec.unit == VBYTES:
        return f"{spec.label} {value:,.0f} vB"
    if spec.unit == HOPS:
        return f"{spec.label}: direct" if value == 0 else f"{spec.label} {value:.0f}"
    if spec.unit == COUNT:
        return f"{spec.label} {value:,.0f}"
    if spec.unit == SCORE:
        return f"{spec.label} {value:.2f}"
    return f"{spec.label} {value:.3g}"


def _amount(sat: int) -> str:
    """An amount the way wallets show it: sat below 0.001 BTC, BTC from there up."""
    if sat < 100_000:
        return f"{sat:,} sat"
    return f"{sat / 100_000_000:.8f}".rstrip("0").rstrip(".") + " BTC"
