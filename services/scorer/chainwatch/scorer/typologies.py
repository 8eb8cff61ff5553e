"""Typologies: shapes of a single transaction that say what kind of activity it is.

Each rule looks at one transaction and returns a ``RuleHit`` (category in brackets):

- **coinjoin** (``coinjoin``): a Whirlpool round (5 inputs, 5 outputs of one pool
  denomination); a large equal-output round (WabiSabi, Wasabi 1: many inputs, most outputs
  in groups of equal value); or a JoinMarket round (n equal outputs of a freely chosen
  amount, at least n inputs, at most one change output per participant).
- **dust attack** (``dust_attack``): tiny outputs to addresses the sender does not own, in
  a transaction whose only payments to others are that dust (or that dusts many addresses).
- **consolidation** (``consolidation``): many inputs into one or two outputs.
- **fan-out** (``fan_out``): few inputs into many outputs, as in an exchange's batch of
  withdrawals.
- **peel-chain step** (``peel_chain``): one or two inputs into two outputs, a small peel and
  a large remainder; a chain is several such steps, linked across the stream elsewhere.
- **structuring** (``structuring``): several outputs each just below a reporting threshold.

A shape is context, not an accusation: consolidations and fan-outs are everyday wallet and
exchange housekeeping and weigh little; ``TypologyParams.weights`` gives the risk weight of
each category (0..1) for the cascade. Every rule is a pure function of the transaction and
the parameters, and costs a few microseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from chainwatch.shared.schemas import RuleHit, Transaction

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "coinjoin": 0.35,
        "dust_attack": 0.25,
        "structuring": 0.4,
        "peel_chain": 0.05,
        "consolidation": 0.02,
        "fan_out": 0.02,
    }
)
"""Risk weight of each typology category, 0..1: what the shape alone says about risk."""


@dataclass(frozen=True)
class TypologyParams:
    """The thresholds of every rule; amounts in satoshis, shares in 0..1.

    Coinjoin outputs of equal value count only from ``coinjoin_min_sat`` up (smaller equal
    outputs are dust or protocol markers), and never in a transaction with OP_RETURN data.

    Whirlpool: ``whirlpool_participants`` inputs and as many outputs, every output one of
    ``whirlpool_denominations_sat`` (0.001, 0.01, 0.05, 0.5 BTC pools), every input at
    least the denomination and at most ``whirlpool_max_input_excess`` above it, where input
    values are known (remixes bring exactly the denomination, new entries a little more for
    the miner fee).

    Equal-output rounds: at least ``mass_min_inputs`` inputs and ``mass_min_outputs``
    outputs, a group of at least ``mass_min_equal_outputs`` equal outputs, and at least
    ``mass_min_mixed_share`` of the payment outputs in groups of two or more.

    JoinMarket: ``n >= joinmarket_min_equal_outputs`` equal outputs to distinct addresses
    that no input spends from, at least n inputs, at most 2n outputs, and an amount that is
    not a multiple of ``joinmarket_round_sat`` (equal round amounts are more often two
    payments of one price than a round whose amount the taker picks freely).

    Dust: a dust output pays below ``dust_max_sat`` to an address no input spends from, and
    is not the coin of an input of the same value moving on (inscriptions, tokens). It is an
    attack when at least ``dust_min_targets`` addresses are dusted, or when there is change
    and every other payment output is change (pays an input address). Transactions with
    OP_RETURN data are left out: Omni, Counterparty and the like mark their recipient with a
    dust output.

    Consolidation: at least ``consolidation_min_inputs`` inputs, at most
    ``consolidation_max_outputs`` payment outputs. Fan-out: at most ``fan_out_max_inputs``
    inputs, at least ``fan_out_min_outputs`` payment outputs.

    Peel step: at most ``peel_max_inputs`` inputs, exactly two payment outputs worth at least
    ``peel_min_value_sat`` together, the smaller at most ``peel_max_share`` of them and not
    dust, neither paying an input address.

    Structuring: at least ``structuring_min_outputs`` payment outputs, and at least
    ``structuring_min_share`` of them, each within ``structuring_band`` below one of
    ``structuring_thresholds_sat`` (a large batch has a few such outputs by chance). The
    default thresholds are USD 1,000, 3,000 and 10,000 (travel-rule and cash-reporting lines)
    at USD 100,000 per BTC; ``thresholds_from_fiat`` converts a fiat list at the day's price.

    A hit lists at most ``max_addresses`` addresses.
    """

    coinjoin_min_sat: int = 10_000
    whirlpool_participants: int = 5
    whirlpool_denominations_sat: tuple[int, ...] = (100_000, 1_000_000, 5_000_000, 50_000_000)
    whirlpool_max_input_excess: float = 0.05
    mass_min_inputs: int = 20
    mass_min_outputs: int = 20
    mass_min_equal_outputs: int = 5
    mass_min_mixed_share: float = 0.5
    joinmarket_min_equal_outputs: int = 2
    joinmarket_round_sat: int = 10_000
    dust_max_sat: int = 1_000
    dust_min_targets: int = 5
    consolidation_min_inputs: int = 10
    consolidation_max_outputs: int = 2
    fan_out_max_inputs: int = 3
    fan_out_min_outputs: int = 20
    peel_max_inputs: int = 2
    peel_max_share: float = 0.1
    peel_min_value_sat: int = 10_000_000
    structuring_thresholds_sat: tuple[int, ...] = (1_000_000, 3_000_000, 10_000_000)
    structuring_band: float = 0.1
    structuring_min_outputs: int = 3
    structuring_min_share: float = 0.5
    max_addresses: int = 20
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)

    def __post_init__(self) -> None:
        shares = (
            "whirlpool_max_input_excess",
            "mass_min_mixed_share",
            "peel_max_share",
            "structuring_min_share",
        )
        for name in shares:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]: {getattr(self, name)}")
        if not 0.0 < self.structuring_band < 1.0:
            raise ValueError(f"structuring_band must lie in (0, 1): {self.structuring_band}")
        if set(self.weights) != set(DEFAULT_WEIGHTS):
            raise ValueError(f"weights must name exactly {sorted(DEFAULT_WEIGHTS)}")
        if not all(0.0 <= w <= 1.0 for w in self.weights.values()):
            raise ValueError(f"weights must lie in [0, 1]: {dict(self.weights)}")


DEFAULT_PARAMS = TypologyParams()


def thresholds_from_fiat(amounts: tuple[float, ...], price_per_btc: float) -> tuple[int, ...]:
    """Reporting thresholds in fiat converted to satoshis at ``price_per_btc``."""
    if price_per_btc <= 0:
        raise ValueError(f"price_per_btc must be positive: {price_per_btc}")
    return tuple(round(a / price_per_btc * 100_000_000) for a in amounts)


class _Payment(NamedTuple):
    """An output that is not OP_RETURN: its index, value and address."""

    vout: int
    value: int
    address: str | None


@dataclass(frozen=True, slots=True)
class _Shape:
    """What every rule reads, gathered in one pass: payment outputs and known input coins."""

    payments: list[_Payment]
    value_out: int
    n_in: int
    input_values: frozenset[int]
    input_addresses: frozenset[str]
    has_op_return: bool


def _shape(tx: Transaction) -> _Shape:
    payments = [
        _Payment(index, o.value, o.scriptpubkey_address)
        for index, o in enumerate(tx.vout)
        if o.scriptpubkey_type != "op_return"
    ]
    prevouts = [i.prevout for i in tx.vin if i.prevout is not None]
    return _Shape(
        payments=payments,
        value_out=tx.value_out,
        n_in=len(tx.vin),
        input_values=frozenset(p.value for p in prevouts),
        input_addresses=frozenset(
            p.scriptpubkey_address for p in prevouts if p.scriptpubkey_address
        ),
        has_op_return=len(payments) < len(tx.vout),
    )


def detect_typologies(tx: Transaction, params: TypologyParams = DEFAULT_PARAMS) -> list[RuleHit]:
    """Every typology ``tx`` shows, at most one hit per category; none for a coinbase."""
    if tx.is_coinbase:
        return []
    shape = _shape(tx)
    hits = (
        _coinjoin(shape, params),
        _dust_attack(shape, params),
        _consolidation(shape, params),
        _fan_out(shape, params),
        _peel_step(shape, params),
        _structuring(shape, params),
    )
    return [h for h in hits if h is not None]


def typology_risk(hits: list[RuleHit], params: TypologyParams = DEFAULT_PARAMS) -> float:
    """The largest weight among ``hits`` of a typology category, 0.0 with none."""
    return max((params.weights.get(h.category, 0.0) for h in hits), default=0.0)


def _equal_groups(shape: _Shape, min_sat: int) -> dict[int, list[str | None]]:
    """Payment outputs of at least ``min_sat`` grouped by value: value -> their addresses."""
    groups: dict[int, list[str | None]] = {}
    for _, value, address in shape.payments:
        if value >= min_sat:
            groups.setdefault(value, []).append(address)
    return groups


def _coinjoin(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """A coinjoin round of Whirlpool, equal-output (WabiSabi, Wasabi 1) or JoinMarket shape."""
    if shape.has_op_return:
        return None
    n_out = len(shape.payments)
    groups = _equal_groups(shape, p.coinjoin_min_sat)
    if not groups:
        return None
    value, addresses = max(groups.items(), key=lambda item: (len(item[1]), item[0]))
    n_equal = len(addresses)

    if (
        shape.n_in == n_out == n_equal == p.whirlpool_participants
        and value in p.whirlpool_denominations_sat
        and all(
            value <= v <= value * (1 + p.whirlpool_max_input_excess) for v in shape.input_values
        )
    ):
        rule, detail = "coinjoin_whirlpool", f"Whirlpool {value:,} sat pool, {n_equal}x{n_equal}"
    elif (
        shape.n_in >= p.mass_min_inputs
        and n_out >= p.mass_min_outputs
        and n_equal >= p.mass_min_equal_outputs
        and sum(len(a) for a in groups.values() if len(a) > 1) >= p.mass_min_mixed_share * n_out
    ):
        repeated = sum(1 for a in groups.values() if len(a) > 1)
        rule = "coinjoin_equal_outputs"
        detail = f"{shape.n_in} inputs, {n_out} outputs, {repeated} equal-value groups"
    elif (
        n_equal >= p.joinmarket_min_equal_outputs
        and shape.n_in >= n_equal
        and n_out <= 2 * n_equal
        and value % p.joinmarket_round_sat != 0
        and len(set(addresses)) == n_equal
        and None not in addresses
        and shape.input_addresses.isdisjoint(addresses)
    ):
        rule, detail = "coinjoin_joinmarket", f"{n_equal} equal outputs of {value:,} sat"
    else:
        return None

    mixed_sat = sum(v * len(a) for v, a in groups.items() if len(a) > 1)
    return RuleHit(
        rule=rule,
        category="coinjoin",
        addresses=_cap([a for a in addresses if a], p),
        share_of_value=_share(mixed_sat, shape.value_out),
        detail=detail,
    )


def _dust_attack(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """Dust sent to addresses the sender does not own, as the transaction's whole purpose."""
    if shape.has_op_return:
        return None
    targets: list[str] = []
    dust_sat = 0
    change = strangers = 0
    for _, value, address in shape.payments:
        if value < p.dust_max_sat and value not in shape.input_values:
            if address is not None and address not in shape.input_addresses:
                targets.append(address)
                dust_sat += value
        elif address in shape.input_addresses:
            change += 1
        else:
            strangers += 1

    dusted = len(set(targets))
    only_dust_to_others = change > 0 and strangers == 0
    if dusted == 0 or not (dusted >= p.dust_min_targets or only_dust_to_others):
        return None
    return RuleHit(
        rule="dust_attack",
        category="dust_attack",
        addresses=_cap(sorted(set(targets)), p),
        share_of_value=_share(dust_sat, shape.value_out),
        detail=f"{len(targets)} outputs below {p.dust_max_sat:,} sat to {dusted} addresses",
    )


def _consolidation(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """Many inputs merged into one or two outputs: a wallet tidying its coins."""
    if shape.n_in < p.consolidation_min_inputs or len(shape.payments) > p.consolidation_max_outputs:
        return None
    return RuleHit(
        rule="consolidation",
        category="consolidation",
        share_of_value=1.0,
        detail=f"{shape.n_in} inputs into {len(shape.payments)} outputs",
    )


def _fan_out(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """Few inputs paying many outputs: a batch of payouts or withdrawals."""
    if shape.n_in > p.fan_out_max_inputs or len(shape.payments) < p.fan_out_min_outputs:
        return None
    return RuleHit(
        rule="fan_out",
        category="fan_out",
        share_of_value=1.0,
        detail=f"{shape.n_in} inputs into {len(shape.payments)} outputs",
    )


def _peel_step(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """One step of a peel chain: a small peel off a large remainder that moves on."""
    if shape.n_in > p.peel_max_inputs or len(shape.payments) != 2:
        return None
    peel, rest = sorted(shape.payments, key=lambda payment: payment.value)
    total = peel.value + rest.value
    if (
        total < p.peel_min_value_sat
        or peel.value > p.peel_max_share * total
        or peel.value < p.dust_max_sat
        or peel.address in shape.input_addresses
        or rest.address in shape.input_addresses
    ):
        return None
    return RuleHit(
        rule="peel_chain_step",
        category="peel_chain",
        addresses=[a for a in (peel.address, rest.address) if a],
        share_of_value=_share(peel.value, shape.value_out),
        detail=(
            f"peel {peel.value:,} sat at vout {peel.vout}, "
            f"remainder {rest.value:,} sat at vout {rest.vout}"
        ),
    )


def _structuring(shape: _Shape, p: TypologyParams) -> RuleHit | None:
    """Several outputs each just below a reporting threshold."""
    bands = [(t * (1 - p.structuring_band), t) for t in p.structuring_thresholds_sat]
    below = [o for o in shape.payments if any(low <= o.value < high for low, high in bands)]
    n_below = len(below)
    if n_below < max(p.structuring_min_outputs, p.structuring_min_share * len(shape.payments)):
        return None
    return RuleHit(
        rule="structuring",
        category="structuring",
        addresses=_cap(sorted({o.address for o in below if o.address}), p),
        share_of_value=_share(sum(o.value for o in below), shape.value_out),
        detail=(
            f"{n_below} of {len(shape.payments)} outputs within "
            f"{p.structuring_band:.0%} below a threshold"
        ),
    )


def _share(part_sat: int, total_sat: int) -> float:
    return min(1.0, part_sat / total_sat) if total_sat > 0 else 0.0


def _cap(addresses: list[str], p: TypologyParams) -> list[str]:
    return addresses[: p.max_addresses]
