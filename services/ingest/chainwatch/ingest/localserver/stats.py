"""Recorded mempool state messages of mempool.space, served by the local server as they were.

``mempoolInfo`` (size, bytes, total fee, minimum fee), ``vBytesPerSecond`` and ``fees`` come
from one recorded websocket init message (mainnet, 2024-03-31). Projected blocks
(``mempool-blocks``) come from every recorded message or API answer that holds them; the
server moves to the next one at each block it finds, so a client sees the projection change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chainwatch.shared.errors import ConfigurationError

_FIXTURES = "mempool_api/mempool_repo_fixtures"
_INIT_MESSAGE = "cypress_mainnet_mempoolInfo.json"
_PROJECTIONS = (
    "cypress_mainnet_mempoolInfo.json",
    "cypress_details_rbf__tx01_ws_mempool_blocks_01.json",
    "cypress_details_rbf__tx02_ws_mempool_blocks_01.json",
    "cypress_details_rbf__tx02_ws_next_block.json",
    "backend_fee-mempool-blocks.json",
)


class RecordedStats:
    """The recorded state parts, with one projection of the next blocks current at a time."""

    def __init__(self, init_message: dict[str, Any], projections: list[list[Any]]) -> None:
        self.init_message = init_message
        self.projections = projections or [init_message.get("mempool-blocks", [])]
        self._current = 0

    @classmethod
    def load(cls, data_dir: Path) -> RecordedStats:
        """Read the recorded messages; ``ConfigurationError`` when the data is not there."""
        folder = data_dir / _FIXTURES
        try:
            init_message = json.loads((folder / _INIT_MESSAGE).read_text())
            projections: list[list[Any]] = []
            for name in _PROJECTIONS:
                content = json.loads((folder / name).read_text())
                if "mempool-blocks" in content:
                    projections.append(content["mempool-blocks"])
                else:  # the backend's fee test data: named scenarios of projected blocks
                    projections.extend(v for v in content.values() if isinstance(v, list))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                "data_dir", f"recorded mempool state unreadable: {exc}"
            ) from exc
        return cls(init_message, projections)

    def next_projection(self) -> None:
        self._current = (self._current + 1) % len(self.projections)

    def stats_part(self) -> dict[str, Any]:
        """What a ``stats`` subscriber receives."""
        keys = ("mempoolInfo", "vBytesPerSecond", "fees")
        return {k: self.init_message[k] for k in keys if k in self.init_message}

    def state(self) -> dict[str, Any]:
        return {**self.stats_part(), "mempool-blocks": self.projections[self._current]}
