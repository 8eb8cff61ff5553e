"""Who may do what to a case: pure functions of the case's state and the user's role.

Each check raises ``ForbiddenError`` (the role may not) or ``ConflictError`` (the case's
state refuses it), with a message fit to show.
"""

from __future__ import annotations

from enum import StrEnum

from chainwatch.dashboard.auth.users import Role, User
from chainwatch.dashboard.errors import ConflictError, ForbiddenError
from chainwatch.shared.verdicts import REASON_CODES, ReasonCode, Verdict


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_REVIEW = "in_review"
    ESCALATED = "escalated"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def status_after(verdict: Verdict) -> CaseStatus:
    return CaseStatus.ESCALATED if verdict is Verdict.ESCALATE else CaseStatus.CLOSED


def check_verdict(status: CaseStatus, role: Role, verdict: Verdict, reason: ReasonCode) -> None:
    """May a user of ``role`` record ``verdict`` for ``reason`` on a case in ``status``?"""
    if reason not in REASON_CODES[verdict]:
        raise ConflictError(f"reason {reason.value!r} does not go with {verdict.value}")
    if status is CaseStatus.ESCALATED:
        if not role.at_least(Role.SUPERVISOR):
            raise ForbiddenError("only a supervisor may close an escalated case", "supervisor")
        if verdict is Verdict.ESCALATE:
            raise ConflictError("the case is already escalated")
    if status is CaseStatus.CLOSED and not role.at_least(Role.SUPERVISOR):
        raise ForbiddenError("the case is closed; only a supervisor may change its verdict")


def check_assign(actor: User, current: str | None, new: str | None) -> None:
    """May ``actor`` move a case from assignee ``current`` to ``new`` (None: nobody)?

    Analysts take unassigned cases for themselves and give back their own; supervisors
    assign anyone to anything.
    """
    if actor.role.at_least(Role.SUPERVISOR):
        return
    if new is not None and new != actor.username:
        raise ForbiddenError("only a supervisor may assign a case to someone else", "supervisor")
    if current is not None and current != actor.username:
        raise ForbiddenError(f"the case is {current}'s; ask a supervisor to reassign it")
