"""The reads behind the financial reports (R-43). Every figure is summed by PostgreSQL
(``SUM(...) FILTER (WHERE ...)`` grouped by account, department, period...); Python only walks
the chart of accounts (hundreds of rows) and the aggregated rows. Each selector runs a fixed
number of queries whatever the size of the ledger (asserted in tests/finance/test_reports*).

Balances are "debit minus credit": positive is a debit balance, negative a credit balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language

from finance.constants import AccountKind, VoucherStatus
from finance.models import BudgetLine, LedgerLine, OpeningBalance, Voucher, VoucherLine
from finance.reports.scope import ZERO, Chart, ReportScope

LINES_PER_PAGE = 100
ROWS_PER_PAGE = 50
_AMOUNT = DecimalField(max_digits=16, decimal_places=2)


def _sum(name: str, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(name, filter=condition), Value(ZERO), output_field=_AMOUNT)


def _ledger(scope: ReportScope, chart: Chart | None = None) -> QuerySet[LedgerLine]:
    """The scope's ledger lines of the fiscal year up to its end (the lines before its start
    make the opening of the range)."""
    lines = LedgerLine.objects.filter(fiscal_year=scope.fiscal_year, date__lte=scope.end)
    if scope.department is not None:
        lines = lines.filter(department=scope.department)
    if scope.account is not None and chart is not None:
        lines = lines.filter(account_id__in=chart.subtree(scope.account.pk))
    return lines


def _openings(scope: ReportScope, account_ids: Sequence[int] | None) -> dict[int, Decimal]:
    """Per account: the fiscal year's opening balance plus the year's lines before the
    scope's start (two grouped queries)."""
    entered = OpeningBalance.objects.filter(fiscal_year=scope.fiscal_year)
    before = LedgerLine.objects.filter(fiscal_year=scope.fiscal_year, date__lt=scope.start)
    if scope.department is not None:
        entered = entered.filter(department=scope.department)
        before = before.filter(department=scope.department)
    if account_ids is not None:
        entered = entered.filter(account_id__in=account_ids)
        before = before.filter(account_id__in=account_ids)
    result: dict[int, Decimal] = {}
    for rows in (entered, before):
        grouped = (
            rows.order_by()
            .values("account_id")
            .annotate(balance=_sum("debit") - _sum("credit"))
            .values_list("account_id", "balance")
        )
        for account_id, balance in grouped:
            result[account_id] = result.get(account_id, ZERO) + balance
    return result


# --- vouchers by period, department, account, type and status -------------------------------

VOUCHER_GROUPINGS = ("period", "department", "account", "type", "status")


@dataclass
class VoucherGroup:
    key: object
    label: str
    count: int
    amount: Decimal
    posted_count: int = 0
    posted_amount: Decimal = ZERO
    # Grouped by account: the lines' sides instead of the vouchers' totals.
    debit: Decimal = ZERO
    credit: Decimal = ZERO


@dataclass
class VoucherSummary:
    by: str
    groups: list[VoucherGroup]
    count: int
    amount: Decimal
    posted_count: int
    posted_amount: Decimal
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def vouchers_summary(*, scope: ReportScope, by: str) -> VoucherSummary:
    """Vouchers of the range (every status) counted and summed by period, department,
    account, type or status; by account, the lines' debits and credits on each account."""
    if by not in VOUCHER_GROUPINGS:
        raise ValueError(by)
    chart = Chart.load() if by == "account" or scope.account is not None else None
    vouchers = Voucher.objects.filter(
        fiscal_year=scope.fiscal_year, date__gte=scope.start, date__lte=scope.end
    )
    if scope.department is not None:
        vouchers = vouchers.filter(department=scope.department)
    account_ids = chart.subtree(scope.account.pk) if scope.account is not None else None
    if by == "account":
        lines = VoucherLine.objects.filter(voucher__in=vouchers)
        if account_ids is not None:
            lines = lines.filter(account_id__in=account_ids)
        posted = Q(voucher__status=VoucherStatus.POSTED)
        rows = (
            lines.order_by()
            .values("account_id")
            .annotate(
                count=Count("voucher_id", distinct=True),
                sum_debit=_sum("debit"),
                sum_credit=_sum("credit"),
                posted_count=Count("voucher_id", filter=posted, distinct=True),
                posted_amount=_sum("debit", posted),
            )
        )
        groups = []
        for row in rows:
            node = chart.nodes[row["account_id"]]
            groups.append(
                VoucherGroup(
                    key=node.code,
                    label=f"{node.code} · {node.name}",
                    count=row["count"],
                    amount=row["sum_debit"],
                    posted_count=row["posted_count"],
                    posted_amount=row["posted_amount"],
                    debit=row["sum_debit"],
                    credit=row["sum_credit"],
                )
            )
        groups.sort(key=lambda g: g.key)
        return VoucherSummary(
            by=by,
            groups=groups,
            count=sum(g.count for g in groups),
            amount=sum((g.amount for g in groups), ZERO),
            posted_count=sum(g.posted_count for g in groups),
            posted_amount=sum((g.posted_amount for g in groups), ZERO),
            debit=sum((g.debit for g in groups), ZERO),
            credit=sum((g.credit for g in groups), ZERO),
        )
    if account_ids is not None:
        vouchers = vouchers.filter(
            Exists(VoucherLine.objects.filter(voucher=OuterRef("pk"), account_id__in=account_ids))
        )
    keys = {
        "period": ("period__number", "period__start"),
        "department": ("department_id", "department__name_ar", "department__name_en"),
        "type": ("type",),
        "status": ("status",),
    }[by]
    posted = Q(status=VoucherStatus.POSTED)
    rows = (
        vouchers.order_by()
        .values(*keys)
        .annotate(
            count=Count("id"),
            amount=_sum("total"),
            posted_count=Count("id", filter=posted),
            posted_amount=_sum("total", posted),
        )
    )
    groups = [
        VoucherGroup(
            key=row[keys[0]],
            label=_group_label(by, row),
            count=row["count"],
            amount=row["amount"],
            posted_count=row["posted_count"],
            posted_amount=row["posted_amount"],
        )
        for row in rows
    ]
    groups.sort(key=lambda g: g.label if by == "department" else str(g.key))
    if by == "period":
        groups.sort(key=lambda g: g.key)
    return VoucherSummary(
        by=by,
        groups=groups,
        count=sum(g.count for g in groups),
        amount=sum((g.amount for g in groups), ZERO),
        posted_count=sum(g.posted_count for g in groups),
        posted_amount=sum((g.posted_amount for g in groups), ZERO),
    )


def _group_label(by: str, row: dict) -> str:
    from django.utils.translation import get_language

    from finance.constants import VoucherType

    if by == "period":
        return f"{row['period__number']:02d} ({row['period__start']:%Y-%m})"
    if by == "department":
        return row["department__name_en" if get_language() == "en" else "department__name_ar"]
    if by == "type":
        return str(VoucherType(row["type"]).label)
    return str(VoucherStatus(row["status"]).label)


# --- account statement and general ledger ----------------------------------------------------


@dataclass
class Statement:
    account_ids: list[int]
    opening: Decimal
    debit: Decimal
    credit: Decimal
    closing: Decimal
    page: Page


def _with_running(lines: QuerySet[LedgerLine], *, partition: bool) -> QuerySet[LedgerLine]:
    """Each line with the sum of debit minus credit up to it (a window function over the
    range, computed before LIMIT/OFFSET: a page's running balance counts the pages before)."""
    return lines.annotate(
        running=Window(
            Sum(F("debit") - F("credit")),
            partition_by=[F("account_id")] if partition else None,
            order_by=[F("date").asc(), F("entry_number").asc(), F("id").asc()],
        )
    )


def account_statement(*, scope: ReportScope, page_number: object = 1) -> Statement:
    """The account's (and the accounts under it) lines in the range with the opening balance
    and a running balance on each line; five queries."""
    if scope.account is None:
        raise ValueError("an account statement needs an account")
    chart = Chart.load()
    ids = chart.subtree(scope.account.pk)
    opening = sum(_openings(scope, ids).values(), ZERO)
    in_range = _ledger(scope, chart).filter(date__gte=scope.start)
    totals = in_range.order_by().aggregate(sum_debit=_sum("debit"), sum_credit=_sum("credit"))
    lines = (
        _with_running(in_range, partition=False)
        .select_related("voucher", "department", "account")
        .order_by("date", "entry_number", "id")
    )
    page = Paginator(lines, LINES_PER_PAGE).get_page(page_number)
    for line in page.object_list:  # the page's lines only (at most LINES_PER_PAGE)
        line.balance = opening + line.running
    return Statement(
        account_ids=ids,
        opening=opening,
        debit=totals["sum_debit"],
        credit=totals["sum_credit"],
        closing=opening + totals["sum_debit"] - totals["sum_credit"],
        page=page,
    )


def statement_lines(*, scope: ReportScope, limit: int) -> tuple[Decimal, list[LedgerLine]]:
    """For exports: the opening and the first ``limit`` lines with their running balance."""
    chart = Chart.load()
    ids = chart.subtree(scope.account.pk)
    opening = sum(_openings(scope, ids).values(), ZERO)
    lines = list(
        _with_running(_ledger(scope, chart).filter(date__gte=scope.start), partition=False)
        .select_related("voucher", "department", "account")
        .order_by("date", "entry_number", "id")[:limit]
    )
    for line in lines:
        line.balance = opening + line.running
    return opening, lines


@dataclass
class LedgerAccount:
    account: object
    opening: Decimal
    debit: Decimal
    credit: Decimal
    closing: Decimal
    lines: list = field(default_factory=list)


def general_ledger(
    *, scope: ReportScope, page_number: object = 1, limit: int | None = None
) -> tuple[Page | None, list[LedgerAccount]]:
    """The range's lines account by account (by code), each account with its opening, its
    lines with a running balance, its totals. A page holds LINES_PER_PAGE lines (an account
    may continue on the next page); ``limit`` instead gives the first lines for an export.
    Seven queries.

    No window function here: over the whole ledger it would number every line of the year
    before the page is cut. Only the page's first account can have lines on earlier pages;
    their sum is one query, and the page's running balances follow from it."""
    chart = Chart.load()
    in_range = _ledger(scope, chart).filter(date__gte=scope.start)
    lines = in_range.select_related("voucher", "department").order_by(
        "account__code", "date", "entry_number", "id"
    )
    if limit is None:
        page = Paginator(lines, LINES_PER_PAGE).get_page(page_number)
        shown = list(page.object_list)
    else:
        page, shown = None, list(lines[:limit])
    ids = sorted({line.account_id for line in shown})
    openings = _openings(scope, ids)
    totals = {
        row["account_id"]: row
        for row in in_range.filter(account_id__in=ids)
        .order_by()
        .values("account_id")
        .annotate(sum_debit=_sum("debit"), sum_credit=_sum("credit"))
    }
    carried = ZERO
    if shown:
        first = shown[0]
        earlier = in_range.filter(account_id=first.account_id).filter(
            Q(date__lt=first.date)
            | Q(date=first.date, entry_number__lt=first.entry_number)
            | Q(date=first.date, entry_number=first.entry_number, id__lt=first.id)
        )
        found = earlier.order_by().aggregate(balance=_sum("debit") - _sum("credit"))
        carried = found["balance"]
    accounts: dict[int, LedgerAccount] = {}
    running = ZERO
    for line in shown:  # the page's lines only
        entry = accounts.get(line.account_id)
        if entry is None:
            opening = openings.get(line.account_id, ZERO)
            total = totals.get(line.account_id, {"sum_debit": ZERO, "sum_credit": ZERO})
            entry = accounts[line.account_id] = LedgerAccount(
                account=chart.nodes[line.account_id],
                opening=opening,
                debit=total["sum_debit"],
                credit=total["sum_credit"],
                closing=opening + total["sum_debit"] - total["sum_credit"],
            )
            running = opening + (carried if line is shown[0] else ZERO)
        running += line.debit - line.credit
        line.balance = running
        entry.lines.append(line)
    return page, list(accounts.values())


# --- trial balance ---------------------------------------------------------------------------


@dataclass
class TrialRow:
    account: object
    depth: int
    opening: Decimal = ZERO
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @property
    def opening_debit(self) -> Decimal:
        return self.opening if self.opening > 0 else ZERO

    @property
    def opening_credit(self) -> Decimal:
        return -self.opening if self.opening < 0 else ZERO

    @property
    def closing_debit(self) -> Decimal:
        return self.closing if self.closing > 0 else ZERO

    @property
    def closing_credit(self) -> Decimal:
        return -self.closing if self.closing < 0 else ZERO

    @property
    def is_zero(self) -> bool:
        return not (self.opening or self.debit or self.credit)


@dataclass
class TrialBalance:
    rows: list[TrialRow]
    totals: TrialRow

    @property
    def balances(self) -> bool:
        t = self.totals
        return (
            t.debit == t.credit
            and sum((r.opening_debit for r in self.leaves), ZERO)
            == sum((r.opening_credit for r in self.leaves), ZERO)
            and sum((r.closing_debit for r in self.leaves), ZERO)
            == sum((r.closing_credit for r in self.leaves), ZERO)
        )

    @property
    def leaves(self) -> list[TrialRow]:
        return [r for r in self.rows if r.account.is_postable]

    @property
    def opening_debit(self) -> Decimal:
        return sum((r.opening_debit for r in self.leaves), ZERO)

    @property
    def opening_credit(self) -> Decimal:
        return sum((r.opening_credit for r in self.leaves), ZERO)

    @property
    def closing_debit(self) -> Decimal:
        return sum((r.closing_debit for r in self.leaves), ZERO)

    @property
    def closing_credit(self) -> Decimal:
        return sum((r.closing_credit for r in self.leaves), ZERO)


def trial_balance(*, scope: ReportScope, with_zero: bool = False) -> TrialBalance:
    """Per account of the chart: opening balance at the range's start, the range's debits and
    credits, the closing balance; a parent account carries the sum of the accounts under it.
    Totals are over the postable accounts (each line counted once). Three queries: the chart,
    the opening balances, one pass over the year's lines up to the range's end."""
    chart = Chart.load()
    lines = _ledger(scope, chart)
    before = Q(date__lt=scope.start)
    grouped = (
        lines.order_by()
        .values("account_id")
        .annotate(
            before=_sum("debit", before) - _sum("credit", before),
            sum_debit=_sum("debit", ~before),
            sum_credit=_sum("credit", ~before),
        )
        .values_list("account_id", "before", "sum_debit", "sum_credit")
    )
    entered = OpeningBalance.objects.filter(fiscal_year=scope.fiscal_year)
    if scope.department is not None:
        entered = entered.filter(department=scope.department)
    if scope.account is not None:
        entered = entered.filter(account_id__in=chart.subtree(scope.account.pk))
    rows = {account_id: TrialRow(chart.nodes[account_id], 0) for account_id in chart.nodes}
    own: dict[int, TrialRow] = {}
    for account_id, balance in (
        entered.order_by()
        .values("account_id")
        .annotate(balance=_sum("debit") - _sum("credit"))
        .values_list("account_id", "balance")
    ):
        own.setdefault(account_id, TrialRow(chart.nodes[account_id], 0)).opening += balance
    for account_id, opening, debit, credit in grouped:
        row = own.setdefault(account_id, TrialRow(chart.nodes[account_id], 0))
        row.opening += opening
        row.debit += debit
        row.credit += credit
    totals = TrialRow(None, 0)
    for account_id, figures in own.items():
        totals.opening += figures.opening
        totals.debit += figures.debit
        totals.credit += figures.credit
        for target in (account_id, *chart.ancestors(account_id)):
            rows[target].opening += figures.opening
            rows[target].debit += figures.debit
            rows[target].credit += figures.credit
    allowed = set(chart.subtree(scope.account.pk)) if scope.account is not None else None
    ordered = []
    for account_id in chart.in_tree_order():
        row = rows[account_id]
        if allowed is not None and account_id not in allowed:
            continue
        if row.is_zero and not with_zero:
            continue
        row.depth = chart.depth(account_id)
        ordered.append(row)
    return TrialBalance(rows=ordered, totals=totals)


# --- budget against actual -------------------------------------------------------------------


@dataclass
class BudgetRow:
    account: object
    department_id: int | None
    department: str
    budget: Decimal
    actual: Decimal
    is_monthly: bool

    @property
    def variance(self) -> Decimal:
        """What is left of the budget (negative: over budget)."""
        return self.budget - self.actual

    @property
    def percentage(self) -> Decimal | None:
        if not self.budget:
            return None
        return (self.actual * 100 / self.budget).quantize(Decimal("0.1"))

    @property
    def is_over(self) -> bool:
        return self.actual > self.budget


@dataclass
class BudgetReport:
    rows: list[BudgetRow]
    expense: tuple[Decimal, Decimal]
    revenue: tuple[Decimal, Decimal]


def budget_against_actual(*, scope: ReportScope) -> BudgetReport:
    """Per expense or revenue account and department: the budget of the range, the actual
    (expenses: debit minus credit; revenue: credit minus debit), the variance and the
    percentage used. The budget of a key with monthly lines is the sum of its months in the
    range; otherwise its annual line. Four queries (chart, departments, budget, actual)."""
    from tenants.staff.models import Department

    chart = Chart.load()
    kinds = (AccountKind.EXPENSE, AccountKind.REVENUE)
    ids = chart.ids_of_kinds(*kinds)
    if scope.account is not None:
        ids = sorted(set(ids) & set(chart.subtree(scope.account.pk)))
    budget = BudgetLine.objects.filter(fiscal_year=scope.fiscal_year, account_id__in=ids)
    actual = LedgerLine.objects.filter(
        fiscal_year=scope.fiscal_year,
        date__gte=scope.start,
        date__lte=scope.end,
        account_id__in=ids,
    )
    if scope.department is not None:
        budget = budget.filter(department=scope.department)
        actual = actual.filter(department=scope.department)
    in_range = Q(period__start__gte=scope.start, period__end__lte=scope.end)
    budgets = {
        (account_id, department_id): (annual, monthly, months)
        for account_id, department_id, annual, monthly, months in budget.order_by()
        .values("account_id", "department_id")
        .annotate(
            annual=_sum("amount", Q(period__isnull=True)),
            monthly=_sum("amount", in_range),
            months=Count("id", filter=Q(period__isnull=False)),
        )
        .values_list("account_id", "department_id", "annual", "monthly", "months")
    }
    actuals = {
        (account_id, department_id): (debit, credit)
        for account_id, department_id, debit, credit in actual.order_by()
        .values("account_id", "department_id")
        .annotate(sum_debit=_sum("debit"), sum_credit=_sum("credit"))
        .values_list("account_id", "department_id", "sum_debit", "sum_credit")
    }
    names = {
        pk: (ar, en) for pk, ar, en in Department.objects.values_list("pk", "name_ar", "name_en")
    }
    from django.utils.translation import get_language

    english = get_language() == "en"
    rows = []
    totals = {AccountKind.EXPENSE: [ZERO, ZERO], AccountKind.REVENUE: [ZERO, ZERO]}
    for key in sorted(
        set(budgets) | set(actuals), key=lambda k: (chart.nodes[k[0]].code, k[1] or 0)
    ):
        account = chart.nodes[key[0]]
        annual, monthly, months = budgets.get(key, (ZERO, ZERO, 0))
        debit, credit = actuals.get(key, (ZERO, ZERO))
        spent = debit - credit if account.kind == AccountKind.EXPENSE else credit - debit
        name = names.get(key[1])
        row = BudgetRow(
            account=account,
            department_id=key[1],
            department=(name[1] if english else name[0]) if name else "",
            budget=monthly if months else annual,
            actual=spent,
            is_monthly=bool(months),
        )
        rows.append(row)
        totals[account.kind][0] += row.budget
        totals[account.kind][1] += row.actual
    return BudgetReport(
        rows=rows,
        expense=tuple(totals[AccountKind.EXPENSE]),
        revenue=tuple(totals[AccountKind.REVENUE]),
    )


# --- vouchers waiting at each level ---------------------------------------------------------


@dataclass(frozen=True)
class WaitingLevel:
    """The vouchers waiting at one level of their review chains (the same position and name
    across chains) and how long they have waited there."""

    position: int
    label: str
    count: int
    amount: Decimal
    average: timedelta
    longest: timedelta


def waiting_by_level(*, scope: ReportScope, now: datetime | None = None) -> list[WaitingLevel]:
    """Vouchers of the range in review, grouped by the level they wait at now (the current
    round's started, not completed step): how many, their amount, the average and the longest
    wait. One query whatever the number of vouchers."""
    from finance.models_review import ReviewStep

    now = now or timezone.now()
    steps = ReviewStep.objects.filter(
        voucher__status=VoucherStatus.IN_REVIEW,
        round=F("voucher__review_round"),
        started_at__isnull=False,
        completed_at__isnull=True,
        voucher__fiscal_year=scope.fiscal_year,
        voucher__date__gte=scope.start,
        voucher__date__lte=scope.end,
    )
    if scope.department is not None:
        steps = steps.filter(voucher__department=scope.department)
    english = get_language() == "en"
    rows = (
        steps.order_by()
        .values("position", "label_ar", "label_en")
        .annotate(
            count=Count("id"),
            amount=_sum("voucher__total"),
            oldest=Min("started_at"),
            average=Avg(
                ExpressionWrapper(Value(now) - F("started_at"), output_field=DurationField())
            ),
        )
        .order_by("position", "label_ar")
    )
    return [
        WaitingLevel(
            position=row["position"],
            label=(row["label_en"] if english else row["label_ar"]) or str(row["position"]),
            count=row["count"],
            amount=row["amount"],
            average=row["average"],
            longest=now - row["oldest"],
        )
        for row in rows
    ]
