"""Fan-out of live frames to websocket clients, so that one slow browser never stalls the rest.

Every client owns a bounded queue. ``FeedHub.broadcast`` never waits: it puts the frame in
each queue, and a client whose queue is full loses its oldest frame, which is counted.
The hub knows nothing about NATS or websockets; the relay feeds it and the websocket route
drains one client's queue into its socket.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class FeedClient:
    """One websocket's view of the feed: the frames it has not been sent yet."""

    def __init__(self, client_id: int, queue_size: int) -> None:
        self.client_id = client_id
        self.dropped = 0
        """Frames thrown away because this client fell more than a full queue behind."""
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)

    def offer(self, frame: str) -> bool:
        """Queue ``frame`` without waiting; return False when an older frame had to go."""
        kept_all = True
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            kept_all = False
        self._queue.put_nowait(frame)
        return kept_all

    async def next_frame(self) -> str:
        """The oldest frame not yet sent, waiting for one if there is none."""
        return await self._queue.get()

    @property
    def pending(self) -> int:
        return self._queue.qsize()


@dataclass(frozen=True)
class FeedStats:
    """What the hub has done since start: frames broadcast and frames dropped, all clients."""

    clients: int
    broadcasts: int
    dropped: int


class FeedHub:
    """The set of connected feed clients and the broadcast to all of them."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._clients: dict[int, FeedClient] = {}
        self._ids = itertools.count(1)
        self._broadcasts = 0
        self._dropped = 0

    def register(self) -> FeedClient:
        """A new client, which receives every frame broadcast from now on."""
        client = FeedClient(next(self._ids), self.queue_size)
        self._clients[client.client_id] = client
        logger.debug("feed client %d joined, %d connected", client.client_id, len(self._clients))
        return client

    def unregister(self, client: FeedClient) -> None:
        self._clients.pop(client.client_id, None)
        if client.dropped:
            logger.info(
                "feed client %d left having missed %d frames", client.client_id, client.dropped
            )
        logger.debug("feed client %d left, %d connected", client.client_id, len(self._clients))

    def broadcast(self, frame: str) -> None:
        """Queue ``frame`` for every client; never waits, drops oldest for a full queue."""
        self._broadcasts += 1
        for client in self._clients.values():
            if not client.offer(frame):
                self._dropped += 1
                if client.dropped == 1:
                    logger.warning(
                        "feed client %d is slow; dropping its oldest frames", client.client_id
                    )

    def stats(self) -> FeedStats:
        return FeedStats(
            clients=len(self._clients), broadcasts=self._broadcasts, dropped=self._dropped
        )
