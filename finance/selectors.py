"""Reads of finance used by the views: each scoped to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from accounts.models import User
from finance import policies
from finance.models import (
    Account,
    FiscalYear,
    OpeningBalance,
    Period,
    Voucher,
    VoucherAttachment,
    VoucherLine,
)

PAGE_SIZE = 25


@dataclass(frozen=True)
class VoucherFilters:
    type: str = ""
    status: str = ""
    period: int | None = None
    department: int | None = None


def vouchers_visible(user: User) -> QuerySet[Voucher]:
    """The vouchers ``user`` may see: every one with review, approval, reports or
    configuration; else their own."""
    rows = Voucher.objects.all()
    if not policies.sees_all_vouchers(user):
        rows = rows.filter(maker_id=user.pk)
    return rows


def voucher_list(*, user: User, filters: VoucherFilters, page: int | str = 1) -> Page:
    """A page of the vouchers ``user`` may see, newest first, filtered; each with its type,
    fiscal year, period, department and maker loaded (a fixed number of queries)."""
    rows = vouchers_visible(user).select_related("fiscal_year", "period", "department", "maker")
    if filters.type:
        rows = rows.filter(type=filters.type)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.period:
        rows = rows.filter(period_id=filters.period)
    if filters.department:
        rows = rows.filter(department_id=filters.department)
    return Paginator(rows.order_by("-date", "-id"), PAGE_SIZE).get_page(page)


def voucher_detail(*, user: User, voucher_id: int) -> Voucher | None:
    """The voucher with its lines (accounts, cost centres) and attachments, if ``user`` may
    see it (None otherwise: the view answers 404)."""
    return (
        vouchers_visible(user)
        .select_related("fiscal_year", "period", "department", "maker", "reverses")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=VoucherLine.objects.select_related("account", "department").order_by(
                    "position"
                ),
            ),
            Prefetch("attachments", queryset=VoucherAttachment.objects.order_by("id")),
            Prefetch("reversals", queryset=Voucher.objects.order_by("id")),
        )
        .filter(pk=voucher_id)
        .first()
    )


def voucher_totals(voucher: Voucher) -> tuple[Decimal, Decimal]:
    """Debits and credits of the voucher's (prefetched) lines."""
    lines = list(voucher.lines.all())
    return (
        sum((line.debit for line in lines), Decimal("0.00")),
        sum((line.credit for line in lines), Decimal("0.00")),
    )


def postable_accounts() -> QuerySet[Account]:
    return Account.objects.filter(is_active=True, is_postable=True).order_by("code")


def account_tree() -> list[tuple[Account, int]]:
    """Every account of the chart with its depth, in tree order (one query)."""
    accounts = list(Account.objects.order_by("code"))
    children: dict[int | None, list[Account]] = {}
    for account in accounts:
        children.setdefault(account.parent_id, []).append(account)
    ordered: list[tuple[Account, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for account in children.get(parent_id, []):
            ordered.append((account, depth))
            walk(account.pk, depth + 1)

    walk(None, 0)
    return ordered


def fiscal_years() -> QuerySet[FiscalYear]:
    return FiscalYear.objects.prefetch_related(
        Prefetch("periods", queryset=Period.objects.select_related("closed_by").order_by("number"))
    ).order_by("-start")


def periods_all() -> QuerySet[Period]:
    return Period.objects.select_related("fiscal_year").order_by("-start")


def opening_balances(fiscal_year: FiscalYear) -> QuerySet[OpeningBalance]:
    return (
        OpeningBalance.objects.filter(fiscal_year=fiscal_year)
        .select_related("account", "department")
        .order_by("account__code", "department_id")
    )
