"""Labelled addresses: who is behind an address, and in which risk category.

Sources, all under the data dir:

* ``sanctions/ofac_sanctioned_addresses_XBT.txt`` — OFAC SDN Bitcoin addresses;
* ``address_labels/am-i-exposed_curated/ofac-addresses.json`` — a later OFAC list;
* ``address_labels/am-i-exposed_curated/*.csv`` — ``address,entity,source`` rows, the
  category taken from the file name (see ``CATEGORY_BY_FILE``).

An address may carry several labels (a mixer that is also sanctioned). The book reloads
itself when any source file changes, so a new list takes effect without a restart.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

logger = logging.getLogger(__name__)


class Category(StrEnum):
    SANCTIONS = "sanctions"
    RANSOMWARE = "ransomware"
    DARKNET_MARKET = "darknet_market"
    MIXER = "mixer"
    SCAM = "scam"
    SEIZURE = "seizure"
    EXCHANGE = "exchange"
    MINING_POOL = "mining_pool"
    P2P_PLATFORM = "p2p_platform"


ILLICIT = frozenset(
    {
        Category.SANCTIONS,
        Category.RANSOMWARE,
        Category.DARKNET_MARKET,
        Category.MIXER,
        Category.SCAM,
        Category.SEIZURE,
    }
)
"""Categories whose exposure raises risk; the others are context (and negative weak labels)."""

CURATED_DIR = Path("address_labels/am-i-exposed_curated")
SANCTIONS_TXT = Path("sanctions/ofac_sanctioned_addresses_XBT.txt")
SANCTIONS_JSON = CURATED_DIR / "ofac-addresses.json"

CATEGORY_BY_FILE: dict[str, Category] = {
    "ofac-entity-labeled.csv": Category.SANCTIONS,
    "ransomware-addresses.csv": Category.RANSOMWARE,
    "bithypha-ransomwhere.csv": Category.RANSOMWARE,
    "darknet-market-addresses.csv": Category.DARKNET_MARKET,
    "mixer-addresses.csv": Category.MIXER,
    "scam-ponzi-addresses.csv": Category.SCAM,
    "doj-seizure-addresses.csv": Category.SEIZURE,
    "bankruptcy-exchange-addresses.csv": Category.EXCHANGE,
    "exchange-academic-addresses.csv": Category.EXCHANGE,
    "exchange-por-forensics-addresses.csv": Category.EXCHANGE,
    "exchange-modern-curated.csv": Category.EXCHANGE,
    "exchange-tier1-addresses.csv": Category.EXCHANGE,
    "exchange-tier2-addresses.csv": Category.EXCHANGE,
    "exchange-tier3-addresses.csv": Category.EXCHANGE,
    "proof-of-reserves.csv": Category.EXCHANGE,
    "mining-pool-addresses.csv": Category.MINING_POOL,
    "p2p-platform-addresses.csv": Category.P2P_PLATFORM,
}


@dataclass(frozen=True)
class Label:
    category: Category
    entity: str
    source: str


class LabelBook:
    """Address → labels, read from the data dir and re-read when a source file changes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._labels: dict[str, tuple[Label, ...]] = {}
        self._mtimes: dict[Path, float] = {}
        self.reload()

    def __len__(self) -> int:
        return len(self._labels)

    def get(self, address: str | None) -> tuple[Label, ...]:
        if address is None:
            return ()
        return self._labels.get(address, ())

    def source_files(self) -> list[Path]:
        files = [self.data_dir / SANCTIONS_TXT, self.data_dir / SANCTIONS_JSON]
        files += [self.data_dir / CURATED_DIR / name for name in sorted(CATEGORY_BY_FILE)]
        return [f for f in files if f.exists()]

    def reload_if_changed(self) -> bool:
        """Re-read the sources if any was added, removed or modified; say whether it did."""
        current = {f: f.stat().st_mtime for f in self.source_files()}
        if current == self._mtimes:
            return False
        self.reload()
        return True

    def reload(self) -> None:
        found: dict[str, list[Label]] = defaultdict(list)
        files = self.source_files()
        if not files:
            logger.warning("no label files under %s: exposure rules will never fire", self.data_dir)

        for path in files:
            for address, label in _read(path):
                if label not in found[address]:
                    found[address].append(label)

        self._labels = {address: tuple(labels) for address, labels in found.items()}
        self._mtimes = {f: f.stat().st_mtime for f in files}
        logger.info("loaded %d labelled addresses %s", len(self), self.count_by_category())

    def count_by_category(self) -> dict[str, int]:
        """How many addresses carry at least one label of each category."""
        counts: dict[str, int] = defaultdict(int)
        for labels in self._labels.values():
            for category in {label.category for label in labels}:
                counts[category.value] += 1
        return dict(counts)


def _read(path: Path) -> list[tuple[str, Label]]:
    if path.name == SANCTIONS_TXT.name:
        label = Label(Category.SANCTIONS, "OFAC SDN", "ofac-sdn-xbt")
        return [(a, label) for a in path.read_text().split()]
    if path.suffix == ".json":
        addresses = json.loads(path.read_text())["addresses"]
        label = Label(Category.SANCTIONS, "OFAC SDN", "ofac-addresses-json")
        return [(a, label) for a in addresses]

    category = CATEGORY_BY_FILE[path.name]
    rows = []
    with path.open(newline="") as handle:
        content = (line for line in handle if line.strip() and not line.startswith("#"))
        for row in csv.DictReader(content):
            address = (row.get("address") or "").strip()
            if address:
                entity = (row.get("entity") or "").strip() or "unknown"
                rows.append((address, Label(category, entity, (row.get("source") or "").strip())))
    return rows
