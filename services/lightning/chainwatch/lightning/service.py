"""The lightning service's loop: analyse new snapshots, publish their reports, wait, repeat.

Analysis is CPU work of seconds, so it runs in a worker thread while the event loop keeps
answering HTTP. A report whose publish fails is kept and published again after the next
scan; its message id (snapshot name and file digest) lets JetStream drop a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

import nats.errors
from nats.js import JetStreamContext

from chainwatch.lightning import metrics_prom
from chainwatch.lightning.catalog import SnapshotCatalog
from chainwatch.lightning.settings import LightningSettings
from chainwatch.shared import bus
from chainwatch.shared.errors import TransientError
from chainwatch.shared.lightning import LIGHTNING_HEALTH, LightningHealthReport

logger = logging.getLogger(__name__)


def message_id(report: LightningHealthReport) -> str:
    """One message per snapshot content: its name and the first 16 hex of its digest."""
    return f"lightning:{report.snapshot}:{report.snapshot_digest[:16]}"


class LightningService:
    def __init__(
        self,
        settings: LightningSettings,
        catalog: SnapshotCatalog,
        js: JetStreamContext | None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.js = js
        self.pending: list[LightningHealthReport] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Scan, publish and sleep ``rescan_s`` until ``stop`` is set."""
        while not stop.is_set():
            await self.scan_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.rescan_s)

    async def scan_once(self) -> list[LightningHealthReport]:
        """Analyse what is new in the snapshot folder and publish it; returns the new reports."""
        folder = self.settings.snapshots
        if not folder.is_dir():
            logger.warning("snapshot folder %s does not exist; nothing to analyse", folder)
            return []

        started = time.perf_counter()
        reports = await asyncio.to_thread(self.catalog.refresh, folder)
        if reports:
            metrics_prom.ANALYSIS_SECONDS.observe(time.perf_counter() - started)
        for report in reports:
            metrics_prom.HEALTH_SCORE.labels(report.snapshot).set(report.health.score)
            kinds = Counter(a.kind for a in report.change.anomalies) if report.change else {}
            for kind, count in kinds.items():
                metrics_prom.ANOMALIES.labels(report.snapshot, kind).set(count)

        self.pending += reports
        await self._publish_pending()
        return reports

    async def _publish_pending(self) -> None:
        if self.js is None or not self.settings.publish:
            self.pending.clear()
            return
        while self.pending:
            report = self.pending[0]
            try:
                await bus.publish(self.js, LIGHTNING_HEALTH, report, message_id(report))
            except (TransientError, TimeoutError, OSError, nats.errors.Error) as exc:
                metrics_prom.REPORTS.labels("retry").inc()
                logger.warning(
                    "publish of %s failed (%s); %d reports wait for the next scan",
                    report.snapshot,
                    exc,
                    len(self.pending),
                )
                return
            self.pending.pop(0)
            metrics_prom.REPORTS.labels("published").inc()
            logger.info(
                "published %s health=%.1f (%s) on %s",
                report.snapshot,
                report.health.score,
                report.health.band,
                LIGHTNING_HEALTH,
            )
