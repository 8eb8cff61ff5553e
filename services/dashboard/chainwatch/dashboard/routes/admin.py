"""User management, for admins only: create users, change roles, deactivate, set passwords."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from chainwatch.dashboard.auth.passwords import PasswordPolicyError
from chainwatch.dashboard.auth.users import Role, create_user, list_users, update_user
from chainwatch.dashboard.deps import AdminDep, FormDep, ResourcesDep
from chainwatch.dashboard.errors import UserError
from chainwatch.dashboard.templating import templates

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@router.get("/admin/users", name="users_page", response_class=HTMLResponse)
async def users_page(request: Request, resources: ResourcesDep, session: AdminDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "users.html",
        {
            "active_route": "users_page",
            "users": await list_users(resources.pool),
            "roles": list(Role),
            "saved": request.query_params.get("saved", ""),
        },
    )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"no role {value!r}") from None


@router.post("/admin/users", name="user_create")
async def user_create(resources: ResourcesDep, session: AdminDep, form: FormDep) -> Response:
    try:
        user = await create_user(
            resources.pool,
            form.get("username", ""),
            form.get("password", ""),
            _role(form.get("role", "")),
            actor=session.user.username,
            display_name=form.get("display_name", "")[:100],
        )
    except PasswordPolicyError as exc:
        raise UserError(str(exc)) from None
    logger.info("%s created user %s (%s)", session.user.username, user.username, user.role)
    return RedirectResponse("/admin/users?saved=created", status.HTTP_303_SEE_OTHER)


@router.post("/admin/users/{username}", name="user_update")
async def user_update(
    resources: ResourcesDep, session: AdminDep, form: FormDep, username: str
) -> Response:
    if username == session.user.username and form.get("active") == "0":
        raise UserError("you cannot deactivate yourself")
    try:
        await update_user(
            resources.pool,
            username,
            actor=session.user.username,
            role=_role(form["role"]) if form.get("role") else None,
            active={"1": True, "0": False}.get(form.get("active", "")),
            password=form.get("password") or None,
        )
    except PasswordPolicyError as exc:
        raise UserError(str(exc)) from None
    logger.info("%s changed user %s", session.user.username, username)
    return RedirectResponse("/admin/users?saved=updated", status.HTTP_303_SEE_OTHER)
