"""Issue 14's journey in a real browser, in Arabic, each person in their own browser:

a clerk (finance.enter) enters a payment voucher with two lines and an attachment and submits
it; the first reviewer returns it with a reason; the clerk reads the reason, corrects the
amount and resubmits; the reviewer approves; the finance manager gives final approval (the
voucher is posted); the trial balance and the budget against actual (a budget line set up for
the account and department beforehand) show it; the budget report is downloaded as XLSX and
the amount found in it. Screenshots: tests/e2e/artifacts/finance-journey-*.png.
"""

import io
import re
import time
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from finance.constants import VoucherStatus
from tests.e2e.helpers import Screenshots, assert_lang, in_thread, log_in
from tests.factories import make_employee, png_upload

pytestmark = pytest.mark.e2e

FIRST_AMOUNT = "1250.50"
CORRECTED = "1300.00"
BUDGET = "10000.00"
REASON = "المبلغ لا يطابق الفاتورة المرفقة؛ الصحيح ١٣٠٠ ريال."


def ar(text) -> str:
    with translation.override("ar"):
        return gettext(str(text)) if isinstance(text, str) else str(text)


def ar_amount(value: str) -> str:
    """An amount as the Arabic pages show it: Latin digits, Arabic marks, grouped."""
    with translation.override("ar"):
        return number_format(Decimal(value), 2, use_l10n=True, force_grouping=True)


def fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, page.url


@pytest.fixture
def cast(agencies, orm, seed) -> dict:
    """Committed: a department of its own (so its chain and budget line are this run's), a
    clerk in it, a first-level reviewer, a finance manager (final approval, reports,
    configuration), the chain (reviewer, then the manager) and a budget line for office
    supplies in the department."""
    from finance.models import Account, FiscalYear
    from finance.services.budgets import budget_line_create
    from finance.services.review_config import LevelInput, review_chain_save
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"fin-admin-{seed}@alpha.example")
        people = {
            "clerk": ("finance.enter",),
            "reviewer": ("finance.review",),
            "manager": ("finance.approve", "finance.reports", "finance.configure"),
        }
        users = {
            key: make_employee(alpha, email=f"fin-{key}-{seed}@alpha.example") for key in people
        }
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"إدارة المشتريات {seed}", name_en=f"Procurement {seed}"
            )
            for key, perms in people.items():
                Membership.objects.filter(user=users[key]).update(
                    granted_permissions=list(perms), department=department
                )
            manager = users["manager"]
            review_chain_save(
                actor=manager,
                voucher_type="payment",
                department_id=department.pk,
                min_amount="0",
                max_amount=None,
                levels=[
                    LevelInput(kind="named", user_ids=[users["reviewer"].pk]),
                    LevelInput(kind="named", user_ids=[manager.pk]),
                ],
            )
            today = timezone.localdate()
            year = FiscalYear.objects.get(start__lte=today, end__gte=today)
            supplies = Account.objects.get(code="5204")
            budget_line_create(
                actor=manager,
                fiscal_year=year,
                account=supplies,
                department=department,
                period=None,
                amount=BUDGET,
                reason="ميزانية اللوازم المكتبية للسنة",
            )
            return {
                **users,
                "department": department.pk,
                "year": year.pk,
                "supplies": supplies.pk,
                "bank": Account.objects.get(code="1102").pk,
            }

    with orm():
        return in_thread(prepare)


def test_finance_journey_in_arabic(live_url, new_context, cast, orm, artifacts, tmp_path, agencies):
    import openpyxl

    alpha_schema = agencies["alpha"].schema_name

    shot = Screenshots(artifacts, "finance-journey")
    started = time.monotonic()
    vouchers = "/a/alpha/finance/vouchers/"

    # --- the clerk enters the payment voucher: two lines and an attachment
    clerk = new_context().new_page()
    log_in(clerk, live_url, cast["clerk"].email, vouchers + "new/")
    assert_lang(clerk, "ar", "rtl")
    clerk.select_option("#id_type", "payment")
    clerk.fill("#id_date", timezone.localdate().isoformat())
    clerk.select_option("#id_department", str(cast["department"]))
    clerk.fill("#id_counterparty", "مؤسسة الرواد للتوريد")
    clerk.fill("#id_description", "شراء لوازم مكتبية للربع الأول")
    upload = png_upload("فاتورة المورد.png")
    clerk.set_input_files(
        "#id_files",
        files=[{"name": upload.name, "mimeType": "image/png", "buffer": upload.read()}],
    )
    clerk.select_option("#id_lines-0-account", str(cast["supplies"]))
    clerk.fill("#id_lines-0-debit", FIRST_AMOUNT)
    clerk.fill("#id_lines-0-description", "أوراق وأحبار")
    clerk.select_option("#id_lines-1-account", str(cast["bank"]))
    clerk.fill("#id_lines-1-credit", FIRST_AMOUNT)
    fits(clerk)
    shot(clerk, "1-clerk-enters")
    clerk.get_by_role("button", name=ar("Save the voucher")).click()
    clerk.wait_for_url(re.compile(r".*/finance/vouchers/\d+/$"))
    voucher_path = clerk.url.removeprefix(live_url)
    main = clerk.locator("main")
    expect(main).to_contain_text("فاتورة المورد.png")
    expect(main).to_contain_text(ar_amount(FIRST_AMOUNT))
    clerk.get_by_role("button", name=ar("Submit for review")).click()
    expect(clerk.locator("main")).to_contain_text(ar("The voucher was sent for review."))
    fits(clerk)
    shot(clerk, "2-clerk-submitted")

    # --- the first reviewer finds it in the inbox and returns it with a reason
    reviewer = new_context().new_page()
    log_in(reviewer, live_url, cast["reviewer"].email, "/a/alpha/finance/review/")
    expect(reviewer.locator("main")).to_contain_text(ar_amount(FIRST_AMOUNT))
    shot(reviewer, "3-reviewer-inbox")
    reviewer.goto(live_url + voucher_path)
    panel = reviewer.locator(".review-panel")
    panel.locator("#id_reason").fill(REASON)
    panel.get_by_role("button", name=ar("Return for correction")).click()
    expect(reviewer.locator("main")).to_contain_text(ar("The voucher was returned to its maker."))

    # --- the clerk reads the reason, corrects the amounts and resubmits
    clerk.goto(live_url + voucher_path)
    expect(clerk.locator(".review-history")).to_contain_text(REASON)
    fits(clerk)
    shot(clerk, "4-clerk-sees-reason")
    clerk.get_by_role("link", name=ar("Correct the voucher")).click()
    clerk.fill("#id_lines-0-debit", CORRECTED)
    clerk.fill("#id_lines-1-credit", CORRECTED)
    clerk.get_by_role("button", name=ar("Save the voucher")).click()
    clerk.wait_for_url(live_url + voucher_path)
    expect(clerk.locator("main")).to_contain_text(ar_amount(CORRECTED))
    clerk.get_by_role("button", name=ar("Resubmit for review")).click()
    expect(clerk.locator("main")).to_contain_text(ar("The voucher was sent for review."))

    # --- the reviewer approves the corrected voucher
    reviewer.goto(live_url + voucher_path)
    reviewer.locator(".review-panel").get_by_role("button", name=ar("Approve the voucher")).click()
    expect(reviewer.locator("main")).to_contain_text(ar("The voucher was approved at this level."))
    shot(reviewer, "5-reviewer-approved")

    # --- the finance manager gives final approval: the voucher is posted
    manager = new_context().new_page()
    log_in(manager, live_url, cast["manager"].email, "/a/alpha/finance/review/")
    manager.goto(live_url + voucher_path)
    manager.get_by_role("button", name=ar("Give final approval and post")).click()
    expect(manager.locator("main")).to_contain_text(
        ar("Final approval given: the voucher is posted to the ledger.")
    )
    expect(manager.locator("main .status--posted")).to_have_text(ar(VoucherStatus.POSTED.label))
    history = manager.locator(".review-history").inner_text()
    assert REASON in history, history
    fits(manager)
    shot(manager, "6-manager-posted")

    # --- the trial balance of the department shows the posting
    query = f"?fiscal_year={cast['year']}&department={cast['department']}"
    manager.goto(f"{live_url}/a/alpha/finance/reports/trial-balance/{query}")
    table = manager.locator("table.finance-report")
    supplies_row = table.locator("tbody tr", has_text="5204")
    expect(supplies_row).to_contain_text(ar_amount(CORRECTED))
    expect(table.locator("tbody tr", has_text="1102")).to_contain_text(ar_amount(CORRECTED))
    expect(manager.locator("main")).to_contain_text(ar("Debits and credits balance."))
    fits(manager)
    shot(manager, "7-trial-balance")

    # --- budget against actual: the budget, the actual and what is left
    manager.goto(f"{live_url}/a/alpha/finance/reports/budget/{query}")
    row = manager.locator("table.finance-report tbody tr", has_text="5204")
    expect(row).to_contain_text(ar_amount(BUDGET))
    expect(row).to_contain_text(ar_amount(CORRECTED))
    expect(row).to_contain_text(ar_amount(str(Decimal(BUDGET) - Decimal(CORRECTED))))
    fits(manager)
    shot(manager, "8-budget-against-actual")

    # --- downloaded as a spreadsheet: the amount is a number in it
    with manager.expect_download() as download_info:
        manager.get_by_role("link", name=ar("Spreadsheet (XLSX)")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    found = [r for r in rows if any(str(c or "").startswith("5204") for c in r)]
    assert found, rows[:5]
    numbers = {Decimal(str(c)).quantize(Decimal("0.01")) for c in found[0] if _number(c)}
    assert Decimal(CORRECTED) in numbers and Decimal(BUDGET) in numbers, found[0]

    # --- the ledger has it, once, under the manager's final approval
    from finance.models import LedgerLine, Voucher

    voucher_id = int(voucher_path.rstrip("/").rsplit("/", 1)[1])

    def posted() -> tuple:
        with schema_context(alpha_schema):
            voucher = Voucher.objects.get(pk=voucher_id)
            return voucher.status, voucher.total, LedgerLine.objects.filter(voucher=voucher).count()

    with orm():
        assert in_thread(posted) == ("posted", Decimal(CORRECTED), 2)

    elapsed = time.monotonic() - started - shot.seconds
    assert elapsed < 120, f"the journey took {elapsed:.0f} s"


def _number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
