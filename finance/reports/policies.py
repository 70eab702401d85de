"""Who may see the financial reports and manage budgets: one answer for views, services and
menus (agency permissions, answered from the current agency's membership)."""

from __future__ import annotations

from finance.module import Perm


def can_see_reports(actor) -> bool:
    return actor.is_authenticated and actor.has_perm(Perm.REPORTS.perm)


def can_configure(actor) -> bool:
    """Budgets (set, revise) and the agency's finance settings (budget control)."""
    return actor.is_authenticated and actor.has_perm(Perm.CONFIGURE.perm)


def can_see_budgets(actor) -> bool:
    return can_configure(actor) or can_see_reports(actor)
