"""The reports' and budgets' pages: who may open each URL (the isolation table), what the
pages show in Arabic and English, their downloads, and query counts that do not grow."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from finance.models import BudgetLine, BudgetRevision, FinanceSettings
from tenants.staff.models import Membership
from tests.factories import make_beneficiary, make_employee
from tests.finance import reports_fixtures

books = reports_fixtures.books


@pytest.fixture
def world(books, agency_b):
    agency = books["agency"]
    reporter = make_employee(agency)
    configurer = make_employee(agency)
    with schema_context(agency.schema_name):
        Membership.objects.filter(user=reporter).update(granted_permissions=["finance.reports"])
        Membership.objects.filter(user=configurer).update(granted_permissions=["finance.configure"])
        line = BudgetLine.objects.filter(period__isnull=True).get()
    return {
        **books,
        "line": line,
        "reporter": reporter,
        "configurer": configurer,
        "employee": make_employee(agency),
        "employee_b": make_employee(agency_b),
        "admin_b": make_employee(agency_b, roles=("admin",)),
        "beneficiary": make_beneficiary(),
    }


def urls(world) -> dict[str, tuple[str, str, str]]:
    """name: (method, url, permission needed)."""
    slug = world["agency"].slug

    def w(name, **kwargs):
        return reverse(f"workspace:{name}", kwargs={"agency_slug": slug, **kwargs})

    a = world["accounts"]["1101"].pk
    return {
        "index": ("get", w("finance_reports"), "reports"),
        "vouchers": ("get", w("finance_report_vouchers") + "?by=status", "reports"),
        "vouchers_xlsx": ("get", w("finance_report_vouchers") + "?export=xlsx", "reports"),
        "statement": ("get", w("finance_report_statement") + f"?account={a}", "reports"),
        "ledger": ("get", w("finance_report_ledger"), "reports"),
        "trial_balance": ("get", w("finance_report_trial_balance"), "reports"),
        "trial_balance_pdf": (
            "get",
            w("finance_report_trial_balance") + "?export=pdf",
            "reports",
        ),
        "budget": ("get", w("finance_report_budget"), "reports"),
        "waiting": ("get", w("finance_report_waiting"), "reports"),
        "waiting_xlsx": ("get", w("finance_report_waiting") + "?export=xlsx", "reports"),
        "budgets": ("get", w("finance_budgets"), "either"),
        "budget_line": ("get", w("finance_budget", line_id=world["line"].pk), "either"),
        "budget_revise": (
            "post",
            w("finance_budget", line_id=world["line"].pk),
            "configure",
        ),
        "budget_new": ("post", w("finance_budget_new"), "configure"),
        "budget_control": ("post", w("finance_budget_control"), "configure"),
    }


POSTED = {
    "amount": "99",
    "reason": "intrusion",
    "budget_control": "block",
    "fiscal_year": "",
    "account": "",
}


def snapshot(world) -> dict:
    with schema_context(world["agency"].schema_name):
        return {
            "lines": sorted(BudgetLine.objects.values_list("pk", "amount")),
            "revisions": BudgetRevision.objects.count(),
            "settings": list(FinanceSettings.objects.values_list("budget_control", flat=True)),
        }


def _post_data(world, name):
    if name == "budget_new":
        return {
            **POSTED,
            "fiscal_year": world["year"].pk,
            "account": world["accounts"]["5102"].pk,
        }
    return POSTED


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("employee_b", 403),
        ("admin_b", 403),
        ("beneficiary", 403),
        ("employee", 403),  # an employee of the agency without finance permissions
    ],
)
def test_every_url_refuses_outsiders_and_employees_without_permission(client, world, who, expected):
    if who != "anonymous":
        client.force_login(world[who])
    before = snapshot(world)
    for name, (method, url, _perm) in urls(world).items():
        response = getattr(client, method)(
            url, _post_data(world, name) if method == "post" else None
        )
        if expected == "login":
            assert response.status_code == 302, (who, name)
            assert response["Location"].startswith(reverse("account_login")), (who, name)
        else:
            assert response.status_code == expected, (who, name, response.status_code)
    assert snapshot(world) == before


@pytest.mark.parametrize("who", ["reporter", "configurer"])
def test_each_permission_opens_only_its_own_pages(client, world, who):
    client.force_login(world[who])
    allowed = {"reporter": ("reports", "either"), "configurer": ("configure", "either")}[who]
    before = snapshot(world)
    for name, (method, url, perm) in urls(world).items():
        if method == "post":
            continue  # the writes are tested below
        response = client.get(url)
        if perm in allowed:
            assert response.status_code == 200, (who, name, response.status_code)
        else:
            assert response.status_code == 403, (who, name, response.status_code)
    # A reporter may read a budget line but not revise it.
    if who == "reporter":
        method, url, _perm = urls(world)["budget_revise"]
        assert client.post(url, POSTED).status_code == 403
    assert snapshot(world) == before


def test_trial_balance_page_in_arabic_and_english(client, world):
    client.force_login(world["admin"])
    url = reverse("workspace:finance_report_trial_balance", kwargs={"agency_slug": "alpha"})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "ميزان المراجعة" in page
    assert "10\u066c000\u066b00" in page  # 10,000.00 with the Arabic separators
    assert "حساب 1101" in page
    client.post(reverse("portal:set_language"), {"language": "en", "next": "/"})
    page = client.get(url).content.decode()
    assert "Trial balance" in page and "10,000.00" in page and "Account 1101" in page
    assert "Debits and credits balance." in page


def test_xlsx_download_has_numbers_and_is_right_to_left_in_arabic(client, world):
    client.force_login(world["admin"])
    url = reverse("workspace:finance_report_trial_balance", kwargs={"agency_slug": "alpha"})
    response = client.get(url + "?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.sheet_view.rightToLeft
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "الحساب"
    cash = next(row for row in rows if row[0] and "1101" in str(row[0]))
    assert cash[1:] == (10000, 0, 2000, 3500, 8500, 0)
    assert sheet.cell(row=2, column=2).number_format == "#,##0.00"
    assert rows[-1][0] == "الإجمالي" and rows[-1][5] == rows[-1][6] == 12000


def test_pdf_download_in_arabic_is_right_to_left(client, world, monkeypatch):
    from finance.views import reports as views

    seen = {}

    def fake_pdf(html, filename):
        seen["html"], seen["filename"] = html, filename
        from django.http import HttpResponse

        return HttpResponse(b"%PDF", content_type="application/pdf")

    monkeypatch.setattr(views, "pdf_response", fake_pdf)
    client.force_login(world["admin"])
    url = reverse("workspace:finance_report_budget", kwargs={"agency_slug": "alpha"})
    response = client.get(url + "?export=pdf")
    assert response["Content-Type"] == "application/pdf"
    assert 'dir="rtl"' in seen["html"] and "الموازنة مقابل الفعلي" in seen["html"]
    assert "3\u066c500\u066b00" in seen["html"]
    assert seen["filename"].startswith("alpha-budget-20260101-20261231")


def test_real_pdf_is_made(client, world):
    client.force_login(world["admin"])
    url = reverse("workspace:finance_report_vouchers", kwargs={"agency_slug": "alpha"})
    response = client.get(url + "?export=pdf")
    assert response.status_code in (200, 302)  # 302: this server has no Pango
    if response.status_code == 200:
        assert response.content.startswith(b"%PDF")


def test_bad_filters_are_shown_with_their_errors(client, world):
    client.force_login(world["admin"])
    url = reverse("workspace:finance_report_trial_balance", kwargs={"agency_slug": "alpha"})
    response = client.get(url + "?period_from=5&period_to=2")
    assert response.status_code == 400
    assert "يسبق" in response.content.decode() or "before" in response.content.decode()
    url = reverse("workspace:finance_report_statement", kwargs={"agency_slug": "alpha"})
    assert client.get(url).status_code == 400  # the statement needs an account


@pytest.mark.parametrize(
    "name", ["vouchers", "statement", "ledger", "trial_balance", "budget", "budgets"]
)
def test_pages_query_count_does_not_grow(client, world, name):
    client.force_login(world["admin"])
    method, url, _perm = urls(world)[name]

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    count()  # warm the session and the permission cache
    before = count()
    reports_fixtures.more_vouchers(world, 120)
    assert count() == before
