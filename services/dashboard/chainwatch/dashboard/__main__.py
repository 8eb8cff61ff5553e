"""``chainwatch-dashboard``: serve the dashboard, or manage its users from the command line.

    chainwatch-dashboard                      serve until SIGINT or SIGTERM
    chainwatch-dashboard create-admin NAME    create an admin (the first one, typically)
    chainwatch-dashboard set-password NAME    set a user's password (and end their sessions)

A password is read from ``--password-stdin`` (one line), from the environment variable
``CHAINWATCH_DASHBOARD_ADMIN_PASSWORD``, or from a prompt; ``--generate`` makes a random
one and prints it once. There is no default password.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import sys

from chainwatch.dashboard.auth.passwords import PasswordPolicyError, check_policy
from chainwatch.dashboard.auth.users import Role, count_users, create_user, update_user
from chainwatch.dashboard.errors import DashboardError
from chainwatch.shared import db
from chainwatch.shared.logs import configure_logging
from chainwatch.shared.settings import DatabaseSettings

logger = logging.getLogger("chainwatch.dashboard")

STARTUP_FAILED = 3
"""Exit status when the app could not start (NATS or the database stayed unreachable)."""
USAGE_FAILED = 2
PASSWORD_ENV = "CHAINWATCH_DASHBOARD_ADMIN_PASSWORD"  # noqa: S105 - a variable name


def generated_password() -> str:
    """A random password that a shell will not read as an option (no leading dash)."""
    while (password := secrets.token_urlsafe(18))[0] == "-":
        pass
    return password


def serve() -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and return."""
    # Imported here: the user commands need neither the web stack nor the bus.
    from chainwatch.dashboard.server import build_server
    from chainwatch.dashboard.settings import DashboardSettings

    settings = DashboardSettings()
    configure_logging("dashboard", settings.log.level, settings.log.format)

    server = build_server(settings)
    server.run_until_signalled()
    if not server.started:
        raise SystemExit(STARTUP_FAILED)
    logger.info("dashboard stopped")


def read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password, from stdin, the environment, generation or a prompt (in that order),
    and whether it was generated (and so must be shown once)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV], False
    if args.generate:
        return generated_password(), True
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SystemExit("the passwords differ")
    return first, False


async def manage(args: argparse.Namespace) -> str:
    """Run a user command; return what to tell the operator."""
    pool = await db.create_pool(DatabaseSettings(pool_min_size=1, pool_max_size=2))
    try:
        await db.migrate(pool)
        if args.command == "create-admin":
            if args.if_no_users and await count_users(pool) > 0:
                return (
                    "dashboard users exist already; sign in with yours "
                    "(a new admin password: make dashboard-password, while this runs)"
                )
            password, generated = read_password(args)
            check_policy(password)
            user = await create_user(pool, args.username, password, Role.ADMIN, actor="cli")
            shown = f", password {password}" if generated else ""
            return f"dashboard admin created: user {user.username}{shown}"
        password, generated = read_password(args)
        user = await update_user(pool, args.username, actor="cli", password=password)
        shown = f": {password}" if generated else ""
        return f"password of {user.username} set{shown}; their sessions have ended"
    finally:
        await pool.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chainwatch-dashboard", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the dashboard (the default)")
    for name, text in (
        ("create-admin", "create an admin user"),
        ("set-password", "set a user's password; ends their sessions"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("username")
        command.add_argument("--password-stdin", action="store_true", help="read it from stdin")
        command.add_argument("--generate", action="store_true", help="make one and print it once")
        if name == "create-admin":
            command.add_argument(
                "--if-no-users", action="store_true", help="do nothing when any user exists"
            )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command in (None, "serve"):
        serve()
        return

    configure_logging("dashboard", os.environ.get("CHAINWATCH_LOG_LEVEL", "WARNING"))
    try:
        message = asyncio.run(manage(args))
    except (DashboardError, PasswordPolicyError) as exc:
        sys.stderr.write(f"chainwatch-dashboard: {exc}\n")
        raise SystemExit(USAGE_FAILED) from None
    sys.stdout.write(message + "\n")


if __name__ == "__main__":
    main()
