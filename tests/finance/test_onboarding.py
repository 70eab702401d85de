"""What a new agency starts with in finance: the default chart, the finance settings, a fiscal
year of today with twelve periods, and every finance permission for the admin role."""

from django.utils import timezone
from django_tenants.utils import schema_context

from core.modules import default_grants, permission_labels
from finance.models import Account, FinanceSettings, FiscalYear, NumberCounter, Period
from finance.services.chart import finance_onboard
from tenants.staff.models import Role


def test_a_new_agency_has_the_default_chart_and_the_current_fiscal_year(agency_a):
    today = timezone.localdate()
    with schema_context(agency_a.schema_name):
        accounts = {a.code: a for a in Account.objects.select_related("parent")}
        assert len(accounts) >= 30
        roots = {code for code, a in accounts.items() if a.parent is None}
        assert roots == {"1", "2", "3", "4", "5"}
        for account in accounts.values():
            assert account.name_ar and account.name_en
            if account.parent is not None:
                assert account.parent.kind == account.kind
                assert not account.parent.is_postable
        assert accounts["1102"].is_postable and not accounts["11"].is_postable
        assert FinanceSettings.objects.filter(pk=1).exists()
        year = FiscalYear.objects.get(start__lte=today, end__gte=today)
        periods = list(Period.objects.filter(fiscal_year=year).order_by("number"))
        assert [p.number for p in periods] == list(range(1, 13))
        assert periods[0].start == year.start and periods[-1].end == year.end
        assert all(p.status == "open" for p in periods)
        keys = set(NumberCounter.objects.filter(fiscal_year=year).values_list("key", flat=True))
        assert keys == {"receipt", "payment", "journal", "ledger"}


def test_the_admin_role_holds_every_finance_permission(agency_a):
    finance = {code for code in permission_labels() if code.startswith("finance.")}
    assert len(finance) == 6
    assert finance <= set(default_grants("admin"))
    with schema_context(agency_a.schema_name):
        assert finance <= set(Role.objects.get(codename="admin").permissions)
        assert not finance & set(Role.objects.get(codename="employee").permissions)


def test_onboarding_adds_a_fiscal_year_when_the_template_is_older(agency_a):
    with schema_context(agency_a.schema_name):
        later = FiscalYear.objects.order_by("-end").first().end.replace(month=6, day=15)
        later = later.replace(year=later.year + 1)
        finance_onboard(today=later)
        year = FiscalYear.objects.get(start__lte=later, end__gte=later)
        assert year.periods.count() == 12
        finance_onboard(today=later)  # idempotent
        assert FiscalYear.objects.filter(start__lte=later, end__gte=later).count() == 1
