"""Signed-in sessions, kept server-side, and the CSRF tokens bound to them.

The session cookie holds a random token (256 bits). The database holds only
HMAC-SHA256(secret, token), so a copy of the table opens no session, and a session ends
for good when its row goes (sign-out, a change to the user, expiry). The CSRF token of a
session is HMAC-SHA256(secret, token) under another label: a page gets it in its forms,
another site can neither read nor compute it.

The sign-in form has no session yet; it gets a CSRF token bound to a short-lived random
cookie of its own (``LOGIN_COOKIE``), checked the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from chainwatch.dashboard.auth.users import User

SESSION_COOKIE = "chainwatch_session"
LOGIN_COOKIE = "chainwatch_login"
TOUCH_EVERY = timedelta(minutes=1)
"""A session's last_seen_at is written at most this often, not on every request."""


@dataclass(frozen=True)
class Session:
    """A valid session: its user and the CSRF token its forms must carry."""

    user: User
    csrf_token: str
    expires_at: datetime


class SessionStore:
    """Creates, finds and ends sessions in ``dashboard_session``."""

    def __init__(self, pool: asyncpg.Pool, secret: bytes, *, max_age_s: int, idle_s: int) -> None:
        self.pool = pool
        self._secret = secret
        self.max_age = timedelta(seconds=max_age_s)
        self.idle = timedelta(seconds=idle_s)

    def _mac(self, label: bytes, token: str) -> bytes:
        return hmac.new(self._secret, label + token.encode(), hashlib.sha256).digest()

    def csrf_for(self, token: str) -> str:
        """The CSRF token of the session (or sign-in form) whose cookie holds ``token``."""
        return self._mac(b"csrf:", token).hex()

    def csrf_ok(self, token: str | None, submitted: str | None) -> bool:
        if not token or not submitted:
            return False
        return hmac.compare_digest(self.csrf_for(token), submitted)

    async def create(self, user: User, client_ip: str) -> str:
        """A new session for ``user``; returns the token for its cookie."""
        token = secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO dashboard_session (key, user_id, expires_at, client_ip)"
            " VALUES ($1, $2, $3, $4)",
            self._mac(b"session:", token),
            user.id,
            datetime.now(UTC) + self.max_age,
            client_ip,
        )
        return token

    async def load(self, token: str | None) -> Session | None:
        """The session of ``token``, or None when it is unknown, expired, idle or its user
        was deactivated."""
        if not token or len(token) > 128:
            return None
        key = self._mac(b"session:", token)
        now = datetime.now(UTC)
        row = await self.pool.fetchrow(
            """
            SELECT s.last_seen_at, s.expires_at,
                   u.id, u.username, u.display_name, u.role, u.active, u.created_at
            FROM dashboard_session s JOIN dashboard_user u ON u.id = s.user_id
            WHERE s.key = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active
            """,
            key,
            now,
            now - self.idle,
        )
        if row is None:
            return None
        if now - row["last_seen_at"] > TOUCH_EVERY:
            await self.pool.execute(
                "UPDATE dashboard_session SET last_seen_at = $2 WHERE key = $1", key, now
            )
        return Session(
            user=User.from_record(row),
            csrf_token=self.csrf_for(token),
            expires_at=row["expires_at"],
        )

    async def end(self, token: str | None) -> None:
        if token:
            await self.pool.execute(
                "DELETE FROM dashboard_session WHERE key = $1", self._mac(b"session:", token)
            )

    async def prune(self) -> int:
        """Remove expired and idle sessions; return how many went."""
        now = datetime.now(UTC)
        result: str = await self.pool.execute(
            "DELETE FROM dashboard_session WHERE expires_at <= $1 OR last_seen_at <= $2",
            now,
            now - self.idle,
        )
        return int(result.split()[-1])
