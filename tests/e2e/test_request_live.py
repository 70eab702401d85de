"""The workspace request page goes live (issue 11, part 4), in a real browser: while employee A
has the request open and is typing a comment, employee B comments on it; A's page says so in a
polite live region with a reload button and does not reload by itself; reloading shows B's
comment and keeps what A had typed. B's own page shows no banner for B's own change.

Both browsers talk to the daphne server of ``live_url``; B's comment is published by that
server after its commit and reaches A's socket there. Rows are committed through the real
services in ``orm`` (see conftest). Screenshots: tests/e2e/artifacts/live-*.png.
"""

import os
import threading
from pathlib import Path

import pytest
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import Screenshots, assert_lang, log_in, wait_for_js
from tests.factories import make_beneficiary, make_employee, make_request, make_type

pytestmark = pytest.mark.e2e

DRAFT = "مسودة تعليق لم تُرسل بعد"
B_COMMENT = "تعليق الزميل على الطلب"


def in_thread(function):
    """Run ``function`` off Playwright's thread (whose asyncio loop is marked running)."""
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
    thread.join(60)
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture
def desk(agencies, orm, seed) -> dict:
    """Committed: alpha's admin (B: sees every request) and a plain employee (A) in a
    department, and one request of the department, assigned to A."""
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"e2e-live-b-{seed}@alpha.example")
        employee = make_employee(alpha, email=f"e2e-live-a-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"قسم مباشر {seed}", name_en=f"Live desk {seed}"
            )
            Membership.objects.filter(user_id=employee.pk).update(department=department)
        item = make_request(
            alpha,
            beneficiary=make_beneficiary(),
            request_type=make_type(alpha, actor=admin, department=department),
            subject="طلب يتابعه موظفان",
        )
        with schema_context(alpha.schema_name):
            assert item.assignee.user_id == employee.pk
        return {"a": employee, "b": admin, "path": f"/a/alpha/requests/{item.pk}/"}

    with orm():
        return in_thread(prepare)


def socket_open(page) -> None:
    wait_for_js(page, "document.querySelector('[data-live-socket]').dataset.live === 'on'")


def test_another_employees_comment_shows_the_banner_and_reload_keeps_the_draft(
    live_url, new_context, desk, artifacts
):
    shot = Screenshots(artifacts, "live")
    with translation.override("ar"):
        updated = gettext("This request was updated. Reload to see the changes.")
        reload_label = gettext("Reload")
    assert updated != "This request was updated. Reload to see the changes."  # translated

    a = new_context().new_page()
    log_in(a, live_url, desk["a"].email, desk["path"])
    assert_lang(a, "ar", "rtl")
    b = new_context().new_page()
    log_in(b, live_url, desk["b"].email, desk["path"])
    socket_open(a)
    socket_open(b)

    region = a.locator("[data-live-socket]")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_be_empty()

    # A is typing a comment when B sends one
    a_comment = a.locator("form[action$='/comment/'] textarea[name=body]")
    a_comment.fill(DRAFT)
    a.evaluate("window.__notReloaded = true")
    b.locator("form[action$='/comment/'] textarea[name=body]").fill(B_COMMENT)
    b.locator("form[action$='/comment/'] input[name=visibility][value=internal]").check()
    b.locator("form[action$='/comment/'] button[type=submit]").click()
    b.wait_for_url(live_url + desk["path"])
    expect(b.get_by_text(B_COMMENT)).to_be_visible()

    expect(region).to_contain_text(updated, timeout=5_000)
    expect(region.get_by_role("button", name=reload_label)).to_be_visible()
    # not reloaded: the same document, with A's text still in the box; B's comment not shown yet
    assert a.evaluate("window.__notReloaded === true")
    expect(a_comment).to_have_value(DRAFT)
    expect(a.get_by_text(B_COMMENT)).to_have_count(0)
    shot(a, "banner")

    # B's own page heard B's own change: no banner there
    socket_open(b)
    b.wait_for_timeout(500)
    expect(b.locator("[data-live-socket]")).to_be_empty()

    # A reloads: B's comment appears, A's draft is back in the box, the banner is gone
    region.get_by_role("button", name=reload_label).click()
    a.wait_for_load_state("load")
    expect(a.get_by_text(B_COMMENT)).to_be_visible()
    assert a.evaluate("window.__notReloaded === undefined")
    expect(a.locator("form[action$='/comment/'] textarea[name=body]")).to_have_value(DRAFT)
    socket_open(a)
    expect(a.locator("[data-live-socket]")).to_be_empty()
    shot(a, "reloaded")


# axe-core is not a dependency of the project: a local audit points MUAMALAT_AXE_JS at its
# axe.min.js (npm pack axe-core) to add its check; the reflow is checked on every run.
AXE_JS = os.environ.get("MUAMALAT_AXE_JS")


def _reflows(page, name: str, shot) -> None:
    shot(page, name)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 321, f"{name}: {page.url} is {width}px wide at 320"
    if AXE_JS:
        page.evaluate(Path(AXE_JS).read_text())  # evaluated by the browser's debugger: no CSP
        result = page.evaluate("async () => (await axe.run()).violations")
        serious = [v["id"] for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {serious}"


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_pages_of_issue_11_reflow_at_320_px(live_url, new_context, desk, orm, lang, artifacts):
    """The live banner on the request page and the calendar's pages (its edit page is new), at
    320 CSS px in Arabic and English: no horizontal scroll; screenshots in the artifacts."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from appointments.services import appointment_add
    from tests.factories import membership_of

    shot = Screenshots(artifacts, f"issue11-{lang}")

    def prepare() -> int:
        for user in (desk["a"], desk["b"]):
            User.objects.filter(pk=user.pk).update(preferred_language=lang)
        from tenants.models import Agency

        agency = Agency.objects.get(slug="alpha")
        membership = membership_of(agency, desk["a"])
        starts = timezone.now() + timedelta(days=2)
        with schema_context(agency.schema_name):
            entry = appointment_add(
                actor=membership,
                title="مراجعة ملف طويل العنوان للتأكد من الالتفاف في الشاشات الصغيرة",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                remind_minutes_before=30,
                notes="",
            )
        return entry.pk

    with orm():
        entry_id = in_thread(prepare)

    a = new_context(viewport={"width": 320, "height": 700}).new_page()
    log_in(a, live_url, desk["a"].email, desk["path"])
    assert_lang(a, lang, "rtl" if lang == "ar" else "ltr")
    b = new_context().new_page()
    log_in(b, live_url, desk["b"].email, desk["path"])
    socket_open(a)
    b.locator("form[action$='/comment/'] textarea[name=body]").fill(B_COMMENT)
    b.locator("form[action$='/comment/'] input[name=visibility][value=internal]").check()
    b.locator("form[action$='/comment/'] button[type=submit]").click()
    b.wait_for_url(live_url + desk["path"])
    expect(a.locator("[data-live-socket]").get_by_role("button")).to_be_visible(timeout=5_000)
    _reflows(a, "request-banner", shot)
    a.goto(live_url + "/a/alpha/calendar/")
    _reflows(a, "calendar", shot)
    a.goto(live_url + f"/a/alpha/calendar/{entry_id}/")
    _reflows(a, "calendar-edit", shot)
