"""Posting to the general ledger, reversing vouchers, and the accounting rules the database
enforces on its own (raw SQL, as the application's role, is refused)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from finance.constants import PeriodStatus, VoucherStatus, VoucherType
from finance.models import LedgerLine, NumberCounter, Period, Voucher, VoucherLine
from finance.services import chart, ledger
from tenants.staff.models import AuditEvent
from tests.finance.factories import (
    ALL_PERMISSIONS,
    final_approval,
    finance_employee,
    make_posted,
    make_voucher,
    today,
)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


@pytest.fixture
def clerk(agency_a):
    return finance_employee(agency_a, *ALL_PERMISSIONS)


def test_posting_writes_balanced_ledger_lines_under_one_entry_number(agency_a, clerk):
    first = make_posted(agency_a, clerk)
    second = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        assert first.status == VoucherStatus.POSTED and first.posted_at is not None
        rows = list(LedgerLine.objects.filter(voucher=first))
        assert len(rows) == 2
        assert {row.entry_number for row in rows} == {rows[0].entry_number}
        assert sum(r.debit for r in rows) == sum(r.credit for r in rows) == Decimal("1250.50")
        assert rows[0].department_id == first.department_id
        second_entry = LedgerLine.objects.filter(voucher=second).first().entry_number
        assert second_entry == rows[0].entry_number + 1
        counter = NumberCounter.objects.get(key="ledger", fiscal_year=first.fiscal_year)
        assert counter.last == second_entry
        assert AuditEvent.objects.filter(
            action="finance.voucher_post", object_id=str(first.pk)
        ).exists()


def test_a_posted_voucher_is_not_posted_twice(agency_a, clerk):
    voucher = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError):
            ledger.voucher_post(voucher, by=clerk)
        assert LedgerLine.objects.filter(voucher=voucher).count() == 2


def test_posting_into_a_closed_period_is_refused_by_the_service(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    approver = finance_employee(agency_a, "finance.approve")
    with schema_context(agency_a.schema_name):
        final_approval(voucher, approver=approver)
        chart.period_close(by=clerk, period=voucher.period)
        with pytest.raises(ValidationError) as caught:
            ledger.voucher_post(voucher, by=approver)
        assert "date" in caught.value.message_dict
        assert not LedgerLine.objects.filter(voucher=voucher).exists()
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.IN_REVIEW


def test_reversing_voucher_swaps_the_lines_and_names_the_original(agency_a, clerk):
    original = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        reversal = ledger.voucher_reverse(original, by=clerk, date=today(), reason="خطأ في الحساب")
        assert reversal.status == VoucherStatus.DRAFT
        assert reversal.reverses_id == original.pk
        assert reversal.type == VoucherType.JOURNAL
        swapped = [(x.account_id, x.debit, x.credit) for x in reversal.lines.all()]
        expected = [(x.account_id, x.credit, x.debit) for x in original.lines.all()]
        assert swapped == expected
        with pytest.raises(ValidationError):
            ledger.voucher_reverse(original, by=clerk, date=today(), reason="again")
    approver = finance_employee(agency_a, "finance.approve")
    with schema_context(agency_a.schema_name):
        # Posted through the chain like any voucher: the ledger nets to zero for the pair.
        final_approval(reversal, approver=approver)
        ledger.voucher_post(reversal, by=approver)
        net = {}
        for line in LedgerLine.objects.filter(voucher__in=[original, reversal]):
            net[line.account_id] = net.get(line.account_id, 0) + line.debit - line.credit
        assert set(net.values()) == {0}


def test_reversal_needs_a_reason_and_a_posted_voucher(agency_a, clerk):
    draft = make_voucher(agency_a, clerk)
    posted = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError):
            ledger.voucher_reverse(draft, by=clerk, date=today(), reason="x")
        with pytest.raises(ValidationError) as caught:
            ledger.voucher_reverse(posted, by=clerk, date=today(), reason="  ")
        assert "reason" in caught.value.message_dict


# --- the database's own rules ---------------------------------------------------------------


def _refused(sql: str, params=(), match: str | None = None):
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def test_database_refuses_update_delete_truncate_of_ledger_lines(agency_a, clerk):
    voucher = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        line = LedgerLine.objects.filter(voucher=voucher).first()
        _refused("UPDATE finance_ledgerline SET debit = debit + 1 WHERE id = %s", [line.pk])
        _refused("DELETE FROM finance_ledgerline WHERE id = %s", [line.pk])
        _refused("TRUNCATE finance_ledgerline CASCADE")
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerLine.objects.filter(pk=line.pk).update(description="changed")
        assert LedgerLine.objects.get(pk=line.pk).description == line.description


def _insert_ledger_line(voucher, period, *, debit="0", credit="0", day=None):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO finance_ledgerline (voucher_id, entry_number, fiscal_year_id, period_id,"
            " date, account_id, department_id, debit, credit, description, posted_at)"
            " SELECT %s, 999, %s, %s, %s, account_id, NULL, %s, %s, '', now()"
            " FROM finance_voucherline WHERE voucher_id = %s LIMIT 1",
            [
                voucher.pk,
                period.fiscal_year_id,
                period.pk,
                day or period.start,
                debit,
                credit,
                voucher.pk,
            ],
        )


def test_database_refuses_a_ledger_line_in_a_closed_period(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        period = Period.objects.get(pk=voucher.period_id)
        Period.objects.filter(pk=period.pk).update(status=PeriodStatus.CLOSED)
        with pytest.raises(DatabaseError, match="period is closed"), transaction.atomic():
            _insert_ledger_line(voucher, period, debit="5")


def test_database_refuses_a_ledger_line_dated_outside_its_period(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        period = Period.objects.get(pk=voucher.period_id)
        other = Period.objects.exclude(pk=period.pk).filter(fiscal_year=period.fiscal_year).first()
        with pytest.raises(DatabaseError, match="outside its period"), transaction.atomic():
            _insert_ledger_line(voucher, period, debit="5", day=other.start)


def test_database_refuses_to_commit_unbalanced_ledger_lines(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    approver = finance_employee(agency_a, "finance.approve")
    with schema_context(agency_a.schema_name):
        period = Period.objects.get(pk=voucher.period_id)
        # finally approved (a voucher is posted only then: finance 0006)
        final_approval(voucher, approver=approver)
        Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.POSTED)
        with pytest.raises(DatabaseError, match="do not balance"), transaction.atomic():
            _insert_ledger_line(voucher, period, debit="5")
            with connection.cursor() as cursor:
                # What COMMIT does to the deferred check (the test's transaction never commits).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_database_refuses_ledger_lines_of_a_voucher_not_posted(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        period = Period.objects.get(pk=voucher.period_id)
        with pytest.raises(DatabaseError, match="not posted"), transaction.atomic():
            _insert_ledger_line(voucher, period, debit="5")
            _insert_ledger_line(voucher, period, credit="5")
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_balanced_posting_passes_the_deferred_check(agency_a, clerk):
    voucher = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert LedgerLine.objects.filter(voucher=voucher).count() == 2


def test_database_freezes_the_lines_and_the_posting_of_a_posted_voucher(agency_a, clerk):
    voucher = make_posted(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        line = VoucherLine.objects.filter(voucher=voucher).first()
        _refused("UPDATE finance_voucherline SET debit = 1 WHERE id = %s", [line.pk], "final")
        _refused("DELETE FROM finance_voucherline WHERE id = %s", [line.pk], "final")
        _refused(
            "INSERT INTO finance_voucherline (voucher_id, position, account_id, debit, credit,"
            " description) SELECT voucher_id, 99, account_id, 1, 0, '' FROM finance_voucherline"
            " WHERE id = %s",
            [line.pk],
            "final",
        )
        _refused("UPDATE finance_voucher SET total = 1 WHERE id = %s", [voucher.pk], "final")
        _refused("UPDATE finance_voucher SET status = 'draft' WHERE id = %s", [voucher.pk])
        _refused("DELETE FROM finance_voucher WHERE id = %s", [voucher.pk])
        # What does not touch the posting may change (the review chain's bookkeeping).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE finance_voucher SET review_round = review_round WHERE id = %s",
                [voucher.pk],
            )


def test_lines_of_a_draft_may_change(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE finance_voucherline SET description = 'x' WHERE voucher_id = %s",
            [voucher.pk],
        )
        assert cursor.rowcount == 2


def test_reopening_a_period_needs_a_reason_its_permission_and_is_audited(agency_a, clerk):
    closer = finance_employee(agency_a, "finance.configure")
    with schema_context(agency_a.schema_name):
        period = Period.objects.filter(start__lte=today(), end__gte=today()).get()
        chart.period_close(by=clerk, period=period)
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            chart.period_reopen(by=closer, period=period, reason="تصحيح")
        with pytest.raises(ValidationError) as caught:
            chart.period_reopen(by=clerk, period=period, reason=" ")
        assert "reason" in caught.value.message_dict
        chart.period_reopen(by=clerk, period=period, reason="تصحيح قيد")
        assert Period.objects.get(pk=period.pk).status == PeriodStatus.OPEN
        event = AuditEvent.objects.filter(action="finance.period_reopen").latest("id")
        assert event.after["reason"] == "تصحيح قيد"
        assert event.before["status"] == PeriodStatus.CLOSED
