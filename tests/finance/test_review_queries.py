"""Query budgets of the approval write path (R-41): approving at a middle level and final
approval (which posts to the ledger) take a fixed number of queries, whatever the number of
lines of the voucher (no N+1). The timings are in tests/bench/test_finance_approval.py."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from finance.constants import VoucherStatus
from finance.models import LedgerLine, VoucherLine
from finance.services import review
from tests.finance.factories_review import (
    _accounts,
    department,
    finance_employee,
    make_chain,
    make_voucher,
    named,
)

# Level 2 approved (in a test, the use case's transaction is a savepoint: 2): the voucher
# locked, its current level, the round's approvals (one query for every exclusion check), the
# decision, the level completed, the next level found and started, the audit row, then the
# next level's two reviewers told: agency, delegations, users, and per person the idempotency
# check, preferences, the notification and its render job (4 each).
# Final approval: the same up to the level's completion, then posting (savepoint, the voucher
# locked with its period and year, its round's steps checked approved, its lines with their
# accounts, the ledger counter read and
# bumped, the ledger lines in one INSERT, the status, the audit row), the approval's audit row
# and the maker told (agency, user, 4).
MIDDLE_QUERIES = 21
FINAL_QUERIES = 24


@pytest.fixture
def people(agency_a):
    p = {
        "admin": finance_employee(agency_a, "configure"),
        "maker": finance_employee(agency_a, "enter"),
        "r1": finance_employee(agency_a, "review"),
        "r2": finance_employee(agency_a, "review"),
        "r2b": finance_employee(agency_a, "review"),
        "boss": finance_employee(agency_a, "approve"),
        "boss2": finance_employee(agency_a, "approve"),
    }
    with schema_context(agency_a.schema_name):
        p["dept"] = department()
        make_chain(
            actor=p["admin"],
            levels=[
                named(p["r1"]),
                named(p["r2"], p["r2b"]),
                named(p["boss"], p["boss2"]),
            ],
        )
    return p


def _waiting_at_level_2(people, lines: int):
    """A submitted voucher of ``lines`` lines (pairs of debit expense / credit cash), approved
    at level 1."""
    voucher = make_voucher(maker=people["maker"], dept=people["dept"], amount="100.00")
    cash, expense = _accounts()
    for position in range(3, lines + 1, 2):
        amount = Decimal(position)
        VoucherLine.objects.create(
            voucher=voucher, position=position, account=expense, debit=amount
        )
        VoucherLine.objects.create(
            voucher=voucher, position=position + 1, account=cash, credit=amount
        )
    assert voucher.lines.count() == lines
    voucher = review.voucher_submit(voucher, by=people["maker"])
    return review.voucher_approve(voucher, by=people["r1"], position=1)


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_approval_queries_are_fixed_whatever_the_number_of_lines(agency_a, people):
    with schema_context(agency_a.schema_name):
        warm, short, long = (_waiting_at_level_2(people, n) for n in (2, 2, 20))
        review.voucher_approve(warm, by=people["r2"], position=2)
        review.voucher_approve(warm, by=people["boss"], position=3)

        middle = {
            voucher: _queries(lambda v=voucher: review.voucher_approve(v, by=people["r2"]))
            for voucher in (short, long)
        }
        final = {
            voucher: _queries(lambda v=voucher: review.voucher_approve(v, by=people["boss"]))
            for voucher in (short, long)
        }

        assert list(middle.values()) == [MIDDLE_QUERIES, MIDDLE_QUERIES]
        assert list(final.values()) == [FINAL_QUERIES, FINAL_QUERIES]
        # and the work was done: both posted, every line in the ledger
        for voucher, lines in ((short, 2), (long, 20)):
            voucher.refresh_from_db()
            assert voucher.status == VoucherStatus.POSTED
            assert LedgerLine.objects.filter(voucher=voucher).count() == lines
