"""The employee's request page as a calm workspace (issue 12), in a real browser, at 1280 and
320 CSS px: a conversation-style timeline with the internal note set apart, the facts beside
(or under) it, and one action panel open at a time from the action bar, with keyboard
shortcuts. Reject still asks for confirmation before anything changes. The page is no wider
than the screen and axe-core finds no serious or critical violation.

Screenshots: tests/e2e/artifacts/calm-*.png. The page's height at 1280 px is printed (the page
of six open forms it replaces measured 3,456 px for the same request).
"""

from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from requests_app.constants import Status
from tests.e2e.helpers import Screenshots, assert_lang, in_thread, log_in
from tests.factories import make_beneficiary, make_employee, make_request, make_type

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules/axe-core/axe.min.js"
INTERNAL = "ملاحظة داخلية: راجعت الملف مع القسم القانوني"
EXTERNAL = "شكرًا لك، نراجع طلبك الآن"
FROM_BENEFICIARY = "أرفقت صورة الهوية، هل تحتاجون شيئًا آخر؟"
# The page it replaces (six open forms) measured 3,456 px at 1280; the new one must be
# well under it with the same conversation.
MAX_HEIGHT_AT_1280 = 1_800


@pytest.fixture
def desk(agencies, orm, seed) -> dict:
    """Committed: an employee of a department of alpha and one request assigned to them with a
    conversation: the beneficiary's message, a reply to them and an internal note."""
    from requests_app import services
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"e2e-calm-admin-{seed}@alpha.example")
        employee = make_employee(alpha, email=f"e2e-calm-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"قسم الهدوء {seed}", name_en=f"Calm desk {seed}"
            )
            Membership.objects.filter(user_id=employee.pk).update(department=department)
        beneficiary = make_beneficiary()
        item = make_request(
            alpha,
            beneficiary=beneficiary,
            request_type=make_type(alpha, actor=admin, department=department),
            subject="طلب تجديد ترخيص محل تجاري",
            description="أرجو تجديد ترخيص المحل المنتهي الشهر الماضي.",
        )
        with schema_context(alpha.schema_name):
            assert item.assignee.user_id == employee.pk
            for author, body, visibility in (
                (employee, EXTERNAL, "external"),
                (beneficiary, FROM_BENEFICIARY, "external"),
                (employee, INTERNAL, "internal"),
            ):
                services.comment_add(
                    agency=alpha,
                    request_obj=item,
                    author=author,
                    body=body,
                    visibility=visibility,
                    attachments=[],
                )
        return {
            "employee": employee,
            "item_id": item.pk,
            "schema": alpha.schema_name,
            "path": f"/a/alpha/requests/{item.pk}/",
        }

    with orm():
        return in_thread(prepare)


def open_panels(page) -> list[str]:
    return page.locator("details.action-panel[open]").evaluate_all(
        "panels => panels.map(p => p.dataset.shortcut)"
    )


def audit(page, name: str, width: int, shot) -> None:
    shot(page, name)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: {scroll}px wide at {width}"
    page.evaluate(AXE_JS.read_text())  # through the DevTools protocol: the CSP does not apply
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target)}))"
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: {serious}"


@pytest.mark.parametrize(("width", "lang"), [(1280, "ar"), (320, "ar"), (320, "en")])
def test_calm_request_page(live_url, new_context, desk, orm, width, lang, artifacts):
    from accounts.models import User

    with orm():
        User.objects.filter(pk=desk["employee"].pk).update(preferred_language=lang)
    shot = Screenshots(artifacts, f"calm-{lang}-{width}")
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    log_in(page, live_url, desk["employee"].email, desk["path"])
    assert_lang(page, lang, "rtl" if lang == "ar" else "ltr")
    with translation.override(lang):
        note_label = gettext("Internal note — not visible to the beneficiary")
        confirm_title = gettext("Reject this request?")
        go_back = gettext("No, go back to the request")
    if lang == "ar":
        assert note_label != "Internal note — not visible to the beneficiary"  # translated

    # The conversation: the beneficiary, the agency's reply and the internal note look different.
    timeline = page.locator(".timeline")
    beneficiary = timeline.locator(".bubble--beneficiary", has_text=FROM_BENEFICIARY)
    reply = timeline.locator(".bubble--staff", has_text=EXTERNAL)
    note = timeline.locator(".bubble--note", has_text=INTERNAL)
    for bubble in (beneficiary, reply, note):
        expect(bubble).to_have_count(1)
    expect(note).to_contain_text(note_label)
    expect(reply).not_to_contain_text(note_label)
    styles = [
        b.evaluate(
            "e => getComputedStyle(e).backgroundColor + ' ' + getComputedStyle(e).borderStyle"
        )
        for b in (beneficiary, reply, note)
    ]
    assert len(set(styles)) == 3, styles
    assert "dashed" in styles[2], styles
    expect(timeline.locator(".timeline__step--system").first).to_be_visible()
    # The facts: the reference unbroken, left to right.
    facts = page.locator(".facts")
    ref = facts.locator(".ref")
    expect(ref).to_have_attribute("dir", "ltr")
    assert ref.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    expect(facts.locator(".status")).to_have_count(1)

    # One panel at a time: the comment panel is open; opening Ask closes it.
    assert open_panels(page) == ["c"]
    audit(page, "1-comment-open", width, shot)
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\n[e2e] request page at {width}px: {height}px tall")
    if width == 1280:
        assert height < MAX_HEIGHT_AT_1280, height
    page.locator("details[data-shortcut=a] > summary").click()
    assert open_panels(page) == ["a"]
    expect(page.locator("#ask-text")).to_be_visible()
    expect(page.locator("form[action$='/comment/'] textarea[name=body]")).to_be_hidden()
    shot(page, "2-ask-open")

    # A shortcut opens its panel and puts the focus in its first field; typed letters in a
    # field are text, not shortcuts.
    if width == 1280:
        hint = page.locator("#shortcut-hint")
        expect(hint).to_be_visible()
        expect(hint.locator("kbd")).to_have_count(6)
        expect(page.locator("details[data-shortcut=r] > summary")).to_have_attribute(
            "aria-keyshortcuts", "r"
        )
    page.locator("main h1").click()
    page.keyboard.press("c")
    assert open_panels(page) == ["c"]
    expect(page.locator("form[action$='/comment/'] textarea[name=body]")).to_be_focused()
    page.keyboard.type("ar")  # typing in the field: no shortcut
    expect(page.locator("form[action$='/comment/'] textarea[name=body]")).to_have_value("ar")
    assert open_panels(page) == ["c"]
    page.locator("main h1").click()
    page.keyboard.press("x")
    assert open_panels(page) == ["x"]
    expect(page.locator("#reject-text")).to_be_focused()
    expect(page.locator("#reject-text")).to_have_value("")  # the letter was not typed in
    audit(page, "3-reject-open", width, shot)

    # Reject: a confirmation page first, nothing changed; going back leaves it open.
    page.locator("#reject-text").fill("الطلب خارج اختصاص الجهة")
    page.locator("form[action$='/reject/'] button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text(confirm_title)
    expect(page.locator("form[action$='/reject/'] input[name=confirm]")).to_have_value("1")
    audit(page, "4-reject-confirmation", width, shot)
    from requests_app.models import Request

    with orm(), schema_context(desk["schema"]):
        assert Request.objects.get(pk=desk["item_id"]).status == Status.IN_PROGRESS
    page.locator("main a", has_text=go_back).click()
    page.wait_for_url(live_url + desk["path"])
    with orm(), schema_context(desk["schema"]):
        assert Request.objects.get(pk=desk["item_id"]).status == Status.IN_PROGRESS
