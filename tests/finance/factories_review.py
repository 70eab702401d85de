"""Factories of the review-chain tests: vouchers made directly with the ORM (the ledger half
owns the voucher services and tests/finance/factories.py), employees with finance permissions,
chains configured through the real service."""

import itertools
from datetime import date
from decimal import Decimal

from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from finance.constants import AccountKind, VoucherStatus, VoucherType
from finance.models import Account, FiscalYear, Period, Voucher, VoucherLine
from finance.services.review_config import LevelInput, review_chain_save
from tenants.models import Agency
from tenants.staff.models import Department, Membership
from tests.factories import make_employee

_numbers = itertools.count(1)


def finance_employee(agency: Agency, *perms: str, department: Department | None = None) -> User:
    """An employee of ``agency`` (the plain employee role) granted the finance ``perms``
    ("enter", "review", "approve", "configure", …)."""
    user = make_employee(agency)
    with schema_context(agency.schema_name):
        Membership.objects.filter(user_id=user.pk).update(
            granted_permissions=[f"finance.{p}" for p in perms], department=department
        )
    return user


def finance_people(agency: Agency, **perms: tuple[str, ...]) -> dict[str, User]:
    """Employees of ``agency`` by name, each granted its finance ``perms`` (see
    ``finance_employee``), made in the order given."""
    return {name: finance_employee(agency, *granted) for name, granted in perms.items()}


def department(name: str = "المالية") -> Department:
    """A department of the current agency schema."""
    return Department.objects.create(name_ar=name, name_en=name)


def _fiscal_year() -> tuple[FiscalYear, Period]:
    year = FiscalYear.objects.filter(name="FY-review").first()
    if year is None:
        year = FiscalYear.objects.create(
            name="FY-review", start=date(2020, 1, 1), end=date(2040, 12, 31)
        )
        period = Period.objects.create(
            fiscal_year=year, number=1, start=date(2020, 1, 1), end=date(2040, 12, 31)
        )
    else:
        period = year.periods.first()
    return year, period


def _accounts() -> tuple[Account, Account]:
    cash, _ = Account.objects.get_or_create(
        code="R-1101",
        defaults={"name_ar": "النقدية", "name_en": "Cash", "kind": AccountKind.ASSET},
    )
    expense, _ = Account.objects.get_or_create(
        code="R-5101",
        defaults={"name_ar": "مصروفات", "name_en": "Expenses", "kind": AccountKind.EXPENSE},
    )
    return cash, expense


def make_voucher(
    *,
    maker: User,
    dept: Department,
    amount: Decimal | str = "1000.00",
    voucher_type: str = VoucherType.PAYMENT,
    balanced: bool = True,
) -> Voucher:
    """A draft voucher of the current schema with two lines (debit expense, credit cash)."""
    assert connection.schema_name != "public"
    amount = Decimal(str(amount))
    year, period = _fiscal_year()
    cash, expense = _accounts()
    voucher = Voucher.objects.create(
        type=voucher_type,
        fiscal_year=year,
        number=next(_numbers) + 100000,
        date=date(2026, 1, 15),
        period=period,
        department=dept,
        description="صرف مستلزمات",
        status=VoucherStatus.DRAFT,
        total=amount,
        maker=maker,
    )
    VoucherLine.objects.create(voucher=voucher, position=1, account=expense, debit=amount)
    credit = amount if balanced else amount - Decimal("1.00")
    VoucherLine.objects.create(voucher=voucher, position=2, account=cash, credit=credit)
    return voucher


def role_level(role) -> LevelInput:
    return LevelInput(kind="role", role_id=role.pk)


def named(*users: User) -> LevelInput:
    return LevelInput(kind="named", user_ids=[u.pk for u in users])


def committee(required: int, *users: User) -> LevelInput:
    return LevelInput(kind="committee", user_ids=[u.pk for u in users], required=required)


def make_chain(
    *,
    actor: User,
    levels: list[LevelInput],
    voucher_type: str = VoucherType.PAYMENT,
    dept: Department | None = None,
    low: str = "0",
    high: str | None = None,
):
    chain, _warnings = review_chain_save(
        actor=actor,
        voucher_type=voucher_type,
        department_id=dept.pk if dept else None,
        min_amount=low,
        max_amount=high,
        levels=levels,
    )
    return chain
