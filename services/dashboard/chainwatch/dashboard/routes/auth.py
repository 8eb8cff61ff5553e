"""Signing in and out, from the HTML form and from the JSON API.

A failed sign-in costs the same time whether or not the user exists (a dummy scrypt), is
counted by the throttle, and is logged with the address and, only for a real user, the
username: a password typed into the username field never reaches a log.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from chainwatch.dashboard.auth.passwords import dummy_verify, verify_password
from chainwatch.dashboard.auth.sessions import LOGIN_COOKIE, SESSION_COOKIE
from chainwatch.dashboard.auth.users import Role, User, find_for_login
from chainwatch.dashboard.deps import (
    CSRF_FIELD,
    OptionalSessionDep,
    Resources,
    ResourcesDep,
    SessionDep,
    check_origin,
    client_ip,
    read_form,
)
from chainwatch.dashboard.errors import CsrfError, LoginThrottled, SignInRequired
from chainwatch.dashboard.templating import templates

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

USERNAME_MAX = 64
LOGIN_FORM_TTL_S = 1800
HOME = "/alerts"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    return target


async def authenticate(resources: Resources, username: str, password: str, ip: str) -> User:
    """The user whose password this is; raises ``LoginThrottled`` or ``SignInRequired``."""
    username = username.strip().lower()[:USERNAME_MAX]
    await resources.throttle.check(username, ip)

    found = await find_for_login(resources.pool, username)
    if found is None:
        await asyncio.to_thread(dummy_verify, password)
        ok = False
    else:
        ok = await asyncio.to_thread(verify_password, password, found[1])
    if found is None or not ok:
        await resources.throttle.record_failure(username, ip)
        logger.warning(
            "failed sign-in for %s from %s", found[0].username if found else "an unknown user", ip
        )
        raise SignInRequired("wrong username or password")

    await resources.throttle.clear(username, ip)
    logger.info("%s signed in from %s", found[0].username, ip)
    return found[0]


def _set_session_cookie(response: Response, resources: Resources, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=resources.settings.session_max_age_s,
        path="/",
        secure=resources.settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _login_page(
    request: Request, resources: Resources, *, next_path: str, error: str = "", code: int = 200
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"csrf_token": resources.sessions.csrf_for(nonce), "next": next_path, "error": error},
        status_code=code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_FORM_TTL_S,
        path="/login",
        secure=resources.settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/login", name="login_page", response_class=HTMLResponse)
async def login_page(
    request: Request, resources: ResourcesDep, session: OptionalSessionDep, next: str = HOME
) -> Response:
    if session is not None:
        return RedirectResponse(safe_next(next), status.HTTP_303_SEE_OTHER)
    return _login_page(request, resources, next_path=safe_next(next))


@router.post("/login", name="login_submit")
async def login_submit(request: Request, resources: ResourcesDep) -> Response:
    check_origin(request)
    form = await read_form(request)
    next_path = safe_next(form.get("next"))
    if not resources.sessions.csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get(CSRF_FIELD)):
        raise CsrfError("the sign-in form expired; reload the page and try again")

    ip = client_ip(request)
    try:
        user = await authenticate(resources, form.get("username", ""), form.get("password", ""), ip)
    except LoginThrottled as exc:
        response = _login_page(
            request, resources, next_path=next_path, error=str(exc).capitalize() + ".", code=429
        )
        response.headers["retry-after"] = str(int(exc.retry_after_s) + 1)
        return response
    except SignInRequired:
        return _login_page(
            request, resources, next_path=next_path, error="Wrong username or password.", code=401
        )

    token = await resources.sessions.create(user, ip)
    redirect = RedirectResponse(next_path, status.HTTP_303_SEE_OTHER)
    _set_session_cookie(redirect, resources, token)
    redirect.delete_cookie(LOGIN_COOKIE, path="/login")
    return redirect


@router.post("/logout", name="logout")
async def logout(request: Request, resources: ResourcesDep, session: SessionDep) -> Response:
    check_origin(request)
    form = await read_form(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not resources.sessions.csrf_ok(token, form.get(CSRF_FIELD)):
        raise CsrfError("the form is missing its CSRF token; reload the page")
    await resources.sessions.end(token)
    logger.info("%s signed out", session.user.username)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class Credentials(BaseModel):
    username: str = Field(max_length=USERNAME_MAX)
    password: str = Field(max_length=1024)


class SignedIn(BaseModel):
    """The signed-in user, and the token every mutation must send as ``X-CSRF-Token``."""

    username: str
    role: Role
    csrf_token: str


@api_router.post(
    "/login",
    name="api_login",
    summary="Sign in",
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Throttled"}},
)
async def api_login(
    request: Request,
    response: Response,
    resources: ResourcesDep,
    credentials: Annotated[Credentials, Body()],
) -> SignedIn:
    """Sign in; the session cookie is set on the response (JSON bodies only, so no form on
    another site can send this request)."""
    check_origin(request)
    ip = client_ip(request)
    user = await authenticate(resources, credentials.username, credentials.password, ip)
    token = await resources.sessions.create(user, ip)
    _set_session_cookie(response, resources, token)
    return SignedIn(
        username=user.username, role=user.role, csrf_token=resources.sessions.csrf_for(token)
    )


@api_router.get("/me", name="api_me", summary="Who is signed in")
async def api_me(request: Request, resources: ResourcesDep, session: SessionDep) -> SignedIn:
    """Who is signed in, with the session's CSRF token."""
    return SignedIn(
        username=session.user.username, role=session.user.role, csrf_token=session.csrf_token
    )
