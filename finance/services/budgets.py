"""Budgets (R-43): a budget line per fiscal year, account and department, for the year or for
one month; every change is a ``BudgetRevision`` and an audit event. ``budget_check`` is what
the review chain asks at submission: which of the voucher's expense lines would take their
budget past its amount; ``budget_control`` says whether the agency warns or refuses then.

Only expense and revenue accounts that take entries (leaves) carry budgets. A key (year,
account, department) is budgeted either for the year or month by month, not both: the months,
when there are any, are what a voucher of that month is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from finance.constants import AccountKind, BudgetControl
from finance.models import (
    Account,
    BudgetLine,
    BudgetRevision,
    FinanceSettings,
    FiscalYear,
    LedgerLine,
    Period,
    Voucher,
    VoucherLine,
)
from finance.reports import policies
from finance.services.vouchers import amount_clean
from tenants.staff.models import Department

BUDGET_KINDS = (AccountKind.EXPENSE, AccountKind.REVENUE)
ZERO = Decimal("0.00")


def _amount_clean(value: Any, field: str = "amount") -> Decimal:
    """A budget amount: a number, not negative, at most two decimal places (halalas); the
    strict reading of vouchers.amount_clean (no exponent, NaN or Infinity)."""
    if value is None or not str(value).strip():
        raise ValidationError({field: [_("Enter an amount, such as 1500.50.")]})
    try:
        return amount_clean(value)
    except ValidationError as error:
        message = {
            "negative": _("A budget cannot be negative."),
            "decimals": _("Amounts have at most two decimal places (halalas)."),
            "too_large": _("This amount is too large."),
        }.get(error.code, _("Enter an amount, such as 1500.50."))
        raise ValidationError({field: [message]}) from None


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the budget changes.")]})
    if len(reason) > 500:
        raise ValidationError({"reason": [_("Keep the reason under 500 characters.")]})
    return reason


@use_case
def budget_line_create(
    *,
    actor: User,
    fiscal_year: FiscalYear,
    account: Account,
    department: Department | None,
    period: Period | None,
    amount: Any,
    reason: str = "",
) -> BudgetLine:
    """Set a budget for the year (``period`` None) or one month of it; the first revision
    records who set it and why."""
    require(policies.can_configure(actor))
    errors: dict[str, list[str]] = {}
    if account.kind not in BUDGET_KINDS or not account.is_postable:
        errors["account"] = [_("Budgets are set on expense or revenue accounts that take entries.")]
    if period is not None and period.fiscal_year_id != fiscal_year.pk:
        errors["period"] = [_("Choose a month of this fiscal year.")]
    try:
        amount = _amount_clean(amount)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    # One writer per key at a time: the key's other lines are locked before the checks.
    same_key = BudgetLine.objects.select_for_update().filter(
        fiscal_year=fiscal_year, account=account, department=department
    )
    existing = list(same_key)
    if any(line.period_id == (period.pk if period else None) for line in existing):
        raise ValidationError(
            {"account": [_("This account and department already have this budget: revise it.")]}
        )
    if period is None and existing:
        raise ValidationError(
            {"period": [_("This account and department are budgeted month by month.")]}
        )
    if period is not None and any(line.period_id is None for line in existing):
        raise ValidationError(
            {"period": [_("This account and department have an annual budget: revise it.")]}
        )
    line = BudgetLine.objects.create(
        fiscal_year=fiscal_year,
        account=account,
        department=department,
        period=period,
        amount=amount,
    )
    BudgetRevision.objects.create(
        line=line, previous=ZERO, amount=amount, reason=(reason or "").strip()[:500], by=actor
    )
    audit.agency_record(
        actor=actor,
        action="finance.budget_set",
        obj=line,
        after={
            "fiscal_year": fiscal_year.pk,
            "account": account.code,
            "department": department.pk if department else None,
            "period": period.number if period else None,
            "amount": str(amount),
        },
    )
    return line


@use_case
def budget_line_revise(*, actor: User, line: BudgetLine, amount: Any, reason: str) -> BudgetLine:
    """Change a budget line's amount, with the reason (required)."""
    require(policies.can_configure(actor))
    errors: dict[str, list[str]] = {}
    for clean, key, value in ((_amount_clean, "amount", amount), (_reason_clean, "reason", reason)):
        try:
            if key == "amount":
                amount = clean(value)
            else:
                reason = clean(value)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    line = BudgetLine.objects.select_for_update().get(pk=line.pk)
    previous = line.amount
    if previous == amount:
        raise ValidationError({"amount": [_("This is already the budget's amount.")]})
    line.amount = amount
    line.save(update_fields=["amount"])
    BudgetRevision.objects.create(
        line=line, previous=previous, amount=amount, reason=reason, by=actor
    )
    audit.agency_record(
        actor=actor,
        action="finance.budget_revise",
        obj=line,
        before={"amount": str(previous)},
        after={"amount": str(amount), "reason": reason},
    )
    return line


# --- the agency's budget control -------------------------------------------------------------


def budget_control() -> str:
    """The agency's choice: warn the maker, or refuse the submission (``BudgetControl``)."""
    value = FinanceSettings.objects.filter(pk=1).values_list("budget_control", flat=True).first()
    return value or BudgetControl.WARN


@use_case
def budget_control_set(*, actor: User, value: str) -> FinanceSettings:
    require(policies.can_configure(actor))
    if value not in BudgetControl.values:
        raise ValidationError({"budget_control": [_("Choose what happens.")]})
    settings, _created = FinanceSettings.objects.select_for_update().get_or_create(pk=1)
    before = settings.budget_control
    settings.budget_control = value
    settings.save(update_fields=["budget_control"])
    audit.agency_record(
        actor=actor,
        action="finance.budget_control",
        obj=settings,
        before={"budget_control": before},
        after={"budget_control": value},
    )
    return settings


# --- the check at submission -----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetOverrun:
    """An (account, department) of a voucher whose budget it would take past its amount."""

    account: Account
    department: Department | None
    period: Period | None  # the month checked (None: the year's budget)
    budget: Decimal
    actual: Decimal  # posted before this voucher
    amount: Decimal  # this voucher's net debit on the key

    @property
    def excess(self) -> Decimal:
        return self.actual + self.amount - self.budget

    def message(self) -> str:
        return _(
            "%(account)s%(department)s: the budget of %(budget)s would be exceeded by "
            "%(excess)s (already spent %(actual)s, this voucher %(amount)s)."
        ) % {
            "account": f"{self.account.code} · {self.account.name}",
            "department": f" ({self.department.name})" if self.department else "",
            "budget": f"{self.budget:,.2f}",
            "excess": f"{self.excess:,.2f}",
            "actual": f"{self.actual:,.2f}",
            "amount": f"{self.amount:,.2f}",
        }


def budget_check(voucher: Voucher) -> list[BudgetOverrun]:
    """The budget lines this voucher would take past their amount: for each (account,
        department) of its lines on expense accounts with a net debit, the posted actual (its own
        posted lines excepted) plus this voucher against the budget of its month when the key is
        budgeted month by month, else of its fiscal year (a line without a cost centre counts
        for the voucher's department). A key without a budget line is not
        controlled. Three queries whatever the voucher's size (a fourth for the voucher's month
    when a monthly key has no line for it); reads only, takes no lock."""
    # A line without a cost centre is the voucher's department's (as the ledger posts it).
    net = {
        (row["account_id"], row["cost_centre"]): row["sum_debit"] - row["sum_credit"]
        for row in VoucherLine.objects.filter(voucher=voucher, account__kind=AccountKind.EXPENSE)
        .annotate(cost_centre=Coalesce("department_id", Value(voucher.department_id)))
        .order_by()
        .values("account_id", "cost_centre")
        .annotate(sum_debit=Sum("debit"), sum_credit=Sum("credit"))
    }
    net = {key: amount for key, amount in net.items() if amount > 0}
    if not net:
        return []
    keys = Q()
    for account_id, department_id in net:
        keys |= Q(account_id=account_id, department_id=department_id)
    budgets: dict[tuple, list[BudgetLine]] = {}
    for line in BudgetLine.objects.filter(
        keys, fiscal_year_id=voucher.fiscal_year_id
    ).select_related("account", "department", "period"):
        budgets.setdefault((line.account_id, line.department_id), []).append(line)
    checked: dict[tuple, BudgetLine] = {}
    for key, lines in budgets.items():
        monthly = [line for line in lines if line.period_id is not None]
        if monthly:
            # Budgeted month by month: the voucher's month, or nothing for that month.
            chosen = next((line for line in monthly if line.period_id == voucher.period_id), None)
            checked[key] = chosen or BudgetLine(
                account=monthly[0].account,
                department=monthly[0].department,
                period=voucher.period,
                amount=ZERO,
            )
        else:
            checked[key] = lines[0]
    if not checked:
        return []
    spent = Q()
    for (account_id, department_id), line in checked.items():
        condition = Q(account_id=account_id, department_id=department_id)
        if line.period_id is not None:
            condition &= Q(period_id=line.period_id)
        spent |= condition
    actual: dict[tuple, Decimal] = {
        (row["account_id"], row["department_id"], row["period_id"]): row["sum_debit"]
        - row["sum_credit"]
        for row in LedgerLine.objects.filter(spent, fiscal_year_id=voucher.fiscal_year_id)
        .exclude(voucher=voucher)
        .order_by()
        .values("account_id", "department_id", "period_id")
        .annotate(sum_debit=Sum("debit"), sum_credit=Sum("credit"))
    }
    overruns = []
    for key, line in sorted(checked.items(), key=lambda item: item[1].account.code):
        if line.period_id is not None:
            posted = actual.get((*key, line.period_id), ZERO)
        else:
            posted = sum((v for (a, d, _p), v in actual.items() if (a, d) == key), ZERO)
        if posted + net[key] > line.amount:
            overruns.append(
                BudgetOverrun(
                    account=line.account,
                    department=line.department,
                    period=line.period if line.period_id else None,
                    budget=line.amount,
                    actual=posted,
                    amount=net[key],
                )
            )
    return overruns


def budget_check_enforce(voucher: Voucher) -> list[BudgetOverrun]:
    """``budget_check`` under the agency's setting: refuses (a ValidationError naming each
    overrun, on the voucher's lines) when the agency blocks, else returns the overruns for
    the maker to be warned of."""
    overruns = budget_check(voucher)
    if overruns and budget_control() == BudgetControl.BLOCK:
        raise ValidationError(
            {"lines": [_("The voucher exceeds its budget.")] + [o.message() for o in overruns]}
        )
    return overruns
