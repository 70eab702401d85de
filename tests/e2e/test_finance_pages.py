"""Every finance page (vouchers: list, new, page, correction; the review inbox, the review chains
and a chain's form, delegations; the chart of accounts and an account's form; fiscal years,
opening balances, reopening a period; budgets, a budget line, the budget rule; each report) on
a desktop (1280 CSS px) and a phone (320 CSS px), in Arabic and in English: the page is no wider
than the viewport (tables scroll inside their focusable region), axe-core finds no serious or
critical violation, <html lang dir> follow the language. Amounts are written the same way on
the voucher pages and in the reports (grouped, the language's marks). Screenshots in
tests/e2e/artifacts/pages/<lang>-<width>-finance-*.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.formats import number_format
from django_tenants.utils import schema_context

from tests.e2e.helpers import in_thread
from tests.e2e.test_every_page import WIDTHS, audit_page, sign_in
from tests.factories import make_employee

pytestmark = pytest.mark.e2e

ALL = (
    "finance.enter",
    "finance.review",
    "finance.approve",
    "finance.configure",
    "finance.reports",
    "finance.close_periods",
)
AMOUNT = Decimal("24750.25")


@pytest.fixture
def finance_world(agencies, orm, seed) -> dict:
    """Committed, through the services: a department of this run, its finance administrator
    (every finance permission, the auditor of the pages), a clerk, a final approver and another
    reviewer; a chain (the administrator, then the approver); a voucher waiting for the
    administrator, a posted one, a draft of the administrator's own; a budget line; a
    delegation."""
    from finance.models import Account, FiscalYear
    from finance.services import review, vouchers
    from finance.services.budgets import budget_line_create
    from finance.services.review_config import (
        LevelInput,
        review_chain_save,
        review_delegation_create,
    )
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"finpg-admin-{seed}@alpha.example")
        perms = {
            "clerk": ("finance.enter",),
            "approver": ("finance.approve",),
            "deputy": ("finance.review",),
        }
        users = {k: make_employee(alpha, email=f"finpg-{k}-{seed}@alpha.example") for k in perms}
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin,
                name_ar=f"إدارة الشؤون المالية والإدارية {seed}",
                name_en=f"Finance and administration {seed}",
            )
            Membership.objects.filter(user=admin).update(
                granted_permissions=list(ALL), department=department
            )
            for key, granted in perms.items():
                Membership.objects.filter(user=users[key]).update(
                    granted_permissions=list(granted), department=department
                )
            admin.refresh_from_db()
            chain, _warnings = review_chain_save(
                actor=admin,
                voucher_type="payment",
                department_id=department.pk,
                min_amount="0",
                max_amount=None,
                levels=[
                    LevelInput(kind="named", user_ids=[admin.pk, users["deputy"].pk]),
                    LevelInput(kind="named", user_ids=[users["approver"].pk]),
                ],
            )
            today = timezone.localdate()
            year = FiscalYear.objects.get(start__lte=today, end__gte=today)
            supplies = Account.objects.get(code="5204")
            bank = Account.objects.get(code="1102")
            budget = budget_line_create(
                actor=admin,
                fiscal_year=year,
                account=supplies,
                department=department,
                period=None,
                amount="100000",
                reason="الميزانية السنوية للوازم المكتبية",
            )

            def enter(maker, description: str):
                return vouchers.voucher_create(
                    by=maker,
                    type="payment",
                    date=today,
                    department=department,
                    counterparty="شركة التوريدات المكتبية المتحدة للتجارة والمقاولات المحدودة",
                    description=description,
                    lines=[
                        {"account": supplies, "debit": str(AMOUNT), "description": "أحبار"},
                        {"account": bank, "credit": str(AMOUNT), "description": ""},
                    ],
                )

            waiting = enter(users["clerk"], "توريد أحبار وطابعات لقسم الحسابات")
            review.voucher_submit(waiting, by=users["clerk"])
            posted = enter(users["clerk"], "شراء أوراق تصوير للربع الأول")
            review.voucher_submit(posted, by=users["clerk"])
            review.voucher_approve(posted, by=admin)
            review.voucher_approve(posted, by=users["approver"])
            draft = enter(admin, "مسودة سند لتجهيزات قاعة الاجتماعات")
            review_delegation_create(
                actor=admin,
                delegator=admin,
                delegate=users["deputy"],
                starts_on=today,
                ends_on=today + timedelta(days=7),
                reason="إجازة",
            )
            return {
                "users": [admin.pk, *(u.pk for u in users.values())],
                "admin": admin.email,
                "department": department.pk,
                "year": year.pk,
                "period": year.periods.order_by("number").first().pk,
                "supplies": supplies.pk,
                "chain": chain.pk,
                "budget": budget.pk,
                "waiting": waiting.pk,
                "posted": posted.pk,
                "draft": draft.pk,
            }

    with orm():
        return in_thread(prepare)


def finance_pages(world: dict) -> list[tuple[str, str]]:
    f = "/a/alpha/finance"
    scope = f"?fiscal_year={world['year']}&department={world['department']}"
    return [
        ("vouchers", f"{f}/vouchers/"),
        ("voucher-new", f"{f}/vouchers/new/?type=payment"),
        ("voucher-waiting", f"{f}/vouchers/{world['waiting']}/"),
        ("voucher-posted", f"{f}/vouchers/{world['posted']}/"),
        ("voucher-draft", f"{f}/vouchers/{world['draft']}/"),
        ("voucher-edit", f"{f}/vouchers/{world['draft']}/edit/"),
        ("review-inbox", f"{f}/review/"),
        ("review-chains", f"{f}/review/chains/"),
        ("review-chain-new", f"{f}/review/chains/new/"),
        ("review-chain", f"{f}/review/chains/{world['chain']}/"),
        ("review-delegations", f"{f}/review/delegations/"),
        ("accounts", f"{f}/accounts/"),
        ("account-new", f"{f}/accounts/new/"),
        ("account", f"{f}/accounts/{world['supplies']}/"),
        ("years", f"{f}/years/"),
        ("year-new", f"{f}/years/new/"),
        ("opening", f"{f}/years/{world['year']}/opening/"),
        ("period-reopen", f"{f}/periods/{world['period']}/reopen/"),
        ("budgets", f"{f}/budgets/"),
        ("budget-new", f"{f}/budgets/new/"),
        ("budget", f"{f}/budgets/{world['budget']}/"),
        ("budget-control", f"{f}/budgets/control/"),
        ("reports", f"{f}/reports/"),
        ("report-vouchers", f"{f}/reports/vouchers/{scope}"),
        ("report-statement", f"{f}/reports/statement/{scope}&account={world['supplies']}"),
        ("report-ledger", f"{f}/reports/ledger/{scope}"),
        ("report-trial-balance", f"{f}/reports/trial-balance/{scope}"),
        ("report-budget", f"{f}/reports/budget/{scope}"),
        ("report-waiting", f"{f}/reports/waiting/{scope}"),
    ]


def grouped(lang: str) -> str:
    with translation.override(lang):
        return number_format(AMOUNT, 2, use_l10n=True, force_grouping=True)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_finance_pages_fit_a_phone_and_pass_axe(
    live_url, new_context, finance_world, artifacts, orm, lang
):
    from accounts.models import User

    with orm():
        in_thread(
            lambda: User.objects.filter(pk__in=finance_world["users"]).update(
                preferred_language=lang
            )
        )
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    direction = "rtl" if lang == "ar" else "ltr"
    amount = grouped(lang)
    # Where the voucher's amount shows, it is written as in the reports.
    with_amount = {"vouchers", "voucher-posted", "review-inbox", "report-ledger"}
    problems: list[str] = []
    signed_in = None
    for width in WIDTHS:
        context = new_context(viewport={"width": width, "height": 800}, storage_state=signed_in)
        page = context.new_page()
        if signed_in is None:
            sign_in(page, live_url, finance_world["admin"])
            signed_in = context.storage_state()
        for name, path in finance_pages(finance_world):
            response = page.goto(live_url + path)
            if response.status != 200:
                problems.append(f"{path}: HTTP {response.status}")
                continue
            found = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
            if found != [lang, direction]:
                problems.append(f"{path}: lang/dir {found}")
            if name in with_amount and amount not in page.locator("main").inner_text():
                problems.append(f"{path}: the amount is not written {amount!r}")
            problems += audit_page(page, f"{lang}-{width}-finance-{name}", width, folder)
        context.close()
    assert problems == [], "\n".join(problems)
