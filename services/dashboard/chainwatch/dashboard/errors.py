"""Errors the dashboard raises on purpose, each answered with its own HTTP status.

The tree::

    DashboardError
    ├── UserError           the request cannot be done as asked (400); the message is for the user
    ├── SignInRequired      no valid session (401; pages redirect to the sign-in form)
    ├── NotFoundError       no such alert, case, user or page (404)
    ├── ForbiddenError      the signed-in role may not do this (403)
    ├── ConflictError       the case changed meanwhile or is in a state that refuses it (409)
    ├── CsrfError           a form or mutation without a valid CSRF token (403)
    └── LoginThrottled      too many failed sign-ins; try again after ``retry_after_s`` (429)

Messages are safe to show: they name the thing that failed, never a secret.
"""

from __future__ import annotations

from chainwatch.shared.errors import ChainwatchError


class DashboardError(ChainwatchError):
    """Base of the errors below; ``status_code`` is the HTTP answer."""

    status_code = 400


class UserError(DashboardError):
    status_code = 400


class SignInRequired(DashboardError):
    status_code = 401


class NotFoundError(DashboardError):
    status_code = 404


class ForbiddenError(DashboardError):
    """The role may not act; ``needed`` is the least role that may."""

    status_code = 403

    def __init__(self, message: str, needed: str | None = None) -> None:
        super().__init__(message)
        self.needed = needed


class ConflictError(DashboardError):
    status_code = 409


class CsrfError(DashboardError):
    status_code = 403


class LoginThrottled(DashboardError):
    status_code = 429

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s
