"""What a text cites, and whether a narrative cites anything its evidence does not hold.

``cite(text)`` reads the checkable facts out of a text: 64-hex txids (and hex fragments of
them), Bitcoin addresses (base58 and bech32/bech32m), amounts in BTC, mBTC or sat, fiat
amounts, percentages and percentage points, every other figure (scores, log-odds, counts,
hops, fee rates), dates and times, and risk categories and typologies named in words
(``CATEGORY_WORDS``). The evidence document and the narrative are read by the same function,
so "in the evidence" means written in the document Claude was given.

``unsupported(narrative, evidence)`` lists every citation of the narrative that the evidence
does not support. A figure is supported when it is a correct rounding of a figure of the same
kind in the evidence, at the precision the narrative writes it ("0.87" cites 0.874, "1.2 BTC"
cites 1.2345 BTC); a figure written with a sign must match the sign too. Limits: figures
written in words ("two hops") and negations ("no sanctions exposure") are not understood;
the second is rejected when the evidence does not name the category, which is safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SAT_PER_UNIT = {"btc": 100_000_000, "bitcoin": 100_000_000, "mbtc": 100_000, "sat": 1}

CATEGORY_WORDS: dict[str, str] = {
    "sanctions": r"sanction\w*|ofac|sdn list",
    "ransomware": r"ransomware",
    "darknet market": r"dark\s?net\w*|dark\s?web|dark\s?market\w*",
    "mixer": r"mixers?|mixing services?|tumblers?",
    "scam": r"scam\w*|fraud\w*",
    "seizure": r"seiz\w*",
    "coinjoin": r"coin\s?joins?",
    "dust attack": r"dust(?:ing)?\s+attacks?|dusting",
    "consolidation": r"consolidat\w*",
    "fan-out": r"fan[\s-]?outs?",
    "peel chain": r"peel(?:ing)?[\s-]chains?|peel steps?|peeling",
    "structuring": r"structuring|smurfing",
    "terrorist financing": r"terroris\w*",
    "theft": r"stolen|theft|hack(?:s|ed|ers?|ing)?",
    "money laundering": r"launder\w*",
    "gambling": r"gambling",
    "extortion": r"extortion|blackmail",
}
"""Risk categories and typologies in words, label categories first; a narrative may name one
only where the evidence does. The last few are never in evidence: chainwatch has no such
label, so a narrative that names them invented them."""

_NUM = r"(?<![\w.])[+-]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_END = r"(?!\w)"
_NUMERAL = re.compile(r"([+-]?)([\d,]+)(\.\d+)?")
_HEX = "0-9a-fA-F"
_TOKEN = re.compile(
    "|".join(
        (
            rf"(?P<txid>\b[{_HEX}]{{64}}\b)",
            rf"(?P<fragment>\b(?=[{_HEX}]*\d)(?=[{_HEX}]*[a-fA-F])[{_HEX}]{{10,63}}\b)",
            r"(?P<bech32>\b(?i:bc|tb|bcrt)1(?i:[ac-hj-np-z02-9]){8,87}\b)",
            r"(?P<base58>\b[123mn][1-9A-HJ-NP-Za-km-z]{25,34}\b)",
            r"(?P<moment>\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}(?::\d{2})?\b)",
            rf"(?P<fiat>[$€£]\s?\d[\d,]*(?:\.\d+)?|{_NUM}\s*(?i:usd|eur|gbp|dollars?|euros?){_END})",
            rf"(?P<amount>{_NUM})\s*(?P<unit>(?i:btc|bitcoins?|mbtc|sats?|satoshis?))(?![\w/])",
            rf"(?P<percent>{_NUM})\s*(?:%|(?i:percentage points?|percent|pp){_END})",
            rf"(?P<number>{_NUM}){_END}",
        )
    )
)
"""Every kind of citation in one pass, tried in this order at each position of the text."""

_CATEGORY_GROUPS = {f"c{n}": name for n, name in enumerate(CATEGORY_WORDS)}
_CATEGORIES = re.compile(
    r"\b(?:"
    + "|".join(f"(?P<{group}>{CATEGORY_WORDS[name]})" for group, name in _CATEGORY_GROUPS.items())
    + r")\b",
    re.IGNORECASE,
)
_SPACES = str.maketrans({"\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " "})


@dataclass(frozen=True)
class Figure:
    """A figure as written: its value, half its last digit's unit, and whether it had a sign."""

    value: float
    half_unit: float
    signed: bool
    text: str

    def supported_by(self, other: Figure) -> bool:
        """True when this figure is a correct rounding of ``other`` (signs compared if given)."""
        mine, theirs = (
            (self.value, other.value) if self.signed else (abs(self.value), abs(other.value))
        )
        return abs(mine - theirs) <= self.half_unit + 1e-9 * max(1.0, abs(theirs))  # fmt: skip


@dataclass(frozen=True)
class Citations:
    """The checkable facts of a text; amounts in satoshis, percentages in percent."""

    txids: frozenset[str] = frozenset()
    hex_fragments: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    moments: frozenset[str] = frozenset()
    fiat: tuple[str, ...] = ()
    amounts: tuple[Figure, ...] = ()
    percents: tuple[Figure, ...] = ()
    numbers: tuple[Figure, ...] = ()
    numerals: tuple[Figure, ...] = field(default=(), repr=False)
    """Every figure as written, amounts and percentages included, for bare numbers to match."""
    categories: frozenset[str] = frozenset()


def cite(text: str) -> Citations:
    """Read the checkable facts out of ``text``; see the module docstring for what counts."""
    text = text.translate(_SPACES)
    found: dict[str, list[str]] = {kind: [] for kind in _TOKEN.groupindex}
    amounts, percents, numbers, numerals = [], [], [], []
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group(0).strip()
        if kind == "unit":  # the amount alternative: a numeral, then its unit
            figure = _figure(match.group("amount"))
            scale = SAT_PER_UNIT.get(match.group("unit").lower().rstrip("s"), 1)  # sat, satoshi
            amounts.append(Figure(figure.value * scale, figure.half_unit * scale, False, token))
            numerals.append(figure)
        elif kind == "percent":
            percents.append(_figure(match.group("percent"), token))
            numerals.append(percents[-1])
        elif kind == "number":
            numbers.append(_figure(token))
            numerals.append(numbers[-1])
        elif kind is not None:
            found[kind].append(token)

    categories = {_CATEGORY_GROUPS[m.lastgroup] for m in _CATEGORIES.finditer(text) if m.lastgroup}
    return Citations(
        txids=frozenset(t.lower() for t in found["txid"]),
        hex_fragments=frozenset(h.lower() for h in found["fragment"]),
        addresses=frozenset([a.lower() for a in found["bech32"]] + found["base58"]),
        moments=frozenset(found["moment"]),
        fiat=tuple(found["fiat"]),
        amounts=tuple(amounts),
        percents=tuple(percents),
        numbers=tuple(numbers),
        numerals=tuple(numerals),
        categories=frozenset(categories),
    )


def unsupported(narrative: Citations, evidence: Citations) -> list[str]:
    """Every citation of ``narrative`` that ``evidence`` does not support, in words."""
    problems = [f"txid {t}" for t in sorted(narrative.txids - evidence.txids)]
    problems += [
        f"txid fragment {h}"
        for h in sorted(narrative.hex_fragments)
        if not any(h in t for t in evidence.txids)
    ]
    problems += [f"address {a}" for a in sorted(narrative.addresses - evidence.addresses)]
    problems += [f"date or time {m}" for m in sorted(narrative.moments - evidence.moments)]
    problems += [f"fiat amount {f}" for f in narrative.fiat if f not in evidence.fiat]
    problems += [f"amount {a.text}" for a in narrative.amounts if not _any(a, evidence.amounts)]
    problems += [
        f"percentage {p.text}" for p in narrative.percents if not _any(p, evidence.percents)
    ]
    problems += [f"figure {n.text}" for n in narrative.numbers if not _any(n, evidence.numerals)]
    problems += [f"category {c}" for c in sorted(narrative.categories - evidence.categories)]
    return problems


def _any(figure: Figure, candidates: tuple[Figure, ...]) -> bool:
    return any(figure.supported_by(c) for c in candidates)


def _figure(numeral: str, text: str | None = None) -> Figure:
    match = _NUMERAL.match(numeral.strip())
    assert match is not None, numeral  # the token pattern only hands over numerals
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    value = float(whole.replace(",", "") + fraction) * (-1.0 if sign == "-" else 1.0)
    half_unit = 0.5 * 10.0 ** -(len(fraction) - 1) if fraction else 0.5
    return Figure(value, half_unit, bool(sign), text or numeral.strip())
