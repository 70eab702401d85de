"""The meeting room live, in a real browser (Arabic): a member checks in from the room page
and the chair's page shows the quorum change without reloading; the chair moves to the next
item and the member's page follows; the member raises a hand, the chair gives the floor and
the timer runs on the member's page. The pages reflow at 320 CSS px; the secretary's QR screen
renders a code and refreshes it. Screenshots: tests/e2e/artifacts/room-*.png."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import Screenshots, in_thread, log_in, wait_for_js
from tests.factories import make_beneficiary, make_employee

pytestmark = pytest.mark.e2e

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"


def reflows_and_passes_axe(page, name: str, shot) -> None:
    """No sideways scroll at the viewport's width; no serious axe-core violation."""
    shot(page, name)
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, name
    if AXE_JS.exists():
        page.evaluate(AXE_JS.read_text())
        result = page.evaluate("async () => (await axe.run()).violations")
        serious = [v["id"] for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {serious}"


def socket_open(page) -> None:
    wait_for_js(page, "document.querySelector('[data-room-socket]').dataset.roomLive === 'on'")


@pytest.fixture
def meeting(agencies, orm, seed) -> dict:
    from meetings.constants import MeetingStatus, MemberRole, QuorumKind
    from meetings.models import AgendaItem, Meeting, Participant

    alpha = agencies["alpha"]

    def prepare() -> dict:
        chair = make_beneficiary(email=f"e2e-room-chair-{seed}@example.sa")
        member = make_beneficiary(email=f"e2e-room-member-{seed}@example.sa")
        secretary = make_employee(alpha, email=f"e2e-room-sec-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            starts = timezone.now() - timedelta(minutes=5)
            item = Meeting.objects.create(
                title_ar="اجتماع مجلس الإدارة",
                title_en="Board meeting",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                status=MeetingStatus.IN_PROGRESS,
                started_at=starts,
                quorum_kind=QuorumKind.COUNT,
                quorum_value=Decimal("1"),
            )
            first = AgendaItem.objects.create(meeting=item, position=1, title="اعتماد المحضر")
            AgendaItem.objects.create(meeting=item, position=2, title="الميزانية السنوية")
            item.current_item = first
            item.save(update_fields=["current_item"])
            for user, role in (
                (chair, MemberRole.CHAIR),
                (member, MemberRole.MEMBER),
                (secretary, MemberRole.SECRETARY),
            ):
                Participant.objects.create(meeting=item, user=user, role=role)
        return {
            "chair": chair,
            "member": member,
            "secretary": secretary,
            "path": f"/meetings/alpha/{item.pk}/room/",
            "qr": f"/meetings/alpha/{item.pk}/qr/",
        }

    with orm():
        return in_thread(prepare)


def test_the_room_follows_the_meeting(live_url, new_context, meeting, artifacts):
    shot = Screenshots(artifacts, "room")
    member = new_context(viewport={"width": 320, "height": 700}).new_page()
    log_in(member, live_url, meeting["member"].email, meeting["path"])
    chair = new_context().new_page()
    log_in(chair, live_url, meeting["chair"].email, meeting["path"])
    socket_open(member)
    socket_open(chair)

    badge = chair.locator("[data-room-quorum-badge]")
    expect(badge).to_have_text("النصاب غير مكتمل")
    chair.evaluate("window.__notReloaded = true")

    # the member checks in: the chair's quorum changes live
    member.get_by_role("button", name="تسجيل الحضور").click()
    member.wait_for_url(live_url + meeting["path"])
    expect(badge).to_have_text("النصاب مكتمل", timeout=5_000)
    assert chair.evaluate("window.__notReloaded === true")
    socket_open(member)
    assert member.evaluate("document.documentElement.scrollWidth") <= 321
    shot(member, "member-checked-in")

    # the chair moves to the second item: the member's page follows
    chair.select_option("#room-item", label="2. الميزانية السنوية")
    chair.get_by_role("button", name="انتقال", exact=True).click()
    expect(member.locator("[data-room-current-title]")).to_have_text(
        "2. الميزانية السنوية", timeout=5_000
    )
    # the page reloads itself onto the new item's discussion (nothing typed in it)
    expect(member.locator('li[aria-current="step"]')).to_contain_text("الميزانية السنوية")
    socket_open(member)

    # the member raises a hand; the chair gives the floor; the timer runs for the member
    member.evaluate("window.__notReloaded = true")
    member.get_by_role("button", name="رفع يدي").click()
    expect(chair.locator("[data-room-speakers]")).to_contain_text("ينتظر", timeout=5_000)
    expect(member.get_by_role("button", name="إنزال يدي")).to_be_visible()
    assert member.evaluate("window.__notReloaded === true")  # the button follows in place
    chair.get_by_role("button", name="المتحدث التالي").click()
    expect(member.locator("[data-room-timer]")).to_be_visible(timeout=5_000)
    expect(member.locator("[data-room-timer]")).to_contain_text("/ 3:00")
    reflows_and_passes_axe(member, "member-speaking", shot)
    reflows_and_passes_axe(chair, "chair", shot)


def test_the_secretarys_qr_screen(live_url, new_context, meeting, artifacts):
    shot = Screenshots(artifacts, "room-qr")
    page = new_context(viewport={"width": 320, "height": 700}).new_page()
    log_in(page, live_url, meeting["secretary"].email, meeting["qr"])
    first = page.locator("[data-qr-code-url] svg").inner_html()
    assert "path" in first
    reflows_and_passes_axe(page, "screen", shot)
    page.wait_for_function(
        "(first) => document.querySelector('[data-qr-code-url] svg').innerHTML !== first",
        arg=first,
        timeout=20_000,
    )
    page.goto(live_url + meeting["qr"].replace("/qr/", "/attendance/"))
    expect(page.locator("[data-participant-row]")).to_have_count(3)
    reflows_and_passes_axe(page, "attendance", shot)
    page.locator("[data-participant-row]").first.get_by_role("button", name="حاضر").click()
    expect(page.locator("[data-participant-row] [data-presence]").first).to_have_text("حاضر")
