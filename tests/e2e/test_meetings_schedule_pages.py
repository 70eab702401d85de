"""The schedule part's pages of meetings (and the room's own pages) on a phone (320 CSS px)
and a desktop, in Arabic and in English: no sideways scroll, no serious axe-core violation;
screenshots in tests/e2e/artifacts/pages/<lang>-<width>-meetings-*."""

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import in_thread
from tests.e2e.test_every_page import WIDTHS, audit_page, sign_in
from tests.factories import make_beneficiary, make_employee, mobile_number, national_id

pytestmark = pytest.mark.e2e


@pytest.fixture
def meeting_cast(agencies, orm, seed) -> dict:
    from meetings.services import schedule as services
    from tenants.staff.models import Membership
    from tests.meetings.factories import make_body, make_meeting

    alpha = agencies["alpha"]

    def prepare() -> dict:
        manager = make_employee(alpha, roles=("admin",), email=f"mtg-admin-{seed}@alpha.example")
        chair = make_employee(alpha, email=f"mtg-chair-{seed}@alpha.example")
        member = make_beneficiary(
            email=f"mtg-member-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
        )
        body = make_body(alpha, actor=manager, members=[(chair, "chair"), (member, "member")])
        meeting = make_meeting(
            alpha,
            actor=manager,
            body=body,
            title_ar="اجتماع مجلس الإدارة الفصلي لمراجعة الميزانية والخطة التشغيلية",
            title_en="Quarterly board meeting",
        )
        with schema_context(alpha.schema_name):
            item = services.agenda_item_save(
                actor=manager,
                meeting=meeting,
                title="اعتماد محضر الاجتماع السابق",
                presenter="أمين السر",
                description="مراجعة المحضر واعتماده.",
            )
            services.agenda_item_save(actor=manager, meeting=meeting, title="الميزانية")
            manager_membership = Membership.objects.get(user=manager).pk
        return {
            "manager_membership": manager_membership,
            "manager": manager,
            "member": member,
            "body_id": body.pk,
            "meeting_id": meeting.pk,
            "item_id": item.pk,
        }

    with orm():
        return in_thread(prepare)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_meeting_pages_fit_a_phone_and_pass_axe(
    live_url, new_context, meeting_cast, artifacts, orm, lang
):
    from accounts.models import User

    with orm():
        in_thread(
            lambda: User.objects.filter(
                pk__in=[meeting_cast["manager"].pk, meeting_cast["member"].pk]
            ).update(preferred_language=lang)
        )
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    a, m = "/a/alpha/meetings", meeting_cast["meeting_id"]
    pages = {
        "manager": [
            ("meetings-ws-list", f"{a}/"),
            ("meetings-ws-bodies", f"{a}/bodies/"),
            ("meetings-ws-body", f"{a}/bodies/{meeting_cast['body_id']}/"),
            ("meetings-ws-new", f"{a}/new/"),
            ("meetings-ws-meeting", f"{a}/{m}/"),
            ("meetings-ws-edit", f"{a}/{m}/edit/"),
            ("meetings-ws-agenda-item", f"{a}/{m}/agenda/{meeting_cast['item_id']}/"),
            ("meetings-attendance", f"/meetings/alpha/{m}/attendance/"),
            ("meetings-qr", f"/meetings/alpha/{m}/qr/"),
        ],
        "member": [
            ("meetings-mine", "/meetings/"),
            ("meetings-page", f"/meetings/alpha/{m}/"),
            ("meetings-room", f"/meetings/alpha/{m}/room/"),
        ],
    }
    problems: list[str] = []
    for who, paths in pages.items():
        signed_in = None
        for width in WIDTHS:
            context = new_context(viewport={"width": width, "height": 800}, storage_state=signed_in)
            page = context.new_page()
            if signed_in is None:
                sign_in(page, live_url, meeting_cast[who].email)
                signed_in = context.storage_state()
            for name, path in paths:
                response = page.goto(live_url + path)
                assert response.status == 200, f"{path}: {response.status}"
                assert page.evaluate("document.documentElement.lang") == lang, path
                problems += audit_page(page, f"{lang}-{width}-{name}", width, folder)
            context.close()
    assert problems == [], "\n".join(problems)


def test_the_employee_picker_narrows_as_one_types(live_url, new_context, meeting_cast, seed):
    """Typing in the picker's search box narrows the select to the matches, without reloading
    the page (employee_search.js and the JSON of the live search)."""
    context = new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    sign_in(page, live_url, meeting_cast["manager"].email)
    page.goto(f"{live_url}/a/alpha/meetings/bodies/{meeting_cast['body_id']}/")
    page.evaluate("window.notReloaded = true")
    page.fill("#id_membership-q", f"mtg-admin-{seed}")
    options = page.locator("#id_membership option")
    expect(options).to_have_count(2)
    assert options.nth(1).get_attribute("value") == str(meeting_cast["manager_membership"])
    page.fill("#id_membership-q", f"nobody-{seed}-at-all")
    expect(options).to_have_count(1)
    expect(page.locator("#id_membership-q-status")).not_to_be_empty()
    assert page.evaluate("window.notReloaded") is True
    context.close()
