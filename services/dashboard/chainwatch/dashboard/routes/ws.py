"""The live feed websocket: each client gets every decision from the moment it connects.

The client is registered with the hub before the handshake completes, so a browser that
sees the socket open will receive every decision published after that moment. Frames are
JSON objects with a ``type``; the server ignores what clients send.

Only a signed-in user's websocket is accepted (the session cookie travels with the
handshake). Browsers let any web page open a websocket to any host, so a handshake whose
``Origin`` is not this dashboard is refused too: another site open in an analyst's browser
cannot read the feed. Clients that are not browsers send no ``Origin``.

Frames are ``{"type": "decision", "decision": ...}`` for every decision and
``{"type": "case", "txid", ...}`` when a case changes (with its status, disposition and
assignee when the change was made on this replica; a page refetches the case's row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from chainwatch.dashboard.deps import current_session, get_resources
from chainwatch.dashboard.feed import FeedClient

logger = logging.getLogger(__name__)

router = APIRouter()


@router.websocket("/ws/feed", name="feed_ws")
async def feed_socket(websocket: WebSocket) -> None:
    if not same_origin(websocket):
        logger.warning("refused a feed websocket from origin %r", websocket.headers["origin"])
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    if await current_session(websocket) is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return

    hub = get_resources(websocket).hub
    client = hub.register()
    try:
        await websocket.accept()
        await _serve(websocket, client)
    finally:
        hub.unregister(client)


def same_origin(websocket: WebSocket) -> bool:
    """True when the handshake has no ``Origin`` or one naming the host it was sent to."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def _serve(websocket: WebSocket, client: FeedClient) -> None:
    """Send the client's frames until it goes away, whichever side notices first."""
    sender = asyncio.create_task(_send_frames(websocket, client))
    watcher = asyncio.create_task(_wait_for_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        results = await asyncio.gather(sender, watcher, return_exceptions=True)

    for result in results:
        if isinstance(result, Exception) and not isinstance(result, WebSocketDisconnect):
            raise result


async def _send_frames(websocket: WebSocket, client: FeedClient) -> None:
    while True:
        frame = await client.next_frame()
        await websocket.send_text(frame)


async def _wait_for_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
