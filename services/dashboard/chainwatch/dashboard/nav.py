"""The pages in the navigation bar, in order.

A page appears here only once its route exists, so the bar never links to a 404. The
later pages (alerts, cases, audit, models, drift, fees, Lightning, onboarding) add an entry
each, next to their router.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation bar: its label and the name of the route it opens."""

    label: str
    route: str


NAV_ITEMS: tuple[NavItem, ...] = (NavItem("Live feed", "feed_page"),)
