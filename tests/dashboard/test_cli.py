"""``chainwatch-dashboard create-admin`` and ``set-password``: the first admin, and no default."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import asyncpg

from chainwatch.dashboard.auth.passwords import verify_password


async def _cli(database_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CHAINWATCH_DATABASE_URL": database_url}
    env.pop("CHAINWATCH_DASHBOARD_ADMIN_PASSWORD", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chainwatch.dashboard", *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _hash(database_url: str, username: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        value: str | None = await conn.fetchval(
            "SELECT password_hash FROM dashboard_user WHERE username = $1", username
        )
        return value
    finally:
        await conn.close()


async def test_the_first_admin_is_made_with_a_generated_password_shown_once(
    fresh_database_url: str,
) -> None:
    code, out, _ = await _cli(
        fresh_database_url, "create-admin", "admin", "--generate", "--if-no-users"
    )
    again, second, _ = await _cli(
        fresh_database_url, "create-admin", "admin", "--generate", "--if-no-users"
    )

    assert code == 0 and again == 0
    match = re.fullmatch(r"dashboard admin created: user admin, password (\S+)\n", out)
    assert match is not None
    stored = await _hash(fresh_database_url, "admin")
    assert stored is not None and stored.startswith("scrypt$")
    assert verify_password(match.group(1), stored)
    assert "exist already" in second and match.group(1) not in second


async def test_a_password_from_stdin_is_never_echoed_and_short_ones_are_refused(
    fresh_database_url: str,
) -> None:
    short, _, error = await _cli(
        fresh_database_url, "create-admin", "root", "--password-stdin", stdin="hunter2\n"
    )
    code, out, _ = await _cli(
        fresh_database_url,
        "create-admin",
        "root",
        "--password-stdin",
        stdin="a sturdy passphrase\n",
    )
    reset, reset_out, _ = await _cli(
        fresh_database_url, "set-password", "root", "--password-stdin", stdin="another passphrase\n"
    )
    missing, _, missing_error = await _cli(
        fresh_database_url, "set-password", "nobody", "--password-stdin", stdin="x" * 20 + "\n"
    )

    assert short == 2 and "at least 12" in error
    assert code == 0 and "sturdy" not in out
    assert reset == 0 and "another" not in reset_out
    stored = await _hash(fresh_database_url, "root")
    assert stored is not None and verify_password("another passphrase", stored)
    assert missing == 2 and "no user" in missing_error
