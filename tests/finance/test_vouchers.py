"""Entering vouchers: numbering, validation with errors tied to the field or line (and nothing
saved), correcting and cancelling, attachments."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from finance.constants import PeriodStatus, VoucherStatus, VoucherType
from finance.models import Account, Period, Voucher, VoucherAttachment, VoucherLine
from finance.services import chart, ledger, vouchers
from tests.factories import pdf_upload
from tests.finance.factories import (
    ALL_PERMISSIONS,
    account,
    department_of,
    final_approval,
    finance_employee,
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
    return finance_employee(agency_a, "finance.enter")


@pytest.fixture
def boss(agency_a):
    return finance_employee(agency_a, *ALL_PERMISSIONS)


def _create(agency, by, lines, **overrides):
    fields = {
        "by": by,
        "type": VoucherType.PAYMENT,
        "date": today(),
        "department": department_of(agency),
        "counterparty": "",
        "description": "وصف",
        "lines": lines,
    }
    fields.update(overrides)
    with schema_context(agency.schema_name):
        return vouchers.voucher_create(**fields)


def _line(code, debit="", credit="", **extra):
    return {"account": Account.objects.get(code=code), "debit": debit, "credit": credit, **extra}


def test_numbers_run_per_type_and_fiscal_year_without_gaps(agency_a, clerk):
    payments = [make_voucher(agency_a, clerk) for _ in range(3)]
    receipt = make_voucher(
        agency_a, clerk, type=VoucherType.RECEIPT, lines=(("1101", "10", ""), ("4102", "", "10"))
    )
    first = payments[0].number
    assert [v.number for v in payments] == [first, first + 1, first + 2]
    assert receipt.number >= 1
    with schema_context(agency_a.schema_name):
        v = Voucher.objects.get(pk=payments[0].pk)
        assert v.total == Decimal("1250.50")
        assert v.maker_id == clerk.pk and v.status == VoucherStatus.DRAFT
        assert list(v.lines.values_list("position", flat=True)) == [1, 2]


def test_a_failed_voucher_gives_its_number_back(agency_a, clerk):
    first = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name), pytest.raises(ValidationError):
        _create(agency_a, clerk, [_line("5204", "5"), _line("1102", "", "4")])
    second = make_voucher(agency_a, clerk)
    assert second.number == first.number + 1


BAD_LINES = [
    # (lines given as (code, debit, credit), the error key, a word of the English message)
    ([("5204", "10", ""), ("1102", "", "9.99")], "lines", "balance"),
    ([("5204", "-10", ""), ("1102", "", "-10")], "lines.0.debit", "negative"),
    ([("5204", "10.005", ""), ("1102", "", "10.005")], "lines.0.debit", "two decimal"),
    ([("5204", "ten", ""), ("1102", "", "10")], "lines.0.debit", "number"),
    ([("5204", "10", "10"), ("1102", "", "10")], "lines.0.debit", "not both"),
    ([("5204", "", ""), ("1102", "", "10")], "lines.0.debit", "debit or a credit"),
    ([("5204", "10", "")], "lines", "two lines"),
    ([("52", "10", ""), ("1102", "", "10")], "lines.0.account", "heading"),
    ([("5204", "10", ""), ("1102", "", "1" + "0" * 13)], "lines.1.credit", "too large"),
]


@pytest.mark.parametrize(("spec", "key", "word"), BAD_LINES)
def test_bad_lines_are_refused_on_the_line_and_nothing_is_saved(agency_a, clerk, spec, key, word):
    with schema_context(agency_a.schema_name):
        before = (Voucher.objects.count(), VoucherLine.objects.count())
        lines = [_line(code, d, c) for code, d, c in spec]
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        _create(agency_a, clerk, lines)
    assert key in caught.value.message_dict, caught.value.message_dict
    assert word in " ".join(caught.value.message_dict[key])
    with schema_context(agency_a.schema_name):
        assert (Voucher.objects.count(), VoucherLine.objects.count()) == before


def test_errors_are_translated_to_arabic(agency_a, clerk):
    with schema_context(agency_a.schema_name):
        lines = [_line("5204", "10"), _line("1102", "", "9")]
    with pytest.raises(ValidationError) as caught, translation.override("ar"):
        _create(agency_a, clerk, lines)
    message = caught.value.message_dict["lines"][0]
    assert "balance" not in message and any("\u0600" <= ch <= "\u06ff" for ch in message)


def test_unknown_and_inactive_accounts_are_refused(agency_a, clerk):
    with schema_context(agency_a.schema_name):
        Account.objects.filter(code="5205").update(is_active=False)
        lines = [
            {"account": 10**9, "debit": "5"},
            _line("5205", "5"),
            _line("1102", "", "10"),
        ]
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        _create(agency_a, clerk, lines)
    errors = caught.value.message_dict
    assert "does not exist" in errors["lines.0.account"][0]
    assert "inactive" in errors["lines.1.account"][0]


def test_blank_lines_are_skipped_and_keep_the_positions_of_errors(agency_a, clerk):
    with schema_context(agency_a.schema_name):
        lines = [{}, _line("5204", "7"), {"account": None, "debit": ""}, _line("1102", "", "7")]
    voucher = _create(agency_a, clerk, lines)
    with schema_context(agency_a.schema_name):
        assert voucher.lines.count() == 2


def test_dates_outside_any_fiscal_year_or_in_a_closed_period_are_refused(agency_a, clerk, boss):
    with schema_context(agency_a.schema_name):
        lines = [_line("5204", "7"), _line("1102", "", "7")]
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        _create(agency_a, clerk, lines, date=date(1990, 1, 1))
    assert "No fiscal year" in caught.value.message_dict["date"][0]
    with schema_context(agency_a.schema_name):
        period = Period.objects.get(start__lte=today(), end__gte=today())
        chart.period_close(by=boss, period=period)
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        _create(agency_a, clerk, lines)
    assert "closed" in caught.value.message_dict["date"][0]
    with schema_context(agency_a.schema_name):
        assert Period.objects.get(pk=period.pk).status == PeriodStatus.CLOSED


def test_header_fields_are_required(agency_a, clerk):
    with schema_context(agency_a.schema_name):
        lines = [_line("5204", "7"), _line("1102", "", "7")]
    with pytest.raises(ValidationError) as caught:
        _create(agency_a, clerk, lines, description=" ", department=None, date=None, type="x")
    assert {"description", "department", "date", "type"} <= set(caught.value.message_dict)


def test_entering_needs_the_permission(agency_a):
    reader = finance_employee(agency_a, "finance.reports")
    with schema_context(agency_a.schema_name):
        lines = [_line("5204", "7"), _line("1102", "", "7")]
    with pytest.raises(PermissionDenied):
        _create(agency_a, reader, lines)


def test_attachments_are_checked_and_stored(agency_a, clerk):
    voucher = make_voucher(agency_a, clerk, files=[pdf_upload("invoice.pdf")])
    with schema_context(agency_a.schema_name):
        attachment = VoucherAttachment.objects.get(voucher=voucher)
        assert attachment.content_type == "application/pdf"
        assert attachment.original_name == "invoice.pdf"
        assert attachment.file.name.startswith(agency_a.schema_name)
        lines = [_line("5204", "7"), _line("1102", "", "7")]
        count = Voucher.objects.count()
    fake = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    with pytest.raises(ValidationError) as caught:
        _create(agency_a, clerk, lines, files=[fake])
    assert "files" in caught.value.message_dict
    with schema_context(agency_a.schema_name):
        assert Voucher.objects.count() == count


def test_only_the_maker_corrects_a_draft_and_the_lines_are_replaced(agency_a, clerk, boss):
    voucher = make_voucher(agency_a, clerk, files=[pdf_upload("a.pdf")])
    with schema_context(agency_a.schema_name):
        new_lines = [_line("5201", "300"), _line("5202", "200"), _line("1102", "", "500")]
        fields = {
            "date": voucher.date,
            "department": voucher.department,
            "counterparty": "x",
            "description": "مصحح",
            "lines": new_lines,
        }
        with pytest.raises(PermissionDenied):
            vouchers.voucher_update(by=boss, voucher=voucher, **fields)
        attachment = voucher.attachments.get()
        updated = vouchers.voucher_update(
            by=clerk, voucher=voucher, remove_attachments=[attachment.pk], **fields
        )
        assert updated.total == Decimal("500.00")
        assert updated.number == voucher.number
        assert [x.account.code for x in updated.lines.all()] == ["5201", "5202", "1102"]
        assert not updated.attachments.exists()
        next_year = date(voucher.fiscal_year.end.year + 1, 1, 15)
        chart.fiscal_year_create(by=boss, start=next_year)
        with pytest.raises(ValidationError) as caught:
            vouchers.voucher_update(by=clerk, voucher=voucher, **{**fields, "date": next_year})
        assert "date" in caught.value.message_dict
        final_approval(voucher, approver=boss)
        ledger.voucher_post(voucher, by=boss)
        with pytest.raises(PermissionDenied):
            vouchers.voucher_update(by=clerk, voucher=voucher, **fields)


def test_cancel_keeps_the_number_and_only_drafts(agency_a, clerk, boss):
    voucher = make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        with pytest.raises(PermissionDenied):
            vouchers.voucher_cancel(by=boss, voucher=voucher)
        cancelled = vouchers.voucher_cancel(by=clerk, voucher=voucher, reason="مكرر")
        assert cancelled.status == VoucherStatus.CANCELLED
        assert Voucher.objects.get(pk=voucher.pk).number == voucher.number
        with pytest.raises(PermissionDenied):
            vouchers.voucher_cancel(by=clerk, voucher=voucher)
        with pytest.raises(ValidationError):
            ledger.voucher_post(voucher, by=boss)


def test_amount_clean_accepts_halalas_and_refuses_floats():
    assert vouchers.amount_clean("1,250.5") == Decimal("1250.50")
    assert vouchers.amount_clean(Decimal("3.100")) == Decimal("3.10")
    assert vouchers.amount_clean("") == Decimal("0.00")
    for bad in (0.1, "1e400", "NaN", "-0.01", "0.001"):
        with pytest.raises(ValidationError):
            vouchers.amount_clean(bad)


def test_voucher_in_next_year_gets_that_years_numbers(agency_a, clerk, boss):
    with schema_context(agency_a.schema_name):
        year = Period.objects.get(start__lte=today(), end__gte=today()).fiscal_year
        chart.fiscal_year_create(by=boss, start=year.end + timedelta(days=1))
    voucher = make_voucher(agency_a, clerk, day=year.end + timedelta(days=3))
    assert voucher.number == 1
    assert voucher.fiscal_year_id != year.pk
    assert account  # the factory helper is used by the other tests
