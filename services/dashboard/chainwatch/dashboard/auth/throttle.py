"""The sign-in throttle: failed sign-ins make the next attempt wait, longer each time.

Failures are counted over a window (``login_window_s``) three ways: for one user from one
address, for one user from anywhere, and from one address for anyone. Past the free
failures of a count, the next attempt must wait ``base × 2^(excess)`` seconds after the
last failure (capped), and until then it is refused (HTTP 429) even with the right
password, so guessing costs time that grows with every miss. A successful sign-in clears
the failures of that user from that address. Counts live in PostgreSQL, so every
dashboard replica sees the same ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from chainwatch.dashboard.errors import LoginThrottled
from chainwatch.dashboard.settings import DashboardSettings


class LoginThrottle:
    def __init__(self, pool: asyncpg.Pool, settings: DashboardSettings) -> None:
        self.pool = pool
        self.free_failures = settings.login_free_failures
        self.wide_failures = settings.login_wide_failures
        self.base_delay_s = settings.login_base_delay_s
        self.max_delay_s = settings.login_max_delay_s
        self.window = timedelta(seconds=settings.login_window_s)

    async def check(self, username: str, client_ip: str) -> None:
        """Raise ``LoginThrottled`` while ``username`` from ``client_ip`` must wait."""
        now = datetime.now(UTC)
        row = await self.pool.fetchrow(
            """
            SELECT count(*) FILTER (WHERE username = $1 AND client_ip = $2) AS pair,
                   max(failed_at) FILTER (WHERE username = $1 AND client_ip = $2) AS pair_last,
                   count(*) FILTER (WHERE username = $1) AS user_any,
                   max(failed_at) FILTER (WHERE username = $1) AS user_last,
                   count(*) FILTER (WHERE client_ip = $2) AS ip_any,
                   max(failed_at) FILTER (WHERE client_ip = $2) AS ip_last
            FROM dashboard_login_failure
            WHERE (username = $1 OR client_ip = $2) AND failed_at > $3
            """,
            username,
            client_ip,
            now - self.window,
        )
        assert row is not None
        wait_s = max(
            self._wait_s(row["pair"], row["pair_last"], self.free_failures, now),
            self._wait_s(row["user_any"], row["user_last"], self.wide_failures, now),
            self._wait_s(row["ip_any"], row["ip_last"], self.wide_failures, now),
        )
        if wait_s > 0:
            raise LoginThrottled(wait_s)

    def _wait_s(self, failures: int, last: datetime | None, free: int, now: datetime) -> float:
        if failures < free or last is None:
            return 0.0
        delay_s = min(self.max_delay_s, self.base_delay_s * 2.0 ** (failures - free))
        return max(0.0, delay_s - (now - last).total_seconds())

    async def record_failure(self, username: str, client_ip: str) -> None:
        await self.pool.execute(
            "INSERT INTO dashboard_login_failure (username, client_ip) VALUES ($1, $2)",
            username,
            client_ip,
        )

    async def clear(self, username: str, client_ip: str) -> None:
        await self.pool.execute(
            "DELETE FROM dashboard_login_failure WHERE username = $1 AND client_ip = $2",
            username,
            client_ip,
        )

    async def prune(self) -> None:
        await self.pool.execute(
            "DELETE FROM dashboard_login_failure WHERE failed_at <= $1",
            datetime.now(UTC) - self.window,
        )
