"""Budgets (R-43): setting and revising lines (every change a revision and an audit event,
translated field errors, nothing saved on an error), the agency's budget control, and
``budget_check`` at submission."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django_tenants.utils import schema_context

from finance.constants import BudgetControl, VoucherStatus
from finance.models import BudgetLine, BudgetRevision, Period
from finance.services import budgets as services
from tenants.staff.models import AuditEvent
from tests.factories import make_employee
from tests.finance import builders_reports as b
from tests.finance import reports_fixtures

books = reports_fixtures.books
D = Decimal


def create(books, **kwargs):
    values = {
        "actor": books["admin"],
        "fiscal_year": books["year"],
        "account": books["accounts"]["5102"],
        "department": books["dept_a"],
        "period": None,
        "amount": "1200.50",
        "reason": "",
    }
    values.update(kwargs)
    return services.budget_line_create(**values)


def test_set_and_revise_a_budget_records_revisions_and_audit(books):
    with schema_context(books["agency"].schema_name):
        line = create(books, reason="الخطة")
        services.budget_line_revise(
            actor=books["admin"], line=line, amount="1500", reason="زيادة الأسعار"
        )
        line.refresh_from_db()
        assert line.amount == D("1500.00")
        revisions = list(line.revisions.values_list("previous", "amount", "reason"))
        assert revisions == [
            (D("0"), D("1200.50"), "الخطة"),
            (D("1200.50"), D("1500"), "زيادة الأسعار"),
        ]
        actions = list(
            AuditEvent.objects.filter(object_id=str(line.pk))
            .order_by("pk")
            .values_list("action", flat=True)
        )
    assert actions == ["finance.budget_set", "finance.budget_revise"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount": "-1"}, "amount", "لا يمكن أن تكون الموازنة سالبة."),
        ({"amount": "10.555"}, "amount", "المبالغ بخانتين عشريتين على الأكثر (هللات)."),
        ({"amount": "abc"}, "amount", "أدخل مبلغًا، مثل 1500.50."),
        (
            {"account": "1101"},
            "account",
            "تُحدَّد الموازنات على حسابات المصروفات أو الإيرادات التي تقبل القيود.",
        ),
        (
            {"account": "51"},
            "account",
            "تُحدَّد الموازنات على حسابات المصروفات أو الإيرادات التي تقبل القيود.",
        ),
        (
            {"account": "5101"},  # the fixture's annual line of 5101 / department A
            "account",
            "لهذا الحساب والإدارة هذه الموازنة من قبل: عدّلها.",
        ),
        ({"account": "5101", "month": 3}, "period", "لهذا الحساب والإدارة موازنة سنوية: عدّلها."),
        (
            {"account": "5102", "department": "dept_b"},  # budgeted month by month
            "period",
            "موازنة هذا الحساب والإدارة شهرية.",
        ),
    ],
)
def test_bad_budget_input_is_refused_with_a_translated_field_error(books, change, field, message):
    with schema_context(books["agency"].schema_name):
        kwargs = {}
        if "amount" in change:
            kwargs["amount"] = change["amount"]
        if "account" in change:
            kwargs["account"] = books["accounts"][change["account"]]
        if "department" in change:
            kwargs["department"] = books[change["department"]]
        if "month" in change:
            kwargs["period"] = Period.objects.get(fiscal_year=books["year"], number=change["month"])
        before = (BudgetLine.objects.count(), BudgetRevision.objects.count())
        with translation.override("ar"), pytest.raises(ValidationError) as raised:
            create(books, **kwargs)
        assert message in raised.value.message_dict[field]
        assert (BudgetLine.objects.count(), BudgetRevision.objects.count()) == before


def test_revise_needs_a_reason_and_a_valid_amount(books):
    with schema_context(books["agency"].schema_name):
        line = BudgetLine.objects.get(period__isnull=True)
        with translation.override("ar"), pytest.raises(ValidationError) as raised:
            services.budget_line_revise(actor=books["admin"], line=line, amount="-5", reason=" ")
        errors = raised.value.message_dict
        assert errors["reason"] == ["اذكر سبب تعديل الموازنة."]
        assert errors["amount"] == ["لا يمكن أن تكون الموازنة سالبة."]
        line.refresh_from_db()
        assert line.amount == D("3500") and not line.revisions.exists()


def test_only_finance_configure_sets_budgets(books):
    clerk = make_employee(books["agency"])
    with schema_context(books["agency"].schema_name):
        with pytest.raises(PermissionDenied):
            create(books, actor=clerk)
        with pytest.raises(PermissionDenied):
            services.budget_control_set(actor=clerk, value=BudgetControl.BLOCK)


def draft(books, *lines, day=date(2026, 3, 15)):
    with schema_context(books["agency"].schema_name):
        return b.make_voucher(
            fiscal_year=books["year"],
            day=day,
            department=books["dept_a"],
            maker=books["admin"],
            status=VoucherStatus.DRAFT,
            lines=list(lines),
        )


def test_budget_check_against_the_annual_budget(books):
    a, dept = books["accounts"], books["dept_a"]
    within = draft(books, (a["5101"], "500", "0", dept), (a["1101"], "0", "500", None))
    over = draft(books, (a["5101"], "600", "0", dept), (a["1101"], "0", "600", None))
    with schema_context(books["agency"].schema_name):
        assert services.budget_check(within) == []
        [overrun] = services.budget_check(over)
    assert (overrun.budget, overrun.actual, overrun.amount, overrun.excess) == (
        D("3500"),
        D("3000"),  # the in-review voucher of the fixture is not posted: not spent
        D("600"),
        D("100"),
    )
    assert overrun.period is None and overrun.account.code == "5101"


def test_budget_check_against_the_month_when_budgeted_monthly(books):
    a, dept_b = books["accounts"], books["dept_b"]
    february = draft(
        books, (a["5102"], "1", "0", dept_b), (a["1101"], "0", "1", None), day=date(2026, 2, 27)
    )
    march = draft(
        books, (a["5102"], "1", "0", dept_b), (a["1101"], "0", "1", None), day=date(2026, 3, 2)
    )
    with schema_context(books["agency"].schema_name):
        [feb] = services.budget_check(february)
        assert (feb.budget, feb.actual, feb.period.number) == (D("400"), D("500"), 2)
        [mar] = services.budget_check(march)  # no line for March: nothing budgeted
        assert (mar.budget, mar.actual, mar.excess, mar.period.number) == (
            D("0"),
            D("0"),
            D("1"),
            3,
        )


def test_budget_check_ignores_unbudgeted_keys_credits_and_other_kinds(books):
    a, dept_a = books["accounts"], books["dept_a"]
    voucher = draft(
        books,
        (a["5102"], "99999", "0", dept_a),  # no budget for supplies in department A
        (a["1102"], "5000", "0", None),  # an asset
        (a["5101"], "0", "100", dept_a),  # a credit on a budgeted expense
        (a["1101"], "0", "104899", None),
    )
    with schema_context(books["agency"].schema_name):
        assert services.budget_check(voucher) == []


def test_budget_check_of_a_posted_voucher_does_not_count_it_twice(books):
    a, dept = books["accounts"], books["dept_a"]
    with schema_context(books["agency"].schema_name):
        posted = b.make_voucher(
            fiscal_year=books["year"],
            day=date(2026, 4, 1),
            department=dept,
            maker=books["admin"],
            lines=[(a["5101"], "500", "0", dept), (a["1101"], "0", "500", None)],
        )
        assert services.budget_check(posted) == []


def test_budget_check_query_count_is_fixed(books):
    a, dept = books["accounts"], books["dept_a"]
    small = draft(books, (a["5101"], "600", "0", dept), (a["1101"], "0", "600", None))
    lines = [(a["5101"], "10", "0", dept)] * 20 + [(a["1101"], "0", "200", None)]
    large = draft(books, *lines)
    with schema_context(books["agency"].schema_name):
        services.budget_check(small)  # the schema's search_path is set on the first query
        counts = []
        for voucher in (small, large):
            with CaptureQueriesContext(connection) as captured:
                services.budget_check(voucher)
            counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 3


def test_enforce_warns_or_blocks_as_the_agency_chose(books):
    a, dept = books["accounts"], books["dept_a"]
    over = draft(books, (a["5101"], "600", "0", dept), (a["1101"], "0", "600", None))
    with schema_context(books["agency"].schema_name):
        assert services.budget_control() == BudgetControl.WARN
        assert len(services.budget_check_enforce(over)) == 1
        services.budget_control_set(actor=books["admin"], value=BudgetControl.BLOCK)
        with translation.override("ar"), pytest.raises(ValidationError) as raised:
            services.budget_check_enforce(over)
        assert raised.value.message_dict["lines"][0] == "السند يتجاوز موازنته."
        assert AuditEvent.objects.filter(action="finance.budget_control").exists()


def test_budget_pages_set_revise_and_control(client, books):
    client.force_login(books["admin"])
    slug = books["agency"].slug

    def w(name, **kwargs):
        return reverse(f"workspace:{name}", kwargs={"agency_slug": slug, **kwargs})

    response = client.post(
        w("finance_budget_new"),
        {
            "fiscal_year": books["year"].pk,
            "account": books["accounts"]["5102"].pk,
            "department": books["dept_a"].pk,
            "month": "",
            "amount": "12.345",
        },
    )
    assert response.status_code == 400
    assert "المبالغ بخانتين عشريتين على الأكثر" in response.content.decode()
    response = client.post(
        w("finance_budget_new"),
        {
            "fiscal_year": books["year"].pk,
            "account": books["accounts"]["5102"].pk,
            "department": books["dept_a"].pk,
            "month": "4",
            "amount": "250",
        },
    )
    assert response.status_code == 302
    with schema_context(books["agency"].schema_name):
        line = BudgetLine.objects.get(account=books["accounts"]["5102"], department=books["dept_a"])
        assert line.period.number == 4
    response = client.post(w("finance_budget", line_id=line.pk), {"amount": "300", "reason": ""})
    assert response.status_code == 400
    response = client.post(
        w("finance_budget", line_id=line.pk), {"amount": "300", "reason": "عقد جديد"}
    )
    assert response.status_code == 302
    page = client.get(w("finance_budget", line_id=line.pk)).content.decode()
    assert "عقد جديد" in page and "300٫00" in page
    assert client.post(w("finance_budget_control"), {"budget_control": "block"}).status_code == 302
    with schema_context(books["agency"].schema_name):
        assert services.budget_control() == BudgetControl.BLOCK
    listing = client.get(w("finance_budgets")).content.decode()
    assert "3٬500٫00" in listing
