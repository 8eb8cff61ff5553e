"""The NATS side of the live feed: every decision on ``chainwatch.tx.scored`` goes to the hub.

A plain (core NATS) subscription: the feed shows what happens from now on, and history
comes from the audit trail, so nothing here is durable and nothing is acknowledged. A
message that does not decode is counted, logged and skipped; the feed goes on.

Verdicts on ``chainwatch.review.verdict`` are relayed too, as ``case`` frames naming the
txid, so a queue open on one dashboard replica redraws a case decided on another; and
explanations on ``chainwatch.tx.explained`` as ``explained`` frames, so a case page that
says "explanation pending" shows the explanation the moment it is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.views import DecisionFrame, DecisionView
from chainwatch.shared import bus, subjects
from chainwatch.shared.errors import DecodeError
from chainwatch.shared.logs import log_context
from chainwatch.shared.schemas import ScoredTransaction
from chainwatch.shared.verdicts import REVIEW_VERDICT

logger = logging.getLogger(__name__)

TX_EXPLAINED = f"{subjects.PREFIX}.tx.explained"
"""The explainer's subject; published only once the explanation is in ``audit_explanation``."""


class DecisionRelay:
    """Subscribes to scored decisions and broadcasts each one as a feed frame."""

    def __init__(
        self,
        nc: NATS,
        hub: FeedHub,
        subject: str = subjects.TX_SCORED,
        on_flagged: Callable[[str], None] | None = None,
    ) -> None:
        self.nc = nc
        self.hub = hub
        self.subject = subject
        self.on_flagged = on_flagged
        """Called with the txid of each flagged decision (the archive copies its transaction)."""
        self.relayed = 0
        self.undecodable = 0
        self._sub: Subscription | None = None
        self._verdicts: Subscription | None = None
        self._explained: Subscription | None = None

    async def start(self) -> None:
        """Subscribe, and return once the server knows of the subscriptions."""
        self._sub = await self.nc.subscribe(self.subject, cb=self._on_message)
        self._verdicts = await self.nc.subscribe(REVIEW_VERDICT, cb=self._on_verdict)
        self._explained = await self.nc.subscribe(TX_EXPLAINED, cb=self._on_explained)
        await self.nc.flush()
        logger.info("relaying %s to the live feed", self.subject)

    async def stop(self) -> None:
        if self._sub is None:
            return
        sub, self._sub = self._sub, None
        if not self.nc.is_closed:
            await sub.unsubscribe()
            for extra in (self._verdicts, self._explained):
                if extra is not None:
                    await extra.unsubscribe()
        logger.info("stopped relaying %s after %d decisions", self.subject, self.relayed)

    async def _on_message(self, msg: Msg) -> None:
        # The boundary of the handler: whatever goes wrong with one message, the next one
        # is still relayed.
        try:
            self.relay(msg.subject, msg.data)
        except Exception:
            logger.exception("could not relay a message on %s", msg.subject)

    async def _on_verdict(self, msg: Msg) -> None:
        self._txid_frame("case", msg)

    async def _on_explained(self, msg: Msg) -> None:
        self._txid_frame("explained", msg)

    def _txid_frame(self, kind: str, msg: Msg) -> None:
        """Broadcast ``{"type": kind, "txid": ...}``: pages fetch the rest as it now stands."""
        try:
            txid = json.loads(msg.data)["txid"]
        except (ValueError, KeyError, TypeError):
            logger.warning("skipping an undecodable message on %s", msg.subject)
            return
        if isinstance(txid, str):
            self.hub.broadcast(json.dumps({"type": kind, "txid": txid}))

    def relay(self, subject: str, data: bytes) -> None:
        """Decode one message and broadcast it; count and skip it when it does not decode."""
        try:
            scored = bus.decode(ScoredTransaction, data, subject)
        except DecodeError as exc:
            self.undecodable += 1
            logger.warning("skipping undecodable message on %s: %s", subject, exc.reason)
            return

        with log_context(txid=scored.txid, subject=subject):
            frame = DecisionFrame(decision=DecisionView.from_scored(scored))
            self.hub.broadcast(frame.model_dump_json())
            self.relayed += 1
            if scored.flagged and self.on_flagged is not None:
                self.on_flagged(scored.txid)
            logger.debug("relayed band=%s risk=%.3f", scored.band, scored.risk_score)
