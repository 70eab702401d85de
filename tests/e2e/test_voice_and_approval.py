"""Voice comments and a supervisor's approval in a real browser (issue 5, "How it is shown").

(a) The assignee records a voice message on the request page with Chromium's fake microphone
    (``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream``): the timer runs,
    a preview appears, the first take is cancelled and a second recorded, and it is sent as an
    external comment. The beneficiary opens the request and plays it back; the file behind the
    player is audio.
(b) A plain employee asks to postpone a request; the supervisor of the department approves it
    on the approvals page; the request is postponed.

Rows are created and committed through the real services in ``orm`` (see conftest). Screenshots
go to tests/e2e/artifacts/voice-*.png and approval-*.png.
"""

import os
import re
import shutil
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from requests_app.constants import Status
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.helpers import Screenshots, assert_lang, log_in, wait_for_js
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    mobile_number,
    national_id,
)

pytestmark = pytest.mark.e2e

MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",  # allow the microphone without asking
    "--use-fake-device-for-media-stream",  # a synthetic microphone (a beeping tone)
    "--autoplay-policy=no-user-gesture-required",  # play() from the test, not a click
]
RECORD = "تسجيل رسالة صوتية"
RECORD_AGAIN = "إعادة التسجيل"
STOP = "إيقاف"
CANCEL = "إلغاء"
VOICE_NOTE = "رسالة صوتية من الموظف المختص"
POSTPONE_REASON = "ننتظر خطاب الجهة الأخرى قبل المتابعة"


@pytest.fixture(scope="module")
def browser(browser):
    """A Chromium of its own with the fake microphone, launched by the folder's Playwright
    (a second sync_playwright() cannot start while the folder's browser is running)."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
        headless=True,
        args=[*CHROMIUM_ARGS, *MEDIA_ARGS],
    )
    try:
        yield chromium
    finally:
        chromium.close()


def in_thread(function):
    """Run ``function`` off Playwright's thread (whose asyncio loop is marked running, so the
    services' on-commit pushes, which use async_to_sync, could not leave from it)."""
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
    """Committed: a department of alpha with a plain employee and its supervisor, a service of
    the department, and one request of a beneficiary assigned to the employee."""
    from requests_app.models import Request
    from requests_app.services.index import index_sync
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(
            alpha, roles=("admin",), email=f"e2e-voice-admin-{seed}@alpha.example"
        )
        employee = make_employee(alpha, email=f"e2e-voice-staff-{seed}@alpha.example")
        supervisor = make_employee(
            alpha, roles=("supervisor",), email=f"e2e-voice-boss-{seed}@alpha.example"
        )
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"خدمة العملاء {seed}", name_en=f"Customer care {seed}"
            )
            Membership.objects.filter(user_id__in=[employee.pk, supervisor.pk]).update(
                department=department
            )
        service = make_type(
            alpha, actor=admin, department=department, name_ar="استفسار عام", name_en="Enquiry"
        )
        beneficiary = make_beneficiary(
            email=f"e2e-voice-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
            preferred_language="ar",
        )
        item = make_request(
            alpha,
            beneficiary=beneficiary,
            request_type=service,
            subject="استفسار عن موعد الزيارة",
            description="متى يمكنني زيارة الفرع لتسليم الأوراق؟",
        )
        with schema_context(alpha.schema_name):
            Request.objects.filter(pk=item.pk).update(
                assignee=Membership.objects.get(user_id=employee.pk)
            )
            item = Request.objects.select_related("assignee__user", "transaction_type").get(
                pk=item.pk
            )
            index_sync(agency=alpha, request=item)
        return {
            "employee": employee,
            "supervisor": supervisor,
            "beneficiary": beneficiary,
            "item": item,
            "schema": alpha.schema_name,
            "staff_path": f"/a/alpha/requests/{item.pk}/",
            "public_path": f"/requests/alpha/{item.reference}/",
        }

    with orm():
        return in_thread(prepare)


def duplicate_ids(page) -> list[str]:
    return page.evaluate(
        """() => {
            const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
            return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
        }"""
    )


def timer_seconds(box) -> int:
    minutes, seconds = box.locator(".voice__timer").inner_text().strip().split(":")
    return int(minutes) * 60 + int(seconds)


def record(page, box, seconds: float = 2.2) -> None:
    """Press record, speak (the fake microphone beeps) for ``seconds``, press stop."""
    box.get_by_role("button", name=re.compile(f"^({RECORD}|{RECORD_AGAIN})$")).click()
    expect(box).to_have_attribute("data-state", "recording")
    expect(box.get_by_role("button", name=STOP)).to_be_visible()
    page.wait_for_timeout(seconds * 1000)
    assert timer_seconds(box) >= 1, "the timer does not run while recording"


def test_voice_comment_recorded_sent_and_played_back(live_url, new_context, desk, orm, artifacts):
    shot = Screenshots(artifacts, "voice")
    item, employee, beneficiary = desk["item"], desk["employee"], desk["beneficiary"]

    staff = new_context().new_page()
    console_errors: list[str] = []
    staff.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    log_in(staff, live_url, employee.email, desk["staff_path"])
    assert_lang(staff, "ar", "rtl")
    assert staff.evaluate("!!(navigator.mediaDevices && window.MediaRecorder)")
    assert duplicate_ids(staff) == []
    form = staff.locator("form[action$='/comment/']")
    box = form.locator(".voice")
    expect(box).to_have_count(1)
    record_button = box.get_by_role("button", name=RECORD)
    expect(record_button).to_be_visible()
    expect(box.locator(".voice__timer")).to_have_text("0:00")
    shot(staff, "1-staff-recorder")

    # first take: record, stop, listen, cancel
    record(staff, box)
    shot(staff, "2-staff-recording")
    box.get_by_role("button", name=STOP).click()
    expect(box).to_have_attribute("data-state", "ready")
    preview = box.locator("audio.voice__preview")
    expect(preview).to_be_visible()
    assert timer_seconds(box) >= 2, box.locator(".voice__timer").inner_text()
    assert form.locator("input[data-voice-input]").evaluate("i => i.files.length") == 1
    shot(staff, "3-staff-first-take")
    box.get_by_role("button", name=CANCEL).click()
    expect(preview).to_be_hidden()
    expect(box.locator(".voice__timer")).to_have_text("0:00")
    assert form.locator("input[data-voice-input]").evaluate("i => i.files.length") == 0
    assert form.locator("input[data-voice-duration]").input_value() == ""

    # second take, kept
    record(staff, box, seconds=2.5)
    box.get_by_role("button", name=STOP).click()
    expect(box).to_have_attribute("data-state", "ready")
    expect(preview).to_be_visible()
    recorded = timer_seconds(box)
    assert recorded >= 2
    assert form.locator("input[data-voice-duration]").input_value() == str(recorded)
    picked = form.locator("input[data-voice-input]").evaluate(
        "i => ({n: i.files.length, size: i.files[0].size, type: i.files[0].type})"
    )
    assert picked["n"] == 1 and picked["size"] > 500, picked
    assert re.match(r"(audio|video)/webm", picked["type"]), picked
    print(f"\n[e2e] recorded {recorded}s, {picked['size']} bytes of {picked['type']}")
    # the preview plays the recording before sending
    assert preview.evaluate("a => a.play().then(() => 'ok', e => String(e))") == "ok"
    wait_for_js(staff, "document.querySelector('.voice__preview').currentTime > 0", timeout=5_000)
    preview.evaluate("a => a.pause()")

    form.locator("#id_body").fill(VOICE_NOTE)
    form.locator("input[name=visibility][value=external]").check()
    shot(staff, "4-staff-ready-to-send")
    form.locator("button[type=submit]").click()
    staff.wait_for_url(live_url + desk["staff_path"])
    with translation.override("ar"):
        added = gettext("The comment was added.")
    expect(staff.locator(".messages")).to_contain_text(added)
    player = staff.locator(".timeline audio.voice-player")
    expect(player).to_have_count(1)
    expect(staff.locator(".timeline .comment", has_text=VOICE_NOTE)).to_have_count(1)
    shot(staff, "5-staff-sent")

    with orm():
        from requests_app.models import Attachment

        with schema_context(desk["schema"]):
            voice = Attachment.objects.get(request_id=item.pk, is_voice=True)
            stored = (voice.content_type, voice.size, voice.duration_seconds, voice.visibility)
    print(f"[e2e] stored voice: {stored}")
    assert stored[0] in ("video/webm", "audio/webm") and stored[1] == picked["size"]
    assert stored[2] == recorded and stored[3] == "external"

    # the beneficiary opens the request, downloads and plays the voice message
    person = new_context().new_page()
    log_in(person, live_url, beneficiary.email, desk["public_path"])
    assert_lang(person, "ar", "rtl")
    audio = person.locator(".timeline audio.voice-player")
    expect(audio).to_have_count(1)
    expect(person.locator(".timeline .comment", has_text=VOICE_NOTE)).to_have_count(1)
    src = audio.get_attribute("src")
    assert src and re.fullmatch(rf"/requests/alpha/{re.escape(item.reference)}/files/\d+/", src)
    fetched = person.evaluate(
        """async (src) => {
            const r = await fetch(src);
            const body = await r.arrayBuffer();
            const head = Array.from(new Uint8Array(body.slice(0, 4)));
            const type = r.headers.get('content-type');
            return {status: r.status, type, size: body.byteLength, head};
        }""",
        src,
    )
    print(f"[e2e] beneficiary fetched {src}: {fetched}")
    assert fetched["status"] == 200 and fetched["size"] == picked["size"]
    assert re.match(r"(audio|video)/webm", fetched["type"]), fetched
    assert fetched["head"] == [0x1A, 0x45, 0xDF, 0xA3]  # EBML (WebM) magic
    shot(person, "6-beneficiary-sees-player")

    played = audio.evaluate(
        """a => new Promise(resolve => {
            a.addEventListener('error', () => resolve('error ' + (a.error && a.error.code)));
            a.play().then(() => resolve('playing'), e => resolve(String(e)));
        })"""
    )
    assert played == "playing", played
    wait_for_js(
        person,
        "document.querySelector('.timeline audio.voice-player').currentTime > 0.3",
        timeout=10_000,
    )
    state = audio.evaluate(
        "a => ({t: a.currentTime, paused: a.paused, error: a.error && a.error.code})"
    )
    print(f"[e2e] beneficiary playback: {state}")
    assert state["error"] is None and state["t"] > 0.3
    shot(person, "7-beneficiary-playing")
    audio.evaluate("a => a.pause()")
    assert not [e for e in console_errors if "voice" in e.lower()], console_errors


def test_supervisor_approves_a_postponement(live_url, new_context, desk, orm, artifacts):
    shot = Screenshots(artifacts, "approval")
    item, employee, supervisor = desk["item"], desk["employee"], desk["supervisor"]
    with translation.override("ar"):
        postponed_label = str(Status.POSTPONED.label)
        sent_for_approval = gettext("Your request was sent for approval.")
        decision_recorded = gettext("Your decision was recorded.")

    staff = new_context().new_page()
    log_in(staff, live_url, employee.email, desk["staff_path"])
    assert_lang(staff, "ar", "rtl")
    postpone = staff.locator("form[action$='/postpone/']")
    expect(postpone).to_have_count(1)
    # one action panel open at a time: the comment panel is open, postponing is folded
    expect(postpone).to_be_hidden()
    staff.locator("details.action-panel", has=postpone).locator("summary").click()
    expect(postpone).to_be_visible()
    until = timezone.localtime(timezone.now() + timedelta(days=5)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    # filled by their labels, as a screen reader user would (each label names its own box)
    assert duplicate_ids(staff) == []
    with translation.override("ar"):
        new_date, reason = gettext("New date"), gettext("Reason")
    postpone.get_by_label(re.compile(f"^{new_date}")).fill(until.strftime("%Y-%m-%dT%H:%M"))
    postpone.get_by_label(re.compile(f"^{reason}")).fill(POSTPONE_REASON)
    assert postpone.locator("textarea[name=reason]").input_value() == POSTPONE_REASON
    assert staff.locator("form[action$='/reassign/'] textarea[name=reason]").input_value() == ""
    shot(staff, "1-employee-asks")
    postpone.locator("button[type=submit]").click()
    staff.wait_for_url(live_url + desk["staff_path"])
    expect(staff.locator("main")).to_contain_text(sent_for_approval)
    # nothing changed yet: the request is not postponed
    expect(staff.locator("main .card .status").first).not_to_have_class(
        re.compile("status--postponed")
    )
    shot(staff, "2-employee-waits")
    with orm():
        from requests_app.models import ApprovalRequest, Request

        with schema_context(desk["schema"]):
            asked = ApprovalRequest.objects.get(request_id=item.pk)
            assert asked.kind == ApprovalRequest.POSTPONE
            assert asked.status == ApprovalRequest.PENDING and asked.reason == POSTPONE_REASON
            assert Request.objects.get(pk=item.pk).status != Status.POSTPONED

    boss = new_context().new_page()
    log_in(boss, live_url, supervisor.email, "/a/alpha/approvals/")
    assert_lang(boss, "ar", "rtl")
    card = boss.locator("main .card", has_text=item.reference)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(POSTPONE_REASON)
    moment = f'time[datetime^="{until.strftime("%Y-%m-%dT%H:%M")}"]'  # shown as a human date
    expect(card.locator(moment)).to_have_count(1)
    shot(boss, "3-supervisor-approvals")
    card.locator("input[name=note]").fill("موافق، مع المتابعة بعد وصول الخطاب")
    card.locator("button[value=approve]").click()
    boss.wait_for_url(live_url + "/a/alpha/approvals/")
    expect(boss.locator("main")).to_contain_text(decision_recorded)
    expect(boss.locator("main .card", has_text=item.reference)).to_have_count(0)
    shot(boss, "4-supervisor-approved")

    boss.goto(live_url + desk["staff_path"])
    status = boss.locator("main .card .status").first
    expect(status).to_have_class(re.compile("status--postponed"))
    assert status.inner_text().strip() == postponed_label
    timeline = boss.locator(".timeline")
    with translation.override("ar"):
        expect(timeline).to_contain_text(gettext("Approved"))
    assert "approved" not in timeline.inner_text()  # the decision in words, not its code
    shot(boss, "5-request-postponed")

    staff.reload()
    expect(staff.locator("main .card .status").first).to_have_class(re.compile("status--postponed"))
    shot(staff, "6-employee-sees-postponed")
    with orm():
        with schema_context(desk["schema"]):
            asked = ApprovalRequest.objects.get(pk=asked.pk)
            item_now = Request.objects.get(pk=item.pk)
        assert asked.status == ApprovalRequest.APPROVED and asked.decided_by_id == supervisor.pk
        assert item_now.status == Status.POSTPONED
        assert timezone.localtime(item_now.postponed_until) == until

    # the beneficiary sees it postponed, with the new date but not the internal reason
    person = new_context().new_page()
    log_in(person, live_url, desk["beneficiary"].email, desk["public_path"])
    expect(person.locator("main .card .status").first).to_have_class(
        re.compile("status--postponed")
    )
    expect(person.locator(f".timeline {moment}")).to_have_count(1)
    assert POSTPONE_REASON not in person.content()
    shot(person, "7-beneficiary-sees-postponed")
