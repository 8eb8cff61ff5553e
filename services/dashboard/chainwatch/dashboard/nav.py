"""The pages in the navigation bar, in order, and who sees each one.

A page appears here only once its route exists, so the bar never links to a 404. Entries
come in two groups: the analysts' work (alerts, audit) and operations (the live feed,
models, drift, and the panels of the fees, Lightning and onboarding services, whose
router is ``routes.panels``).
"""

from __future__ import annotations

from dataclasses import dataclass

from chainwatch.dashboard.auth.users import Role


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation bar: its label, the route it opens, the least role to see it."""

    label: str
    route: str
    group: str
    role: Role = Role.ANALYST


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Alerts", "alerts_page", "review"),
    NavItem("Audit", "audit_page", "review"),
    NavItem("Live feed", "feed_page", "operations"),
    NavItem("Models", "models_page", "operations"),
    NavItem("Drift", "drift_page", "operations"),
    NavItem("Fees", "fees_page", "operations"),
    NavItem("Lightning", "lightning_page", "operations"),
    NavItem("Onboarding", "onboarding_page", "operations"),
    NavItem("Users", "users_page", "admin", Role.ADMIN),
)
