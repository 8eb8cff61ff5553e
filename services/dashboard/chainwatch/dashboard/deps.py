"""What a request handler may use, opened once by the app's lifespan and kept on app state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends
from nats.aio.client import Client as NATS
from starlette.requests import HTTPConnection

from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.relay import DecisionRelay
from chainwatch.dashboard.settings import DashboardSettings


@dataclass(frozen=True)
class Resources:
    """The open connections and the live feed of one running app."""

    settings: DashboardSettings
    pool: asyncpg.Pool
    nc: NATS
    hub: FeedHub
    relay: DecisionRelay


def get_resources(conn: HTTPConnection) -> Resources:
    """The app's resources, for an HTTP request or a websocket alike."""
    resources: Resources = conn.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]
