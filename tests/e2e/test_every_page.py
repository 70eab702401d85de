"""Issue 12: every page of the portal, in Arabic and English, on a desktop (1280 CSS px) and a
phone (320 CSS px). On each: the page is no wider than the viewport (WCAG 1.4.10: tables scroll
inside their own focusable region, never the page), and axe-core (from the npm registry,
node_modules/axe-core) finds no serious or critical violation. A full-page screenshot of each
lands in tests/e2e/artifacts/pages/.

Problems are collected over the whole tour and reported together, so one run shows every page
that falls short. The contrast of the controls' borders and of the focus ring is computed from
the styles the browser applied (WCAG 1.4.11: 3:1 against the page behind them).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.e2e.helpers import in_thread, submit_main_form
from tests.factories import (
    PASSWORD,
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    membership_of,
    mobile_number,
    national_id,
    png_upload,
)
from tests.two_factor import add_totp, totp_code

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(os.environ.get("MUAMALAT_AXE_JS") or ROOT / "node_modules/axe-core/axe.min.js")
WIDTHS = (1280, 320)


def axe_source() -> str:
    assert AXE_JS.is_file(), f"{AXE_JS} missing: `make test` installs it (npm ci)"
    return AXE_JS.read_text()


def audit_page(page, name: str, width: int, folder: Path) -> list[str]:
    """Screenshot, reflow and axe-core on the page as it is; the problems found."""
    problems = []
    page.screenshot(path=str(folder / f"{name}.jpeg"), full_page=True, type="jpeg", quality=70)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width + 1:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > w + 1
                              && !e.closest('.table-responsive, .skip-link'))
                 .slice(0, 3).map(e => e.tagName + '.' + e.className)""",
            width,
        )
        problems.append(f"{name}: {page.url} is {scroll}px wide at {width} ({wide})")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(axe_source())  # through the DevTools protocol: the CSP does not apply
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 2).map(n => n.target)}))"
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    if serious:
        problems.append(f"{name}: {page.url} axe: {serious}")
    return problems


@pytest.fixture
def cast(agencies, orm, seed) -> dict:
    """Committed: alpha's admin, a beneficiary with an open request (a file, a question waiting
    for them) and a completed one, an oversight user and a platform operator."""
    from accounts.models import User
    from appointments.services import appointment_add
    from requests_app.models import Request
    from requests_app.services import request_ask_information, request_resolve, request_start
    from tenants.services import department_save

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"tour-admin-{seed}@alpha.example")
        employee = make_employee(alpha, email=f"tour-emp-{seed}@alpha.example")
        beneficiary = make_beneficiary(
            email=f"tour-ben-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
        )
        oversight = make_beneficiary(
            email=f"tour-ovs-{seed}@example.sa",
            identity_number=national_id(seed + 1),
            mobile=mobile_number(seed + 1),
        )
        operator = make_beneficiary(
            email=f"tour-op-{seed}@example.sa",
            identity_number=national_id(seed + 2),
            mobile=mobile_number(seed + 2),
        )
        User.objects.filter(pk=oversight.pk).update(is_oversight=True)
        User.objects.filter(pk=operator.pk).update(is_staff=True)
        add_totp(oversight)
        add_totp(operator)
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"قسم الجولة {seed}", name_en=f"Tour desk {seed}"
            )
            membership_of(alpha, employee).__class__.objects.filter(user_id=employee.pk).update(
                department=department
            )
        service = make_type(alpha, actor=admin, department=department)
        waiting = make_request(
            alpha,
            beneficiary=beneficiary,
            request_type=service,
            subject="طلب ينتظر رد المستفيد",
            attachments=[png_upload("صورة الهوية.png")],
        )
        done = make_request(
            alpha, beneficiary=beneficiary, request_type=service, subject="طلب مكتمل"
        )
        with schema_context(alpha.schema_name):
            waiting = Request.objects.get(pk=waiting.pk)
            request_start(agency=alpha, request_obj=waiting, actor=admin)
            request_ask_information(
                agency=alpha,
                request_obj=Request.objects.get(pk=waiting.pk),
                actor=admin,
                question="نرجو إرفاق صورة واضحة من الهوية الوطنية.",
            )
            request_start(agency=alpha, request_obj=Request.objects.get(pk=done.pk), actor=admin)
            request_resolve(
                agency=alpha, request_obj=Request.objects.get(pk=done.pk), actor=admin, note="تم"
            )
            starts = timezone.now() + timedelta(days=1)
            entry = appointment_add(
                actor=membership_of(alpha, admin),
                title="موعد مراجعة",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                remind_minutes_before=30,
                notes="",
            )
            admin_membership = membership_of(alpha, admin)
            from tenants.staff.models import Role

            role_id = Role.objects.get(codename="employee").pk
        return {
            "admin": admin,
            "beneficiary": beneficiary,
            "oversight": oversight,
            "operator": operator,
            "service_id": service.pk,
            "waiting": (waiting.pk, waiting.reference),
            "done": (done.pk, done.reference),
            "department_id": department.pk,
            "membership_id": membership_of(alpha, employee).pk,
            "admin_membership_id": admin_membership.pk,
            "role_id": role_id,
            "appointment_id": entry.pk,
        }

    with orm():
        return in_thread(prepare)


def sign_in(page, live_url: str, login: str, *, totp: bool = False) -> None:
    page.goto(live_url + "/accounts/login/")
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    if totp:
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.fill("#id_code", totp_code())
        submit_main_form(page)
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url and "/2fa/" not in page.url, page.url


def pages_of(cast: dict) -> dict[str, list[tuple[str, str]]]:
    waiting_id, waiting_ref = cast["waiting"]
    done_id, done_ref = cast["done"]
    a = "/a/alpha"
    return {
        "anonymous": [
            ("home", "/"),
            ("guide", "/guide/"),
            ("guide-entry", f"/guide/alpha/{cast['service_id']}/"),
            ("login", "/accounts/login/"),
            ("signup", "/accounts/signup/"),
            ("password-reset", "/accounts/password/reset/"),
            ("not-found", "/no-such-page/"),
        ],
        "beneficiary": [
            ("home-signed-in", "/"),
            ("my-requests", "/requests/"),
            ("choose-agency", "/requests/new/"),
            ("new-request", "/requests/new/alpha/"),
            ("my-documents", "/requests/documents/"),
            ("request-your-turn", f"/requests/alpha/{waiting_ref}/"),
            ("request-done", f"/requests/alpha/{done_ref}/"),
            ("notifications", "/notifications/"),
            ("notification-settings", "/notifications/settings/"),
            ("account-email", "/accounts/email/"),
            ("password-change", "/accounts/password/change/"),
            ("two-factor", "/accounts/2fa/"),
            ("my-statistics", "/me/statistics/"),
        ],
        "admin": [
            ("ws-overview", f"{a}/"),
            ("ws-queue", f"{a}/requests/"),
            ("ws-request", f"{a}/requests/{waiting_id}/"),
            ("ws-request-done", f"{a}/requests/{done_id}/"),
            ("ws-staff", f"{a}/staff/"),
            ("ws-invite", f"{a}/staff/invite/"),
            ("ws-employee", f"{a}/staff/{cast['membership_id']}/"),
            ("ws-availability", f"{a}/staff/{cast['membership_id']}/availability/"),
            ("ws-departments", f"{a}/departments/"),
            ("ws-department", f"{a}/departments/{cast['department_id']}/"),
            ("ws-roles", f"{a}/roles/"),
            ("ws-role", f"{a}/roles/{cast['role_id']}/"),
            ("ws-audit", f"{a}/audit/"),
            ("ws-security", f"{a}/settings/security/"),
            ("ws-statistics", f"{a}/statistics/"),
            ("ws-evaluation", f"{a}/statistics/evaluation/"),
            ("ws-notifications", f"{a}/notifications/"),
            ("ws-delivery-log", f"{a}/notifications/log/"),
            ("ws-calendar", f"{a}/calendar/"),
            ("ws-appointment", f"{a}/calendar/{cast['appointment_id']}/"),
            ("ws-catalogue", f"{a}/catalogue/"),
            ("ws-service", f"{a}/catalogue/{cast['service_id']}/"),
            ("ws-distribution", f"{a}/distribution/"),
            ("ws-approvals", f"{a}/approvals/"),
            ("ws-service-levels", f"{a}/service-levels/"),
            ("ws-satisfaction", f"{a}/satisfaction/"),
            ("ws-archive", f"{a}/archive/"),
        ],
        "oversight": [
            ("oversight", "/oversight/"),
            ("oversight-agency", "/oversight/agencies/alpha/"),
        ],
        "operator": [
            ("platform-agencies", "/platform/agencies/"),
            ("platform-log", "/notifications/platform/log/"),
        ],
    }


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_page_fits_a_phone_and_passes_axe(live_url, new_context, cast, orm, lang, artifacts):
    from accounts.models import User

    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    users = {k: cast[k] for k in ("beneficiary", "admin", "oversight", "operator")}
    with orm():
        User.objects.filter(pk__in=[u.pk for u in users.values()]).update(preferred_language=lang)
    problems: list[str] = []
    visited = 0
    for who, pages in pages_of(cast).items():
        signed_in = None  # one sign-in per person: an authenticator code is accepted once
        for width in WIDTHS:
            context = new_context(viewport={"width": width, "height": 800}, storage_state=signed_in)
            if who == "anonymous":
                context.add_cookies([{"name": "muamalat_language", "value": lang, "url": live_url}])
            page = context.new_page()
            if who != "anonymous" and signed_in is None:
                sign_in(page, live_url, users[who].email, totp=who in ("oversight", "operator"))
                signed_in = context.storage_state()
            for name, path in pages:
                response = page.goto(live_url + path)
                expected = 404 if name == "not-found" else 200
                assert response.status == expected, f"{path}: {response.status}"
                assert page.evaluate("document.documentElement.lang") == lang, path
                problems += audit_page(page, f"{lang}-{width}-{name}", width, folder)
                visited += 1
            context.close()
    assert visited == 2 * sum(len(p) for p in pages_of(cast).values())
    assert problems == [], "\n".join(problems)


# --- WCAG 1.4.11: what a person must see to use a control has 3:1 against what is behind it.


def _rgb(css: str) -> tuple[float, float, float]:
    found = re.findall(r"[\d.]+", css)
    assert len(found) >= 3, css
    if len(found) == 4:
        assert float(found[3]) == 1, f"translucent colour {css}: contrast depends on what is behind"
    return tuple(float(x) for x in found[:3])


def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_control_borders_and_focus_ring_have_3_to_1_contrast(live_url, page):
    page.goto(live_url + "/accounts/login/")
    field = page.locator("#id_login")
    card_bg = field.evaluate(
        """(e) => { let n = e.parentElement; const clear = 'rgba(0, 0, 0, 0)';
             while (n && getComputedStyle(n).backgroundColor === clear) n = n.parentElement;
             return n ? getComputedStyle(n).backgroundColor : 'rgb(255, 255, 255)'; }"""
    )
    border = field.evaluate("(e) => getComputedStyle(e).borderTopColor")
    assert contrast(border, card_bg) >= 3, (border, card_bg, contrast(border, card_bg))
    assert contrast(border, "rgb(255, 255, 255)") >= 3
    page.keyboard.press("Tab")  # the skip link first, then on through the page
    field.focus()
    page.wait_for_timeout(400)  # the ring fades in (Bootstrap's .15 s transition)
    shadow = field.evaluate("(e) => getComputedStyle(e).boxShadow")
    ring = re.match(r"(rgba?\([^)]*\))", shadow)
    assert ring, shadow
    assert contrast(ring[1], card_bg) >= 3, (ring[1], card_bg)
    # The keyboard focus of a button and of a link (:focus-visible): a solid outline.
    page.locator("#id_password").focus()
    for target in ("main form button[type=submit]", "main a[href]"):
        page.locator(target).first.focus()  # focus() after a keyboard focus counts as keyboard
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        page.wait_for_timeout(400)
        outline = page.evaluate(
            "() => { const e = document.activeElement; const s = getComputedStyle(e);"
            " return [e.tagName, s.outlineStyle, s.outlineColor, s.outlineWidth]; }"
        )
        assert outline[1] == "solid" and float(outline[3].rstrip("px")) >= 2, outline
        assert contrast(outline[2], card_bg) >= 3, outline
    # A checkbox's border too.
    page.goto(live_url + "/accounts/signup/")
    radio = page.locator("input.form-check-input").first
    check_border = radio.evaluate("(e) => getComputedStyle(e).borderTopColor")
    assert contrast(check_border, "rgb(255, 255, 255)") >= 3, check_border
