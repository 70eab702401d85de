"""The finance workspace pages: who may open each URL (the isolation table), entering a voucher
through the form (lines, "add a line" without JavaScript, errors on the line), the list's query
budget, the chart and period pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from finance.constants import PeriodStatus, VoucherStatus
from finance.models import Account, FiscalYear, OpeningBalance, Period, Voucher
from tests.factories import make_beneficiary, make_employee, pdf_upload
from tests.finance.factories import (
    ALL_PERMISSIONS,
    department_of,
    finance_employee,
    make_posted,
    make_voucher,
)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


@pytest.fixture
def world(agency_a, agency_b):
    clerk = finance_employee(agency_a, "finance.enter")
    voucher = make_voucher(agency_a, clerk, files=[pdf_upload("invoice.pdf")])
    with schema_context(agency_a.schema_name):
        attachment = voucher.attachments.get()
        period = Period.objects.get(pk=voucher.period_id)
        account = Account.objects.get(code="5204")
    return {
        "agency": agency_a,
        "clerk": clerk,
        "voucher": voucher,
        "attachment": attachment,
        "period": period,
        "account": account,
        "boss": finance_employee(agency_a, *ALL_PERMISSIONS),
        "other_clerk": finance_employee(agency_a, "finance.enter"),
        "employee": make_employee(agency_a),
        "employee_b": make_employee(agency_b),
        "admin_b": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }


def urls(world) -> dict[str, tuple[str, str]]:
    slug = world["agency"].slug
    v = world["voucher"].pk

    def w(name, **kwargs):
        return reverse(f"workspace:{name}", kwargs={"agency_slug": slug, **kwargs})

    return {
        "vouchers": ("get", w("finance_vouchers")),
        "voucher_new": ("get", w("finance_voucher_new")),
        "voucher": ("get", w("finance_voucher", voucher_id=v)),
        "voucher_edit": ("get", w("finance_voucher_edit", voucher_id=v)),
        "voucher_edit_post": ("post", w("finance_voucher_edit", voucher_id=v)),
        "voucher_cancel": ("post", w("finance_voucher_cancel", voucher_id=v)),
        "voucher_reverse": ("post", w("finance_voucher_reverse", voucher_id=v)),
        "attachment": (
            "get",
            w("finance_voucher_attachment", voucher_id=v, attachment_id=world["attachment"].pk),
        ),
        "accounts": ("get", w("finance_accounts")),
        "account_new": ("get", w("finance_account_new")),
        "account_edit": ("get", w("finance_account_edit", account_id=world["account"].pk)),
        "account_remove": ("post", w("finance_account_remove", account_id=world["account"].pk)),
        "years": ("get", w("finance_fiscal_years")),
        "year_new": ("get", w("finance_fiscal_year_new")),
        "opening": (
            "get",
            w("finance_opening_balances", fiscal_year_id=world["period"].fiscal_year_id),
        ),
        "period_close": ("post", w("finance_period_close", period_id=world["period"].pk)),
        "period_reopen": ("post", w("finance_period_reopen", period_id=world["period"].pk)),
    }


def snapshot(world) -> dict:
    with schema_context(world["agency"].schema_name):
        return {
            "vouchers": sorted(Voucher.objects.values_list("pk", "status", "total")),
            "accounts": sorted(Account.objects.values_list("pk", "is_active", "code")),
            "periods": sorted(Period.objects.values_list("pk", "status")),
        }


POSTED = {"reason": "x", "date": "2020-01-01", "description": "x"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("employee_b", 403),
        ("admin_b", 403),
        ("beneficiary", 403),
        ("employee", "refused"),  # an employee of the agency without finance permissions
    ],
)
def test_every_finance_url_refuses_outsiders(client, world, who, expected):
    if who != "anonymous":
        client.force_login(world[who])
    before = snapshot(world)
    for name, (method, url) in urls(world).items():
        response = getattr(client, method)(url, POSTED if method == "post" else None)
        if expected == "login":
            assert response.status_code == 302, (who, name)
            assert response["Location"].startswith(reverse("account_login")), (who, name)
        elif expected == "refused":
            assert response.status_code in (403, 404), (who, name, response.status_code)
        else:
            assert response.status_code == expected, (who, name, response.status_code)
    assert snapshot(world) == before


def test_another_clerk_sees_neither_the_voucher_nor_its_attachment(client, world):
    client.force_login(world["other_clerk"])
    for name in ("voucher", "voucher_edit", "attachment", "voucher_cancel"):
        method, url = urls(world)[name]
        assert getattr(client, method)(url).status_code == 404, name
    response = client.get(urls(world)["vouchers"][1])
    assert response.status_code == 200
    assert list(response.context["page"]) == []


def test_the_maker_and_finance_holders_see_the_voucher(client, world):
    for who in ("clerk", "boss"):
        client.force_login(world[who])
        response = client.get(urls(world)["voucher"][1])
        assert response.status_code == 200, who
        assert "invoice.pdf" in response.content.decode()
        download = client.get(urls(world)["attachment"][1])
        assert download.status_code == 200
        assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_reports_holder_sees_vouchers_but_cannot_enter(client, world):
    reader = finance_employee(world["agency"], "finance.reports")
    client.force_login(reader)
    assert client.get(urls(world)["voucher"][1]).status_code == 200
    assert client.get(urls(world)["voucher_new"][1]).status_code == 403
    assert client.get(urls(world)["voucher_edit"][1]).status_code == 403


def _form_data(world, lines, **extra):
    department = department_of(world["agency"])
    data = {
        "type": "payment",
        "date": timezone.localdate().isoformat(),
        "department": department.pk,
        "counterparty": "مؤسسة",
        "description": "سند صرف",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
    }
    with schema_context(world["agency"].schema_name):
        for index, (code, debit, credit) in enumerate(lines):
            data[f"lines-{index}-account"] = Account.objects.get(code=code).pk if code else ""
            data[f"lines-{index}-debit"] = debit
            data[f"lines-{index}-credit"] = credit
            data[f"lines-{index}-description"] = ""
    data.update(extra)
    return data


def test_entering_a_voucher_through_the_form(client, world):
    client.force_login(world["clerk"])
    url = urls(world)["voucher_new"][1]
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="add_line"' in page.content.decode()
    data = _form_data(world, [("5204", "100", ""), ("5205", "50.25", ""), ("1102", "", "150.25")])
    data["files"] = pdf_upload("quote.pdf")
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    with schema_context(world["agency"].schema_name):
        voucher = Voucher.objects.latest("id")
        assert str(voucher.total) == "150.25"
        assert voucher.lines.count() == 3
        assert voucher.attachments.get().original_name == "quote.pdf"
    assert response["Location"].endswith(f"/finance/vouchers/{voucher.pk}/")


def test_add_a_line_without_javascript_keeps_what_was_typed(client, world):
    client.force_login(world["clerk"])
    data = _form_data(world, [("5204", "100", ""), ("", "", "")], add_line="1")
    response = client.post(urls(world)["voucher_new"][1], data)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert len(formset.forms) == 3
    body = response.content.decode()
    assert 'name="lines-2-account"' in body and 'value="100"' in body
    assert "There is a problem" not in body and "مشكلة" not in body
    with schema_context(world["agency"].schema_name):
        assert Voucher.objects.count() == 1


def test_an_unbalanced_voucher_shows_the_error_and_saves_nothing(client, world):
    client.force_login(world["clerk"])
    data = _form_data(world, [("5204", "100", ""), ("1102", "", "99"), ("1102", "-1", "")])
    response = client.post(urls(world)["voucher_new"][1], data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.forms[2].errors["debit"]
    data = _form_data(world, [("5204", "100", ""), ("1102", "", "99")])
    response = client.post(urls(world)["voucher_new"][1], data)
    assert response.status_code == 200
    assert response.context["line_errors"]
    with schema_context(world["agency"].schema_name):
        assert Voucher.objects.count() == 1


def test_the_maker_corrects_and_cancels_a_draft(client, world):
    client.force_login(world["clerk"])
    edit = urls(world)["voucher_edit"][1]
    page = client.get(edit)
    assert page.status_code == 200
    assert len(page.context["formset"].forms) == 2
    data = _form_data(world, [("5201", "10", ""), ("1101", "", "10")])
    data.pop("type")
    assert client.post(edit, data).status_code == 302
    with schema_context(world["agency"].schema_name):
        voucher = Voucher.objects.get(pk=world["voucher"].pk)
        assert str(voucher.total) == "10.00"
    assert client.post(urls(world)["voucher_cancel"][1], {"reason": "مكرر"}).status_code == 302
    with schema_context(world["agency"].schema_name):
        assert Voucher.objects.get(pk=world["voucher"].pk).status == VoucherStatus.CANCELLED


def test_the_voucher_list_filters_and_keeps_its_query_count(
    client, world, django_assert_num_queries
):
    boss = world["boss"]
    for _ in range(3):
        make_voucher(world["agency"], world["clerk"])
    make_posted(world["agency"], world["clerk"], by=boss)
    client.force_login(boss)
    url = urls(world)["vouchers"][1]
    client.get(url)  # warm the caches (menu, permissions) of a first visit

    def visit():
        response = client.get(url, {"status": "draft", "type": "payment"})
        assert response.status_code == 200
        return response

    response = visit()
    assert {v.status for v in response.context["page"]} == {"draft"}
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        visit()
    for _ in range(10):
        make_voucher(world["agency"], world["clerk"])
    with django_assert_num_queries(len(few.captured_queries)):
        visit()


def test_chart_pages_add_an_account_and_refuse_a_duplicate_code(client, world):
    client.force_login(world["boss"])
    with schema_context(world["agency"].schema_name):
        heading = Account.objects.get(code="52")
    response = client.get(urls(world)["accounts"][1])
    assert response.status_code == 200 and "5204" in response.content.decode()
    url = urls(world)["account_new"][1]
    data = {
        "code": "5207",
        "name_ar": "الضيافة",
        "name_en": "Hospitality",
        "kind": "expense",
        "parent": heading.pk,
        "is_postable": "on",
        "is_active": "on",
    }
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "code": "5204"})
    assert response.status_code == 200 and response.context["form"].errors["code"]
    response = client.post(url, {**data, "code": "5208", "kind": "revenue"})
    assert response.context["form"].errors["parent"]
    # A used account is deactivated, never deleted.
    assert client.post(urls(world)["account_remove"][1]).status_code == 302
    with schema_context(world["agency"].schema_name):
        assert Account.objects.get(code="5207").parent_id == heading.pk
        assert Account.objects.get(pk=world["account"].pk).is_active is False


def test_fiscal_year_periods_close_and_reopen_pages(client, world):
    client.force_login(world["boss"])
    assert client.get(urls(world)["years"][1]).status_code == 200
    with schema_context(world["agency"].schema_name):
        last = FiscalYear.objects.order_by("-end").first()
    start = last.end + timedelta(days=1)
    response = client.post(urls(world)["year_new"][1], {"start": start.isoformat(), "name": ""})
    assert response.status_code == 302
    with schema_context(world["agency"].schema_name):
        year = FiscalYear.objects.get(start=start)
        assert year.periods.count() == 12
    response = client.post(urls(world)["year_new"][1], {"start": start.isoformat()})
    assert response.context["form"].errors["start"]
    assert client.post(urls(world)["period_close"][1]).status_code == 302
    reopen = urls(world)["period_reopen"][1]
    assert client.get(reopen).status_code == 200
    response = client.post(reopen, {"reason": ""})
    assert response.status_code == 200
    with schema_context(world["agency"].schema_name):
        assert Period.objects.get(pk=world["period"].pk).status == PeriodStatus.CLOSED
    assert client.post(reopen, {"reason": "تسوية"}).status_code == 302
    with schema_context(world["agency"].schema_name):
        assert Period.objects.get(pk=world["period"].pk).status == PeriodStatus.OPEN


def test_opening_balances_must_balance(client, world):
    client.force_login(world["boss"])
    url = urls(world)["opening"][1]
    assert client.get(url).status_code == 200
    with schema_context(world["agency"].schema_name):
        cash, surplus = Account.objects.get(code="1101"), Account.objects.get(code="3101")
    base = {
        "rows-TOTAL_FORMS": "2",
        "rows-INITIAL_FORMS": "0",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "500",
        "rows-0-account": cash.pk,
        "rows-0-debit": "1000",
        "rows-1-account": surplus.pk,
        "rows-1-credit": "999",
    }
    response = client.post(url, base)
    assert response.status_code == 200 and response.context["line_errors"]
    assert client.post(url, {**base, "rows-1-credit": "1000"}).status_code == 302
    with schema_context(world["agency"].schema_name):
        assert OpeningBalance.objects.count() == 2


def test_menu_shows_finance_only_to_holders(client, world):
    client.force_login(world["employee"])
    overview = reverse("workspace:dashboard", kwargs={"agency_slug": world["agency"].slug})
    body = client.get(overview).content.decode()
    assert "/finance/" not in body
    client.force_login(world["clerk"])
    body = client.get(overview).content.decode()
    assert "/finance/vouchers/" in body and "/finance/accounts/" not in body
    client.force_login(world["boss"])
    body = client.get(overview).content.decode()
    assert "/finance/accounts/" in body and "/finance/years/" in body
