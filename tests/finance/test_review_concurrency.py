"""Two approvers on the same level at once, on separate connections (real transactions,
committed data, as tests/meetings/test_voting_concurrency.py): one wins, the other is told
clearly; the level gets exactly its one approval."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import translation
from django_tenants.utils import schema_context

from finance.models_review import ReviewDecision
from finance.services import review
from tenants.models import Agency
from tenants.services import agency_onboard
from tests.finance.factories_review import (
    committee,
    department,
    finance_employee,
    make_chain,
    make_voucher,
    named,
)


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    assert not connection.in_atomic_block
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
            (last_job,) = cursor.fetchone()
        tag = uuid.uuid4().hex[:8]
        agency = agency_onboard(
            slug=f"fin-{tag}",
            name_ar="جهة المالية",
            name_en="Finance Agency",
            code=f"F{tag[:6].upper()}",
            admin_email=f"admin-{tag}@fin.example",
        )
        connection.set_schema_to_public()
        try:
            yield agency
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE procrastinate_jobs SET status = 'cancelled'"
                    " WHERE id > %s AND status = 'todo'",
                    [last_job],
                )
            Agency.objects.filter(pk=agency.pk).update(is_active=False)
            connections.close_all()


def at_once(agency, calls):
    """Run every call in its own thread and connection, released together."""
    start = threading.Barrier(len(calls))

    def run(call):
        try:
            with schema_context(agency.schema_name), translation.override("en"):
                start.wait()
                try:
                    return call()
                except (ValidationError, PermissionDenied) as exc:
                    return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_approvers_on_one_level_one_wins_the_other_is_told(committed):
    agency = committed
    admin = finance_employee(agency, "configure")
    maker = finance_employee(agency, "enter")
    first, second = finance_employee(agency, "review"), finance_employee(agency, "review")
    boss = finance_employee(agency, "approve")
    helpers = [finance_employee(agency, "review") for _ in range(3)]
    with schema_context(agency.schema_name):
        dept = department()
        make_chain(actor=admin, levels=[named(first, second), named(boss)])
        make_chain(
            actor=admin,
            voucher_type="receipt",
            levels=[committee(2, *helpers), named(boss)],
        )
        voucher = review.voucher_submit(make_voucher(maker=maker, dept=dept), by=maker)
        receipt = review.voucher_submit(
            make_voucher(maker=maker, dept=dept, voucher_type="receipt"), by=maker
        )
    connection.set_schema_to_public()

    results = at_once(
        agency,
        [
            lambda: review.voucher_approve(voucher, by=first, position=1),
            lambda: review.voucher_approve(voucher, by=second, position=1),
        ],
    )
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(refusals) == 1, results
    assert "Someone else acted on this voucher first" in refusals[0].messages[0]
    with schema_context(agency.schema_name):
        assert ReviewDecision.objects.filter(voucher=voucher, action="approve").count() == 1

    # A committee needing 2 of 3, all three at once: exactly two approvals count.
    results = at_once(
        agency,
        [(lambda h=h: review.voucher_approve(receipt, by=h, position=1)) for h in helpers],
    )
    assert len([r for r in results if isinstance(r, ValidationError)]) == 1, results
    with schema_context(agency.schema_name):
        assert ReviewDecision.objects.filter(voucher=receipt, action="approve").count() == 2
