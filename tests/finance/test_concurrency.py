"""Many vouchers entered and posted at once, each on its own connection (real transactions,
committed data, as in tests/meetings/test_voting_concurrency.py): voucher numbers and journal
entry numbers come out without gaps or duplicates."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.utils import translation
from django_tenants.utils import schema_context

from finance.models import LedgerLine, Voucher
from finance.services import ledger
from tenants.models import Agency
from tenants.services import agency_onboard
from tests.finance.factories import (
    ALL_PERMISSIONS,
    department_of,
    final_approval,
    finance_employee,
    make_voucher,
)

WORKERS = 8


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
            admin_email=f"admin-{tag}@finance.example",
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
                return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_vouchers_entered_and_posted_at_once_get_numbers_without_gaps(committed):
    clerks = [finance_employee(committed, *ALL_PERMISSIONS) for _ in range(WORKERS)]
    approver = finance_employee(committed, "finance.approve")
    department_of(committed)
    connection.set_schema_to_public()

    def enter_and_post(clerk):
        def call():
            entered = [make_voucher(committed, clerk) for _ in range(3)]
            for voucher in entered:
                final_approval(voucher, approver=approver)
                ledger.voucher_post(voucher, by=approver)
            return [v.pk for v in entered]

        return call

    results = at_once(committed, [enter_and_post(clerk) for clerk in clerks])
    ids = [pk for batch in results for pk in batch]
    assert len(ids) == WORKERS * 3
    with schema_context(committed.schema_name):
        numbers = sorted(Voucher.objects.filter(pk__in=ids).values_list("number", flat=True))
        assert numbers == list(range(1, WORKERS * 3 + 1))
        entries = sorted(set(LedgerLine.objects.values_list("entry_number", flat=True)))
        assert entries == list(range(1, WORKERS * 3 + 1))
        per_entry = {
            entry: set(
                LedgerLine.objects.filter(entry_number=entry).values_list("voucher_id", flat=True)
            )
            for entry in entries
        }
        assert all(len(vouchers) == 1 for vouchers in per_entry.values())
