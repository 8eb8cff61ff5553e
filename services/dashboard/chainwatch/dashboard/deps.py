"""What a request handler may use: the app's resources, the signed-in session, a checked form.

Resources are opened once by the app's lifespan and kept on app state. A handler that
needs a user declares ``SessionDep`` (any role) or ``SupervisorDep`` / ``AdminDep``; a
handler that changes anything declares ``FormDep`` (an HTML form) or ``CsrfDep`` (a JSON
mutation), which refuse a request without the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from fastapi import Depends, Request
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from starlette.requests import HTTPConnection

from chainwatch.dashboard.auth.sessions import SESSION_COOKIE, Session, SessionStore
from chainwatch.dashboard.auth.throttle import LoginThrottle
from chainwatch.dashboard.auth.users import Role
from chainwatch.dashboard.errors import CsrfError, ForbiddenError, SignInRequired, UserError
from chainwatch.dashboard.feed import FeedHub
from chainwatch.dashboard.settings import DashboardSettings

if TYPE_CHECKING:
    from chainwatch.dashboard.cases.archive import TransactionArchive
    from chainwatch.dashboard.cases.outbox import VerdictOutbox
    from chainwatch.dashboard.relay import DecisionRelay

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FORM_MAX_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Resources:
    """The open connections, stores and background workers of one running app."""

    settings: DashboardSettings
    pool: asyncpg.Pool
    nc: NATS
    js: JetStreamContext
    hub: FeedHub
    relay: DecisionRelay
    sessions: SessionStore
    throttle: LoginThrottle
    outbox: VerdictOutbox
    archive: TransactionArchive


def get_resources(conn: HTTPConnection) -> Resources:
    """The app's resources, for an HTTP request or a websocket alike."""
    resources: Resources = conn.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def current_session(conn: HTTPConnection) -> Session | None:
    """The session of the request's cookie, or None; looked up once per request."""
    if "session" not in conn.scope.setdefault("state", {}):
        sessions = get_resources(conn).sessions
        conn.state.session = await sessions.load(conn.cookies.get(SESSION_COOKIE))
    session: Session | None = conn.state.session
    return session


async def require_session(conn: HTTPConnection) -> Session:
    session = await current_session(conn)
    if session is None:
        raise SignInRequired("sign in first")
    return session


def require_role(role: Role) -> Callable[[HTTPConnection], Awaitable[Session]]:
    """A dependency that lets through users of ``role`` or higher, and refuses the rest."""

    async def check(conn: HTTPConnection) -> Session:
        session = await require_session(conn)
        if not session.user.role.at_least(role):
            raise ForbiddenError(f"only a {role.value} may do this", needed=role.value)
        return session

    return check


OptionalSessionDep = Annotated[Session | None, Depends(current_session)]
SessionDep = Annotated[Session, Depends(require_session)]
SupervisorDep = Annotated[Session, Depends(require_role(Role.SUPERVISOR))]
AdminDep = Annotated[Session, Depends(require_role(Role.ADMIN))]


def check_origin(request: Request) -> None:
    """Refuse a state-changing request whose ``Origin`` names another site."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfError("the request came from another site")


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form body (the only kind the pages send), size-capped."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        raise UserError(f"expected a form ({FORM_TYPE})")
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise UserError("the form is too large")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


async def checked_form(request: Request, session: SessionDep) -> dict[str, str]:
    """The form of a signed-in user's POST, refused without the session's CSRF token."""
    check_origin(request)
    form = await read_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not get_resources(request).sessions.csrf_ok(token, form.get(CSRF_FIELD)):
        raise CsrfError("the form is missing its CSRF token or it has expired; reload the page")
    return form


async def checked_mutation(request: Request, session: SessionDep) -> Session:
    """A signed-in user's JSON mutation, refused without the ``X-CSRF-Token`` header."""
    check_origin(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not get_resources(request).sessions.csrf_ok(token, request.headers.get(CSRF_HEADER)):
        raise CsrfError(f"missing or wrong {CSRF_HEADER} header")
    return session


FormDep = Annotated[dict[str, str], Depends(checked_form)]
CsrfDep = Annotated[Session, Depends(checked_mutation)]


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"
