"""Statistics in a real browser: the oversight dashboard and its drill-down, an agency's own
statistics and evaluation settings, and a beneficiary's history.

The figures come from tests/insights/dataset.py (six requests received on 5-7 October 2026),
built in an agency of this module's own and committed so that the live server sees them. At
the end of the module the agency is deactivated and its index and rollup rows are deleted, so
the platform-wide October figures that tests/insights check by hand stay theirs alone.
"""

import csv
import io
import re
import threading
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections, transaction
from django.template.defaultfilters import floatformat
from django.utils import formats, translation
from django.utils.translation import gettext, pgettext
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.helpers import Screenshots, assert_lang, submit_main_form, wait_for_js
from tests.factories import PASSWORD, make_beneficiary, make_employee, mobile_number, national_id
from tests.two_factor import add_totp, totp_code

pytestmark = pytest.mark.e2e

START, END = date(2026, 10, 1), date(2026, 10, 31)
PERIOD = f"?start={START}&end={END}&grain=week"
PHONE = {"width": 390, "height": 844}


def in_thread(function):
    """Run ``function`` off Playwright's thread: the services behind dataset.build push on
    commit through async_to_sync, which cannot run where Playwright's loop is marked running."""
    result: dict = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture(scope="module")
def stats(agencies, django_db_blocker) -> dict:
    """A committed agency of its own holding dataset.build's six October requests, and an
    admin of it who can log in; cleaned up at the end of the module."""
    from tenants.services import agency_onboard
    from tests.insights.dataset import build

    tag = uuid.uuid4().hex[:8]

    def prepare() -> dict:
        with django_db_blocker.unblock():
            agency = agency_onboard(
                slug=f"stats-{tag}",
                name_ar="هيئة الإحصاء التجريبية",
                name_en="Trial Statistics Authority",
                code=f"S{tag[:5].upper()}",
                admin_email=f"first-admin-{tag}@stats.example",
            )
            connection.set_schema_to_public()
            with transaction.atomic():  # index_sync locks the index row it rewrites
                built = build(agency)
            connection.set_schema_to_public()
            admin = make_employee(
                agency, roles=("admin",), email=f"e2e-stats-admin-{tag}@stats.example"
            )
            connection.set_schema_to_public()
            return {"agency": agency, "built": built, "admin": admin}

    data = in_thread(prepare)
    yield data

    def cleanup() -> None:
        from insights.models import AgencyDailyStat, DailyStat, EvaluationSettings, Presence
        from requests_app.public.models import CatalogueEntry, DocumentIndex, RequestIndex
        from tenants.models import Agency

        agency = data["agency"]
        with django_db_blocker.unblock():
            Agency.objects.filter(pk=agency.pk).update(is_active=False)
            for model in (
                AgencyDailyStat,
                DailyStat,
                Presence,
                EvaluationSettings,
                RequestIndex,
                DocumentIndex,
                CatalogueEntry,
            ):
                model.objects.filter(agency=agency).delete()

    in_thread(cleanup)


@pytest.fixture
def oversight(orm, seed) -> User:
    with orm():
        user = make_beneficiary(
            email=f"e2e-oversight-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
            preferred_language="ar",
        )
        User.objects.filter(pk=user.pk).update(is_oversight=True)
        add_totp(user)  # the platform requires two-factor sign-in of oversight users
        return User.objects.get(pk=user.pk)


def log_in(page, live_url: str, login: str, next_path: str, *, totp: bool = False) -> None:
    """Open a protected page, get sent to the login form, sign in (with the authenticator
    code when ``totp``), land on the page."""
    page.goto(live_url + next_path)
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    if totp:
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.fill("#id_code", totp_code())
        submit_main_form(page)
    page.wait_for_url(live_url + next_path)


def received_in_october(orm) -> int:
    """Requests of every agency received in the period, straight from the request index."""
    from requests_app.public.models import RequestIndex

    zone = ZoneInfo("Asia/Riyadh")
    start = datetime.combine(START, time.min, tzinfo=zone)
    end = datetime.combine(END + timedelta(days=1), time.min, tzinfo=zone)
    with orm():
        return RequestIndex.objects.filter(created_at__gte=start, created_at__lt=end).count()


def stat_value(scope, label: str):
    """The <dd> of the summary card whose <dt> is ``label``."""
    return (
        scope.locator(".stat-cards .stat")
        .filter(has=scope.page.locator("dt", has_text=label))
        .locator("dd")
    )


LATIN_TEXT = """() => {
    const found = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.parentElement.closest('[lang="en"], script, style')) found.push(node.textContent);
    }
    for (const element of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
        for (const name of ['aria-label', 'title', 'placeholder']) {
            if (element.hasAttribute(name)) found.push(element.getAttribute(name));
        }
    }
    return found.map((text) => text.trim()).filter((text) => /[A-Za-z]/.test(text));
}"""
# Latin that belongs on an Arabic page: file formats and request references.
ALLOWED_LATIN = re.compile(r"\b(CSV|XLSX|PDF|[A-Z][A-Z0-9]*-\d{4}-\d+)\b")


def untranslated(page) -> list[str]:
    """Text with Latin letters on an Arabic page (title, text, labels for screen readers),
    outside elements marked lang="en" and besides file formats and request references."""
    return [
        text
        for text in page.evaluate(LATIN_TEXT)
        if re.search("[A-Za-z]", ALLOWED_LATIN.sub("", text))
    ]


def tab_to(page, element_id: str, presses: int = 60) -> None:
    """Press Tab until the element with ``element_id`` has the focus (date inputs take
    several presses: Tab moves through their month, day and year first)."""
    for _ in range(presses):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} never got the focus with Tab")


def download(page, link, tmp_path):
    with page.expect_download() as info:
        link.click()
    item = info.value
    target = tmp_path / item.suggested_filename
    item.save_as(target)
    text = target.read_bytes().decode("utf-8-sig")
    return item.suggested_filename, list(csv.reader(io.StringIO(text)))


def test_oversight_dashboard_drill_down_export_and_keyboard(
    live_url, new_context, stats, oversight, orm, artifacts, tmp_path
):
    shot = Screenshots(artifacts, "statistics")
    agency = stats["agency"]
    built = stats["built"]
    expected_received = received_in_october(orm)
    assert expected_received >= 6
    page = new_context().new_page()
    log_in(page, live_url, oversight.email, "/oversight/" + PERIOD, totp=True)

    # Arabic, the default language.
    assert_lang(page, "ar", "rtl")
    with translation.override("ar"):
        expect(page.locator("main h1")).to_have_text(gettext("Oversight dashboard"))
        summary = page.locator('section[aria-labelledby="summary-title"]')
        expect(stat_value(summary, pgettext("count", "Received"))).to_have_text(
            str(expected_received)
        )
    chart = page.locator("figure.chart-figure svg.chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    # Five weeks (from Sunday 27 September to Sunday 25 October), three bars in each.
    expect(chart.locator("rect")).to_have_count(15)
    agencies_table = page.locator('section[aria-labelledby="agencies-title"] table')
    row = agencies_table.locator("tbody tr").filter(
        has=page.get_by_role("link", name=agency.name_ar, exact=True)
    )
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text("6")
    assert untranslated(page) == [], "oversight-ar"
    shot(page, "oversight-ar")

    # English through the language button in the top bar.
    page.locator("form.lang-switch button").click()
    wait_for_js(page, "document.documentElement.lang === 'en'")
    assert page.url == live_url + "/oversight/" + PERIOD
    assert_lang(page, "en", "ltr")
    expect(page.locator("main h1")).to_have_text("Oversight dashboard")
    expect(page.locator("main h2")).to_contain_text(
        ["All agencies", "Trend", "Most responsive agencies", "Highest completion rate", "Agencies"]
    )
    summary = page.locator('section[aria-labelledby="summary-title"]')
    expect(stat_value(summary, "Received")).to_have_text(str(expected_received))
    shot(page, "oversight-en")

    # The agencies table as CSV.
    exports = page.locator('section[aria-labelledby="agencies-title"] .exports')
    name, rows = download(page, exports.get_by_role("link", name="CSV"), tmp_path)
    assert name == f"agencies-{START}-{END}.csv"
    assert rows[0][:2] == ["Agency", "Received"]
    ours = [r for r in rows[1:] if r[0] == agency.name_en]
    assert len(ours) == 1, rows
    assert ours[0][1:7] == ["6", "2", "3", "1", "2", "1"]  # received open done rejected late reop.

    # Drill down into the agency.
    row = agencies_table.locator("tbody tr").filter(
        has=page.get_by_role("link", name=agency.name_en, exact=True)
    )
    row.get_by_role("link", name=agency.name_en, exact=True).click()
    page.wait_for_url(f"{live_url}/oversight/agencies/{agency.slug}/{PERIOD}")
    assert_lang(page, "en", "ltr")
    expect(page.locator("main h1")).to_have_text(agency.name_en)
    expect(page.locator("nav.breadcrumb")).to_contain_text("Oversight dashboard")
    expect(stat_value(page.locator("main"), "Received")).to_have_text("6")
    expect(page.locator("figure.chart-figure svg.chart")).to_be_visible()
    departments = page.locator("section.card", has=page.locator("h2", has_text="Departments"))
    expect(departments.locator("tbody th")).to_have_text(["Licences", "Services"])
    late = page.locator("section.card", has=page.locator("h2", has_text="Late open requests"))
    expect(late.locator("tbody tr")).to_have_count(1)
    expect(late.locator("tbody")).to_contain_text(built.requests[4].reference)
    shot(page, "agency-en")

    name, rows = download(
        page, departments.locator(".exports").get_by_role("link", name="CSV"), tmp_path
    )
    assert name == f"{agency.slug}-departments-{START}.csv"
    assert [r[0] for r in rows[1:]] == ["Licences", "Services"]
    assert [r[1] for r in rows[1:]] == ["3", "3"]

    # An invalid period (the end before the start), with the keyboard only, from the top of
    # the freshly loaded page.
    page.reload()
    tab_to(page, "id_start")
    page.keyboard.type("10202026")  # month, day, year as Chromium orders the fields
    tab_to(page, "id_end")
    page.keyboard.type("10102026")
    assert page.input_value("#id_start") == "2026-10-20"
    assert page.input_value("#id_end") == "2026-10-10"
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 400
    assert "start=2026-10-20" in page.url and "end=2026-10-10" in page.url
    end_input = page.locator("#id_end")
    error = page.locator("#id_end_error")
    expect(error).to_have_text("The end of the period comes before its start.")
    expect(end_input).to_have_attribute("aria-describedby", "id_end_error")
    expect(end_input).to_have_attribute("aria-invalid", "true")
    # Next to the field: in the same field group, right after the input.
    field = page.locator(".period-form .filters__field", has=end_input)
    expect(field.locator(".error")).to_have_count(1)
    expect(page.locator(".period-form .form-errors[role=alert]")).to_be_visible()
    expect(page.locator("#id_start")).not_to_have_attribute("aria-invalid", "true")
    shot(page, "agency-period-error-en")

    # Back to Arabic on the drill-down, for its own screenshot.
    page.goto(f"{live_url}/oversight/agencies/{agency.slug}/{PERIOD}")
    page.locator("form.lang-switch button").click()
    wait_for_js(page, "document.documentElement.lang === 'ar'")
    assert_lang(page, "ar", "rtl")
    expect(page.locator("main h1")).to_have_text(agency.name_ar)
    with translation.override("ar"):
        expect(stat_value(page.locator("main"), pgettext("count", "Received"))).to_have_text("6")
        heading = gettext("Departments")
    departments = page.locator("section.card", has=page.locator("h2", has_text=heading))
    expect(departments.locator("tbody th")).to_have_text(["التراخيص", "الخدمات"])
    assert untranslated(page) == [], "agency-ar"
    shot(page, "agency-ar")


def test_agency_admin_statistics_and_evaluation_settings(
    live_url, new_context, stats, orm, artifacts
):
    from insights.selectors import Period, employee_table

    shot = Screenshots(artifacts, "statistics")
    agency, built, admin = stats["agency"], stats["built"], stats["admin"]
    statistics = f"/a/{agency.slug}/statistics/"
    page = new_context().new_page()
    log_in(page, live_url, admin.email, statistics + PERIOD)

    assert_lang(page, "ar", "rtl")
    with translation.override("ar"):
        expect(page.locator("main h1")).to_have_text(gettext("Statistics"))
        expect(stat_value(page.locator("main"), pgettext("count", "Received"))).to_have_text("6")
        employees = page.locator(
            "section.card", has=page.locator("h2", has_text=gettext("Employees"))
        )
        evaluation_header = gettext("Evaluation (0-100)")
        with orm():
            names = {
                key: User.objects.get(pk=user.pk).display_name
                for key, user in built.employees.items()
            }
    headers = employees.locator("thead th")
    # The evaluation comes first after the name, then the hours present, then the figures.
    expect(headers.nth(1)).to_have_text(evaluation_header)
    evaluation_column = headers.count()
    body_rows = employees.locator("tbody tr")
    expect(body_rows.locator("th")).to_have_text(sorted(names.values()))
    # Three requests each: below the default minimum of five, so no evaluation yet.
    for index in range(body_rows.count()):
        expect(body_rows.nth(index).locator("td").first).to_have_text("—")
    assert evaluation_column == 16  # name, evaluation, hours present, 13 figures
    expect(page.locator("figure.chart-figure svg.chart")).to_be_visible()
    assert untranslated(page) == [], "workspace-ar"
    shot(page, "workspace-ar")

    # The evaluation settings, from the sidebar menu.
    with translation.override("ar"):
        menu_label = gettext("Employee evaluation")
        saved = gettext("The evaluation settings were saved.")
    link = page.locator("#workspace-menu").get_by_role("link", name=menu_label, exact=True)
    link.click()
    page.wait_for_url(live_url + statistics + "evaluation/")
    assert_lang(page, "ar", "rtl")
    expect(page.locator("#id_weight_satisfaction")).to_have_value("25")
    page.fill("#id_weight_satisfaction", "40")
    page.fill("#id_min_requests", "3")
    submit_main_form(page)
    page.wait_for_url(live_url + statistics + "evaluation/")
    expect(page.locator(".messages")).to_contain_text(saved)
    expect(page.locator("#id_weight_satisfaction")).to_have_value("40")
    expect(page.locator("#id_min_requests")).to_have_value("3")
    expect(
        page.locator("#workspace-menu").get_by_role("link", name=menu_label, exact=True)
    ).to_have_attribute("aria-current", "page")
    assert untranslated(page) == [], "evaluation-saved-ar"
    shot(page, "evaluation-saved-ar")

    # With three requests now enough, both employees have an evaluation.
    with orm(), translation.override("ar"):
        rows = employee_table(Period(START, END, "week"), agency=agency)
        expected = {
            row.label: formats.localize(round(row.extra["evaluation"].score, 1))
            for row in rows
            if row.key
        }
    assert len(expected) == 2
    page.goto(live_url + statistics + PERIOD)
    for label, score in expected.items():
        row = body_rows.filter(has=page.locator("th", has_text=label))
        expect(row.locator("td").first).to_have_text(score)
    shot(page, "workspace-evaluated-ar")


def test_beneficiary_sees_their_statistics(live_url, new_context, stats, artifacts):
    shot = Screenshots(artifacts, "statistics")
    agency = stats["agency"]
    person = stats["built"].beneficiaries[0]  # R1, R2 (completed) and R3 (rejected)
    page = new_context().new_page()
    log_in(page, live_url, person.email, "/me/statistics/")
    assert_lang(page, "ar", "rtl")
    with translation.override("ar"):
        expect(page.locator("main h1")).to_have_text(gettext("My statistics"))
        cards = page.locator("main")
        expect(stat_value(cards, gettext("Requests"))).to_have_text("3")
        expect(stat_value(cards, gettext("Open"))).to_have_text("0")
        expect(stat_value(cards, gettext("Completed"))).to_have_text("2")
        expect(stat_value(cards, gettext("Rejected"))).to_have_text("1")
        expect(stat_value(cards, gettext("Late"))).to_have_text("1")
    row = page.locator("main tbody tr").filter(has=page.locator("th", has_text=agency.name_ar))
    expect(row).to_have_count(1)
    with translation.override("ar"):
        mean_resolution = floatformat((10 + 24 + 4) / 3, 1)  # R1, R2 less its pause, R3
    expect(row.locator("td")).to_have_text(["3", "0", "2", "1", "1", mean_resolution])
    assert untranslated(page) == [], "mine-ar"
    shot(page, "mine-ar")


def test_oversight_dashboard_on_a_phone(live_url, new_context, stats, oversight, artifacts):
    context = new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_url, oversight.email, "/oversight/" + PERIOD, totp=True)
    assert_lang(page, "ar", "rtl")
    expect(page.locator("figure.chart-figure svg.chart")).to_be_visible()
    page.screenshot(path=str(artifacts / "statistics-oversight-phone.png"), full_page=True)
    widths = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            chart: document.querySelector('svg.chart').getBoundingClientRect().width,
            table: document.querySelector('.stats-table').scrollWidth,
            wrap: document.querySelector('.stats-table').parentElement.clientWidth,
        })"""
    )
    # Nothing wider than the screen: the wide tables scroll inside their own box.
    assert widths["page"] <= PHONE["width"], widths
    assert widths["chart"] <= PHONE["width"], widths
