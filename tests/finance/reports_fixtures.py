"""The books of the reports and budgets tests (imported by their modules): agency A with a
chart, the year 2026, two departments, opening balances, three posted vouchers and one in
review, two budget lines; an admin (every finance permission)."""

from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from finance.constants import VoucherStatus, VoucherType
from finance.models import BudgetLine, Period
from tests.factories import make_employee
from tests.finance import builders_reports as b


@pytest.fixture
def books(agency_a):
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        accounts = b.make_chart()
        year = b.make_year(2026)
        dept_a = b.make_department("الشؤون الإدارية", "Administration")
        dept_b = b.make_department("تقنية المعلومات", "IT")
        b.make_opening(year, accounts["1101"], debit="10000")
        b.make_opening(year, accounts["3101"], credit="10000")
        common = {"fiscal_year": year, "maker": admin}
        b.make_voucher(
            **common,
            day=date(2026, 1, 10),
            department=dept_a,
            type=VoucherType.PAYMENT,
            lines=[(accounts["5101"], "3000", "0", dept_a), (accounts["1101"], "0", "3000", None)],
        )
        b.make_voucher(
            **common,
            day=date(2026, 2, 5),
            department=dept_b,
            type=VoucherType.PAYMENT,
            lines=[(accounts["5102"], "500", "0", dept_b), (accounts["1101"], "0", "500", None)],
        )
        b.make_voucher(
            **common,
            day=date(2026, 2, 20),
            department=dept_a,
            type=VoucherType.RECEIPT,
            lines=[(accounts["1101"], "2000", "0", None), (accounts["4101"], "0", "2000", dept_a)],
        )
        pending = b.make_voucher(
            **common,
            day=date(2026, 3, 1),
            department=dept_a,
            status=VoucherStatus.IN_REVIEW,
            lines=[(accounts["5101"], "1000", "0", dept_a), (accounts["1102"], "0", "1000", None)],
        )
        BudgetLine.objects.create(
            fiscal_year=year, account=accounts["5101"], department=dept_a, amount=Decimal("3500")
        )
        BudgetLine.objects.create(
            fiscal_year=year,
            account=accounts["5102"],
            department=dept_b,
            period=Period.objects.get(fiscal_year=year, number=2),
            amount=Decimal("400"),
        )
    return {
        "agency": agency_a,
        "admin": admin,
        "accounts": accounts,
        "year": year,
        "dept_a": dept_a,
        "dept_b": dept_b,
        "pending": pending,
    }


def more_vouchers(books, n: int) -> None:
    """``n`` more posted vouchers over the year (to show query counts do not grow)."""
    a = books["accounts"]
    with schema_context(books["agency"].schema_name):
        for i in range(n):
            b.make_voucher(
                fiscal_year=books["year"],
                maker=books["admin"],
                day=date(2026, 1 + i % 12, 1 + i % 27),
                department=books["dept_a"] if i % 2 else books["dept_b"],
                lines=[
                    (a["5101" if i % 3 else "5102"], "10.25", "0", books["dept_a"]),
                    (a["1102"], "0", "10.25", None),
                ],
            )
