"""Configuring finance: the chart of accounts, fiscal years and their periods (close, reopen),
opening balances, and what a new agency starts with."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date as Date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from finance import policies
from finance.constants import AccountKind, PeriodStatus, VoucherType
from finance.models import (
    Account,
    FinanceSettings,
    FiscalYear,
    LedgerLine,
    NumberCounter,
    OpeningBalance,
    Period,
    VoucherLine,
)
from finance.services.numbers import LEDGER
from finance.services.vouchers import amount_clean
from tenants.staff.models import Department

COUNTER_KEYS = (*VoucherType.values, LEDGER)


# --- accounts --------------------------------------------------------------------------------


def account_is_used(account: Account) -> bool:
    """Lines, ledger lines or opening balances name it (then it is deactivated, never deleted)."""
    return (
        VoucherLine.objects.filter(account=account).exists()
        or LedgerLine.objects.filter(account=account).exists()
        or OpeningBalance.objects.filter(account=account).exists()
    )


@use_case
def account_save(
    *,
    by: User,
    account: Account | None = None,
    code: str,
    name_ar: str,
    name_en: str,
    kind: str,
    parent: Account | None = None,
    is_postable: bool = True,
    is_active: bool = True,
) -> Account:
    """Add an account to the chart or change one. The code is unique; a parent is a heading of
    the same kind (never the account itself or one of its own accounts); only leaves take
    entries, so an account that has accounts under it is a heading."""
    require(policies.can_configure(by))
    errors: dict[str, list[str]] = {}
    code = (code or "").strip()
    if not code:
        errors["code"] = [_("Enter the account's code.")]
    elif not code.replace(".", "").replace("-", "").isalnum():
        errors["code"] = [_("A code has digits and letters only (dots and dashes allowed).")]
    elif Account.objects.filter(code=code).exclude(pk=getattr(account, "pk", None)).exists():
        errors["code"] = [_("Another account has this code.")]
    if not (name_ar or "").strip():
        errors["name_ar"] = [_("Enter the name in Arabic.")]
    if not (name_en or "").strip():
        errors["name_en"] = [_("Enter the name in English.")]
    if kind not in AccountKind.values:
        errors["kind"] = [_("Choose the kind of account.")]
    if parent is not None:
        if parent.is_postable and account_is_used(parent):
            errors["parent"] = [_("This account has entries: it cannot have accounts under it.")]
        elif parent.kind != kind:
            errors["parent"] = [_("The parent account must be of the same kind.")]
        elif account is not None and _is_under(parent, account):
            errors["parent"] = [_("An account cannot be placed under itself.")]
    before = None
    if account is not None:
        account = Account.objects.select_for_update().get(pk=account.pk)
        before = _account_state(account)
        if kind != account.kind and account_is_used(account):
            errors.setdefault("kind", []).append(
                _("This account has entries: its kind cannot change.")
            )
        has_children = account.children.exists()
        if is_postable and has_children:
            errors.setdefault("is_postable", []).append(
                _("An account with accounts under it is a heading and takes no entries.")
            )
        if not is_postable and account.is_postable and account_is_used(account):
            errors.setdefault("is_postable", []).append(
                _("This account has entries: it must keep taking them (deactivate it instead).")
            )
    if errors:
        raise ValidationError(errors)
    account = account or Account()
    account.code = code
    account.name_ar = name_ar.strip()
    account.name_en = name_en.strip()
    account.kind = kind
    account.parent = parent
    account.is_postable = is_postable
    account.is_active = is_active
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ValidationError({"code": [_("Another account has this code.")]}) from None
    if parent is not None and parent.is_postable:
        # The parent becomes a heading (checked above: it has no entries of its own).
        Account.objects.filter(pk=parent.pk).update(is_postable=False)
    audit.agency_record(
        actor=by,
        action="finance.account_save",
        obj=account,
        before=before,
        after=_account_state(account),
    )
    return account


def _is_under(candidate: Account, account: Account) -> bool:
    node: Account | None = candidate
    seen = set()
    while node is not None and node.pk not in seen:
        if node.pk == account.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def _account_state(account: Account) -> dict[str, Any]:
    return {
        "code": account.code,
        "name_ar": account.name_ar,
        "name_en": account.name_en,
        "kind": account.kind,
        "parent": account.parent_id,
        "is_postable": account.is_postable,
        "is_active": account.is_active,
    }


@use_case
def account_remove(*, by: User, account: Account) -> bool:
    """Delete an unused leaf account; an account that was used (or has accounts under it) is
    deactivated instead. Returns True when deleted."""
    require(policies.can_configure(by))
    account = Account.objects.select_for_update().get(pk=account.pk)
    state = _account_state(account)
    if account.children.exists() or account_is_used(account):
        account.is_active = False
        account.save(update_fields=["is_active"])
        audit.agency_record(
            actor=by,
            action="finance.account_deactivate",
            obj=account,
            before=state,
            after=_account_state(account),
        )
        return False
    audit.agency_record(actor=by, action="finance.account_delete", obj=account, before=state)
    account.delete()
    return True


# --- fiscal years and periods ------------------------------------------------------------------


def _months(start: Date) -> list[tuple[Date, Date]]:
    spans = []
    year, month = start.year, start.month
    for _index in range(12):
        first = Date(year, month, 1)
        last = Date(year, month, calendar.monthrange(year, month)[1])
        spans.append((first, last))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return spans


def fiscal_year_make(*, start: Date, name: str = "") -> FiscalYear:
    """The fiscal year starting on the first of ``start``'s month, its twelve monthly periods
    and its number counters (no checks, no audit: the caller's)."""
    months = _months(start.replace(day=1))
    name = name or (str(start.year) if start.month == 1 else f"{start.year}/{months[-1][1].year}")
    year = FiscalYear.objects.create(name=name, start=months[0][0], end=months[-1][1])
    Period.objects.bulk_create(
        [
            Period(fiscal_year=year, number=number, start=first, end=last)
            for number, (first, last) in enumerate(months, 1)
        ]
    )
    NumberCounter.objects.bulk_create(
        [NumberCounter(key=key, fiscal_year=year) for key in COUNTER_KEYS],
        ignore_conflicts=True,
    )
    return year


@use_case
def fiscal_year_create(*, by: User, start: Date | None, name: str = "") -> FiscalYear:
    """A fiscal year of twelve months from the first of ``start``'s month; it may not overlap
    another."""
    require(policies.can_configure(by))
    errors: dict[str, list[str]] = {}
    if start is None:
        raise ValidationError({"start": [_("Enter the first month of the fiscal year.")]})
    months = _months(start.replace(day=1))
    first, last = months[0][0], months[-1][1]
    name = (name or "").strip()[:40]
    if FiscalYear.objects.filter(start__lte=last, end__gte=first).exists():
        errors["start"] = [_("This fiscal year overlaps another.")]
    if name and FiscalYear.objects.filter(name=name).exists():
        errors["name"] = [_("Another fiscal year has this name.")]
    if errors:
        raise ValidationError(errors)
    year = fiscal_year_make(start=first, name=name)
    audit.agency_record(
        actor=by,
        action="finance.fiscal_year_create",
        obj=year,
        after={"name": year.name, "start": str(year.start), "end": str(year.end)},
    )
    return year


@use_case
def period_close(*, by: User, period: Period) -> Period:
    """Close a period: from now on it takes no posting (the database refuses it too)."""
    require(policies.can_close_periods(by))
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.status == PeriodStatus.CLOSED:
        raise ValidationError(_("This period is already closed."))
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = by
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit.agency_record(
        actor=by,
        action="finance.period_close",
        obj=period,
        before={"status": PeriodStatus.OPEN},
        after={"status": PeriodStatus.CLOSED},
    )
    return period


@use_case
def period_reopen(*, by: User, period: Period, reason: str) -> Period:
    """Reopen a closed period: its own permission, a reason, and an entry in the audit trail."""
    require(policies.can_close_periods(by))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the period is reopened.")]})
    period = Period.objects.select_for_update().get(pk=period.pk)
    if period.status != PeriodStatus.CLOSED:
        raise ValidationError(_("This period is open."))
    closed = {
        "status": PeriodStatus.CLOSED,
        "closed_at": period.closed_at.isoformat() if period.closed_at else None,
        "closed_by": period.closed_by_id,
    }
    period.status = PeriodStatus.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit.agency_record(
        actor=by,
        action="finance.period_reopen",
        obj=period,
        before=closed,
        after={"status": PeriodStatus.OPEN, "reason": reason[:500]},
    )
    return period


# --- opening balances -------------------------------------------------------------------------


@use_case
def opening_balances_save(
    *, by: User, fiscal_year: FiscalYear, rows: Sequence[Mapping[str, Any]]
) -> list[OpeningBalance]:
    """Set the opening balances of ``fiscal_year``: rows of ``account``, ``department``
    (optional), ``debit``, ``credit``. Rows with both amounts zero remove the balance. The
    debits and credits of the whole year must be equal. Errors: ``rows.<index>.<field>``."""
    require(policies.can_configure(by))
    errors: dict[str, list[str]] = {}
    clean: dict[tuple, tuple[Decimal, Decimal]] = {}
    for index, row in enumerate(rows):
        account = row.get("account")
        if not account:
            continue
        if not isinstance(account, Account):
            account = Account.objects.filter(pk=account).first()
        department = row.get("department") or None
        if department is not None and not isinstance(department, Department):
            department = Department.objects.filter(pk=department).first()
        if account is None or not account.is_postable:
            errors[f"rows.{index}.account"] = [_("Choose an account that takes entries.")]
            continue
        sides = {}
        for side in ("debit", "credit"):
            try:
                sides[side] = amount_clean(row.get(side))
            except ValidationError as exc:
                errors[f"rows.{index}.{side}"] = exc.messages
        if len(sides) < 2:
            continue
        if sides["debit"] > 0 and sides["credit"] > 0:
            errors[f"rows.{index}.debit"] = [_("A line is a debit or a credit, not both.")]
            continue
        key = (account.pk, getattr(department, "pk", None))
        if key in clean:
            errors[f"rows.{index}.account"] = [_("This account is given twice.")]
            continue
        clean[key] = (sides["debit"], sides["credit"])
    if not errors:
        existing = {
            (b.account_id, b.department_id): b
            for b in OpeningBalance.objects.select_for_update().filter(fiscal_year=fiscal_year)
        }
        merged = {key: (b.debit, b.credit) for key, b in existing.items()}
        merged.update(clean)
        debit = sum((d for d, _c in merged.values()), Decimal("0.00"))
        credit = sum((c for _d, c in merged.values()), Decimal("0.00"))
        if debit != credit:
            errors["rows"] = [
                _("The opening balances do not balance: debits %(debit)s, credits %(credit)s.")
                % {"debit": f"{debit:,.2f}", "credit": f"{credit:,.2f}"}
            ]
    if errors:
        raise ValidationError(errors)
    saved = []
    for (account_id, department_id), (debit, credit) in clean.items():
        balance = existing.get((account_id, department_id))
        if debit == 0 and credit == 0:
            if balance is not None:
                balance.delete()
            continue
        if balance is None:
            balance = OpeningBalance(
                fiscal_year=fiscal_year, account_id=account_id, department_id=department_id
            )
        balance.debit, balance.credit = debit, credit
        balance.save()
        saved.append(balance)
    audit.agency_record(
        actor=by,
        action="finance.opening_balances_save",
        obj=fiscal_year,
        after={
            "rows": [
                [account_id, department_id, str(debit), str(credit)]
                for (account_id, department_id), (debit, credit) in clean.items()
            ]
        },
    )
    return saved


# --- a new agency -------------------------------------------------------------------------------


def finance_onboard(*, today: Date | None = None) -> None:
    """What a new agency's schema needs beyond what it is cloned with (the chart of accounts
    and the settings row come from migration 0003 in the template): a fiscal year covering
    today (the template's may be of an earlier year). Idempotent."""
    today = today or timezone.localdate()
    FinanceSettings.objects.get_or_create(pk=1)
    if not Period.objects.filter(start__lte=today, end__gte=today).exists():
        if not FiscalYear.objects.filter(start__lte=today, end__gte=today).exists():
            fiscal_year_make(start=Date(today.year, 1, 1))
