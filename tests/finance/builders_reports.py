"""Builders of the budgets and reports tests: a small chart, a fiscal year with its twelve
months, departments, and posted vouchers written straight into the ledger with the ORM (the
posting service is another part's; these rows are what it writes: balanced, in open months).

Call them inside ``schema_context(agency.schema_name)``."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from finance.constants import AccountKind, VoucherStatus, VoucherType
from finance.models import (
    Account,
    FiscalYear,
    LedgerLine,
    NumberCounter,
    OpeningBalance,
    Period,
    Voucher,
    VoucherLine,
)
from tenants.staff.models import Department
from tests.factories import make_beneficiary
from tests.finance.factories import final_approval

_numbers = itertools.count(1)

# code, parent code, kind, postable
CHART = [
    ("1", None, AccountKind.ASSET, False),
    ("11", "1", AccountKind.ASSET, False),
    ("1101", "11", AccountKind.ASSET, True),  # cash
    ("1102", "11", AccountKind.ASSET, True),  # bank
    ("2", None, AccountKind.LIABILITY, False),
    ("2101", "2", AccountKind.LIABILITY, True),  # payables
    ("3", None, AccountKind.EQUITY, False),
    ("3101", "3", AccountKind.EQUITY, True),  # capital
    ("4", None, AccountKind.REVENUE, False),
    ("4101", "4", AccountKind.REVENUE, True),  # fees
    ("5", None, AccountKind.EXPENSE, False),
    ("51", "5", AccountKind.EXPENSE, False),
    ("5101", "51", AccountKind.EXPENSE, True),  # salaries
    ("5102", "51", AccountKind.EXPENSE, True),  # supplies
]


def _default_chart_clear() -> None:
    """Every agency starts with the default chart (finance 0003): these tests use their own
    small one, so the default accounts (unused in a test's schema) go first, leaves first."""
    while Account.objects.exists():
        Account.objects.filter(children__isnull=True).delete()


def make_chart() -> dict[str, Account]:
    _default_chart_clear()
    accounts: dict[str, Account] = {}
    for code, parent, kind, postable in CHART:
        accounts[code] = Account.objects.create(
            code=code,
            name_ar=f"حساب {code}",
            name_en=f"Account {code}",
            kind=kind,
            parent=accounts.get(parent) if parent else None,
            is_postable=postable,
        )
    return accounts


def make_year(year: int = 2026, name: str | None = None) -> FiscalYear:
    # the default fiscal year of the agency (finance 0003 / onboarding) would overlap
    overlapping = FiscalYear.objects.filter(
        start__lte=date(year, 12, 31), end__gte=date(year, 1, 1)
    )
    NumberCounter.objects.filter(fiscal_year__in=overlapping).delete()
    Period.objects.filter(fiscal_year__in=overlapping).delete()
    overlapping.delete()
    fiscal_year = FiscalYear.objects.create(
        name=name or str(year), start=date(year, 1, 1), end=date(year, 12, 31)
    )
    for month in range(1, 13):
        last = (date(year + (month == 12), month % 12 + 1, 1) - date.resolution).day
        Period.objects.create(
            fiscal_year=fiscal_year,
            number=month,
            start=date(year, month, 1),
            end=date(year, month, last),
        )
    return fiscal_year


def make_department(name: str = "المالية", name_en: str = "Finance") -> Department:
    return Department.objects.create(name_ar=name, name_en=name_en)


def period_of(fiscal_year: FiscalYear, day: date) -> Period:
    return Period.objects.get(fiscal_year=fiscal_year, start__lte=day, end__gte=day)


def make_voucher(
    *,
    fiscal_year: FiscalYear,
    day: date,
    department: Department,
    maker,
    lines: list[tuple[Account, Decimal | str, Decimal | str, Department | None]],
    status: str = VoucherStatus.POSTED,
    type: str = VoucherType.JOURNAL,
    description: str = "قيد",
) -> Voucher:
    """A voucher with ``lines`` (account, debit, credit, cost centre); posted ones are written
    to the ledger too. The lines must balance."""
    lines = [(a, Decimal(str(d)), Decimal(str(c)), dep) for a, d, c, dep in lines]
    total = sum(d for _a, d, _c, _dep in lines)
    assert total == sum(c for _a, _d, c, _dep in lines), "unbalanced test voucher"
    period = period_of(fiscal_year, day)
    now = timezone.now()
    voucher = Voucher.objects.create(
        type=type,
        fiscal_year=fiscal_year,
        number=next(_numbers),
        date=day,
        period=period,
        department=department,
        description=description,
        # the lines of a voucher in review or posted are final (finance 0002_ledger_rules,
        # 0006): lines first, then the voucher goes on
        status=VoucherStatus.DRAFT,
        total=total,
        maker=maker,
    )
    VoucherLine.objects.bulk_create(
        VoucherLine(voucher=voucher, position=i, account=a, department=dep, debit=d, credit=c)
        for i, (a, d, c, dep) in enumerate(lines, start=1)
    )
    if status == VoucherStatus.POSTED:
        # posted only with its final approval recorded (finance 0006): as the review chain
        # does it, by someone other than the maker
        final_approval(voucher, approver=_approver())
        Voucher.objects.filter(pk=voucher.pk).update(status=status, posted_at=now)
        voucher.status, voucher.posted_at = status, now
        entry = next(_numbers)
        LedgerLine.objects.bulk_create(
            LedgerLine(
                voucher=voucher,
                entry_number=entry,
                fiscal_year=fiscal_year,
                period=period,
                date=day,
                account=a,
                department=dep,
                debit=d,
                credit=c,
                posted_at=now,
            )
            for a, d, c, dep in lines
        )
    elif status != VoucherStatus.DRAFT:
        Voucher.objects.filter(pk=voucher.pk).update(status=status)
        voucher.status = status
    return voucher


def _approver():
    """The approver of the builders' posted vouchers (a person of the public schema, never a
    maker: the makers are employees made by the tests)."""
    approver = User.objects.filter(email="approver@builders.example").first()
    return approver or make_beneficiary(email="approver@builders.example")


def make_opening(fiscal_year, account, *, debit="0", credit="0", department=None):
    return OpeningBalance.objects.create(
        fiscal_year=fiscal_year,
        account=account,
        department=department,
        debit=Decimal(debit),
        credit=Decimal(credit),
    )
