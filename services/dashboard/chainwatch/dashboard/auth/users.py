"""Dashboard users: their roles, and the queries that create, find and change them.

Every change to a user is written to ``dashboard_user_event`` with who made it, in the
same transaction as the change.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg

from chainwatch.dashboard.auth.passwords import check_policy, hash_password
from chainwatch.dashboard.errors import NotFoundError, UserError

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")


class Role(StrEnum):
    """What a user may do; each role may do all that the roles before it may."""

    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class User:
    """A user as the pages see it; the password hash never leaves this module's queries."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @classmethod
    def from_record(cls, row: Mapping[str, Any]) -> User:
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            role=Role(row["role"]),
            active=row["active"],
            created_at=row["created_at"],
        )


def check_username(username: str) -> str:
    """``username`` in lower case; raises ``UserError`` unless it is 2–63 plain characters."""
    username = username.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise UserError("a username is 2 to 63 of a-z, 0-9, '.', '_' and '-'")
    return username


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    password: str,
    role: Role,
    *,
    actor: str,
    display_name: str = "",
    password_hash: str | None = None,
) -> User:
    """Create a user; raises ``UserError`` for a taken name or a password the policy refuses.

    ``password_hash`` skips hashing (tests store cheaper hashes); ``password`` is then unused.
    """
    username = check_username(username)
    if password_hash is None:
        check_policy(password)
        password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        try:
            row = await conn.fetchrow(
                "INSERT INTO dashboard_user (username, display_name, role, password_hash)"
                " VALUES ($1, $2, $3, $4)"
                " RETURNING id, username, display_name, role, active, created_at",
                username,
                display_name.strip(),
                role.value,
                password_hash,
            )
        except asyncpg.UniqueViolationError:
            raise UserError(f"the username {username!r} is taken") from None
        await _event(conn, username, "created", actor, {"role": role.value})
    assert row is not None
    return User.from_record(row)


async def find_for_login(pool: asyncpg.Pool, username: str) -> tuple[User, str] | None:
    """The active user named ``username`` with its password hash, or None."""
    row = await pool.fetchrow(
        "SELECT id, username, display_name, role, active, created_at, password_hash"
        " FROM dashboard_user WHERE username = $1 AND active",
        username.strip().lower(),
    )
    if row is None:
        return None
    return User.from_record(row), row["password_hash"]


async def get_user(pool: asyncpg.Pool, username: str) -> User:
    row = await pool.fetchrow(
        "SELECT id, username, display_name, role, active, created_at"
        " FROM dashboard_user WHERE username = $1",
        username,
    )
    if row is None:
        raise NotFoundError(f"no user {username!r}")
    return User.from_record(row)


async def list_users(pool: asyncpg.Pool, *, active_only: bool = False) -> list[User]:
    rows = await pool.fetch(
        "SELECT id, username, display_name, role, active, created_at FROM dashboard_user"
        " WHERE active OR NOT $1 ORDER BY username",
        active_only,
    )
    return [User.from_record(row) for row in rows]


async def count_users(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM dashboard_user")
    return count


async def update_user(
    pool: asyncpg.Pool,
    username: str,
    *,
    actor: str,
    role: Role | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> User:
    """Change a user's role, active flag or password; its sessions end when any changes."""
    if password is not None:
        check_policy(password)
        password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, username, display_name, role, active, created_at"
            " FROM dashboard_user WHERE username = $1 FOR UPDATE",
            username,
        )
        if row is None:
            raise NotFoundError(f"no user {username!r}")
        changed = False
        if role is not None and role.value != row["role"]:
            changed = True
            await conn.execute(
                "UPDATE dashboard_user SET role = $2 WHERE id = $1", row["id"], role.value
            )
            await _event(conn, username, "role_changed", actor, {"role": role.value})
        if active is not None and active != row["active"]:
            changed = True
            await conn.execute(
                "UPDATE dashboard_user SET active = $2 WHERE id = $1", row["id"], active
            )
            await _event(conn, username, "activated" if active else "deactivated", actor, {})
        if password is not None:
            changed = True
            await conn.execute(
                "UPDATE dashboard_user SET password_hash = $2, password_changed_at = now()"
                " WHERE id = $1",
                row["id"],
                password_hash,
            )
            await _event(conn, username, "password_set", actor, {})
        if changed:
            await conn.execute("DELETE FROM dashboard_session WHERE user_id = $1", row["id"])
        updated = await conn.fetchrow(
            "SELECT id, username, display_name, role, active, created_at"
            " FROM dashboard_user WHERE id = $1",
            row["id"],
        )
    assert updated is not None
    return User.from_record(updated)


async def _event(
    conn: asyncpg.Connection, username: str, action: str, actor: str, detail: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO dashboard_user_event (username, action, actor, detail)"
        " VALUES ($1, $2, $3, $4)",
        username,
        action,
        actor,
        json.dumps(detail),
    )
