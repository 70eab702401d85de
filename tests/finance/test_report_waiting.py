"""The report of vouchers waiting at each level of review (R-43): how many wait at which
level, their amount, the average and the longest wait; one query whatever their number."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from finance.reports.scope import ReportScope
from finance.reports.selectors import waiting_by_level
from finance.services import review
from tests.finance.factories_review import (
    department,
    finance_employee,
    make_chain,
    make_voucher,
    named,
)


@pytest.fixture
def world(agency_a):
    admin = finance_employee(agency_a, "configure")
    maker = finance_employee(agency_a, "enter")
    first = finance_employee(agency_a, "review")
    final = finance_employee(agency_a, "approve", "review")
    with schema_context(agency_a.schema_name):
        dept = department()
        make_chain(actor=admin, levels=[named(first), named(final)])
    return {"maker": maker, "first": first, "dept": dept}


def _scope(voucher) -> ReportScope:
    year = voucher.fiscal_year
    return ReportScope(fiscal_year=year, start=date(2026, 1, 1), end=date(2026, 12, 31))


def _submit(world, amount: str, *, waited_days: int, monkeypatch):
    """Submitted ``waited_days`` ago (a frozen step's start cannot be changed afterwards: the
    clock is set back for the submission)."""
    voucher = make_voucher(maker=world["maker"], dept=world["dept"], amount=amount)
    then = timezone.now() - timedelta(days=waited_days)
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: then)
        review.voucher_submit(voucher, by=world["maker"])
    return voucher


def test_waiting_counts_amounts_and_waits_per_level(agency_a, world, monkeypatch):
    with schema_context(agency_a.schema_name), translation.override("en"):
        first = _submit(world, "100.00", waited_days=2, monkeypatch=monkeypatch)
        _submit(world, "50.00", waited_days=4, monkeypatch=monkeypatch)
        moved_on = _submit(world, "30.00", waited_days=6, monkeypatch=monkeypatch)
        review.voucher_approve(moved_on, by=world["first"])  # now waits at level 2
        now = timezone.now()
        with CaptureQueriesContext(connection) as queries:
            levels = waiting_by_level(scope=_scope(first), now=now)
        assert len(queries) == 1
    by_position = {level.position: level for level in levels}
    assert set(by_position) == {1, 2}
    one = by_position[1]
    assert one.count == 2 and one.amount == Decimal("150.00")
    assert timedelta(days=3, minutes=-1) < one.average < timedelta(days=3, minutes=1)
    assert timedelta(days=4, minutes=-1) < one.longest < timedelta(days=4, minutes=1)
    two = by_position[2]
    assert two.count == 1 and two.amount == Decimal("30.00")
    assert two.longest < timedelta(minutes=5)  # it reached level 2 just now


def test_nothing_waits_once_decided(agency_a, world, monkeypatch):
    with schema_context(agency_a.schema_name):
        voucher = _submit(world, "100.00", waited_days=1, monkeypatch=monkeypatch)
        review.voucher_reject(voucher, by=world["first"], reason="لا يلزم")
        assert waiting_by_level(scope=_scope(voucher)) == []
