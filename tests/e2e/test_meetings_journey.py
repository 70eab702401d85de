"""Issue 13's journey in a real browser, in Arabic, each person in their own browser:

the secretary (an employee who manages meetings) schedules a meeting in the workspace (two
members and a chair), announces it; one member answers from the meeting's page, the other
through the signed answer link of their invitation email; the secretary starts the meeting and
shows the room's QR code, one member opens the link it encodes on a phone (signing in on the
way), the other checks in remotely; the quorum shows on the pages, live; the chair opens a
secret poll, both members vote (and get their receipt code), the chair closes it and the
result appears on the members' pages without reloading; the secretary closes the meeting,
drafts and circulates the minutes, the chair approves them and downloads the Arabic PDF.
Screenshots: tests/e2e/artifacts/meetings-journey-*.png.

Then the voting and minutes pages at 320 CSS px in Arabic and English: no sideways scroll, no
serious axe-core violation (screenshots in tests/e2e/artifacts/pages/meetings-*).
"""

import re
import subprocess
import time
import unicodedata
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import (
    Screenshots,
    assert_lang,
    in_thread,
    log_in,
    submit_main_form,
    wait_for_js,
)
from tests.e2e.test_every_page import audit_page, sign_in
from tests.factories import PASSWORD, make_beneficiary, make_employee, membership_of, mobile_number

pytestmark = pytest.mark.e2e

TITLE_AR = "اجتماع لجنة المشتريات الفصلي"
QUESTION = "هل توافق اللجنة على خطة المشتريات؟"
EMAIL_TIMEOUT_S = 30
PHONE = {"width": 375, "height": 740}


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def live_on(page) -> None:
    wait_for_js(page, "document.documentElement.dataset.live === 'on'", timeout=10_000)


def fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, page.url


def verified_member(seed: int, n: int, name: str):
    from allauth.account.models import EmailAddress

    user = make_beneficiary(
        email=f"e2e-mtg-j{n}-{seed}@example.sa",
        mobile=mobile_number(seed + n),
        first_name_ar=name,
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def cast(agencies, orm, seed) -> dict:
    alpha = agencies["alpha"]

    def prepare() -> dict:
        secretary = make_employee(
            alpha, roles=("admin",), email=f"e2e-mtg-sec-{seed}@alpha.example"
        )
        chair = make_employee(alpha, email=f"e2e-mtg-chair-{seed}@alpha.example")
        return {
            "secretary": secretary,
            "chair": chair,
            "chair_membership": membership_of(alpha, chair).pk,
            "first": verified_member(seed, 1, "سارة"),
            "second": verified_member(seed, 2, "خالد"),
        }

    with orm():
        return in_thread(prepare)


def answer_link(orm, email: str) -> str:
    """The signed answer link of the invitation email (the worker sends it after announcing)."""
    from notifications.models import ConsoleEmail

    deadline = time.monotonic() + EMAIL_TIMEOUT_S
    while True:
        with orm():
            bodies = list(ConsoleEmail.objects.filter(to__icontains=email).values_list("body"))
        for (body,) in bodies:
            found = re.search(r"https?://\S+/meetings/alpha/answer/[^\s/]+/", body)
            if found:
                return found.group(0)
        assert time.monotonic() < deadline, f"no invitation email with an answer link to {email}"
        time.sleep(0.3)


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "minutes.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return unicodedata.normalize("NFKC", text)


def test_meeting_journey_in_arabic(live_url, new_context, cast, orm, artifacts, tmp_path):
    shot = Screenshots(artifacts, "meetings-journey")
    started = time.monotonic()

    # --- the secretary schedules the meeting in the workspace
    secretary = new_context().new_page()
    log_in(secretary, live_url, cast["secretary"].email, "/a/alpha/meetings/new/")
    assert_lang(secretary, "ar", "rtl")
    starts = timezone.now().astimezone(ZoneInfo("Asia/Riyadh")) + timedelta(minutes=20)
    secretary.fill("#id_title_ar", TITLE_AR)
    secretary.fill("#id_title_en", "Procurement committee meeting")
    secretary.locator('input[name="mode"][value="hybrid"]').check()
    secretary.fill("#id_place", "قاعة الاجتماعات الكبرى")
    secretary.fill("#id_conference_url", "https://meet.example.sa/procurement")
    secretary.fill("#id_starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    secretary.fill("#id_ends_at", (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    secretary.select_option("#id_quorum_kind", "count")
    secretary.fill("#id_quorum_value", "2")
    submit_main_form(secretary)
    secretary.wait_for_url(re.compile(r".*/a/alpha/meetings/\d+/$"))
    meeting_id = int(secretary.url.rstrip("/").rsplit("/", 1)[1])
    workspace = secretary.url
    page_path = f"/meetings/alpha/{meeting_id}/"
    polls_path = f"{page_path}polls/"
    minutes_path = f"{page_path}minutes/"

    invite = secretary.locator('form[action$="/participants/add/"]')
    invite.locator("#id_membership").select_option(str(cast["chair_membership"]))
    invite.locator("#id_role").select_option("chair")
    invite.get_by_role("button").click()
    for key in ("first", "second"):
        secretary.wait_for_load_state()
        invite = secretary.locator('form[action$="/participants/add/"]')
        invite.locator("#id_name").fill(cast[key].first_name_ar)
        invite.locator("#id_email").fill(cast[key].email)
        invite.locator("#id_role").select_option("member")
        invite.get_by_role("button").click()
    expect(secretary.locator("#people-h + p + ul > li")).to_have_count(3)
    assert ar("invited, no account yet") not in secretary.locator("#people-h + p + ul").inner_text()
    secretary.get_by_role("button", name=ar("Announce and send the invitations")).click()
    secretary.wait_for_url(workspace)
    expect(
        secretary.get_by_role("button", name=ar("Announce and send the invitations"))
    ).to_have_count(0)
    fits(secretary)
    shot(secretary, "1-secretary-announced")

    # --- the first member answers from the meeting's page
    first = new_context().new_page()
    log_in(first, live_url, cast["first"].email, page_path)
    assert_lang(first, "ar", "rtl")
    first.locator('input[name="answer"][value="accepted"]').check()
    first.get_by_role("button", name=ar("Send my answer")).click()
    expect(first.locator("#rsvp-h + p strong")).to_have_text(ar("Will attend"))

    # --- the second member answers through the signed link of their invitation email
    link = answer_link(orm, cast["second"].email)
    assert link.startswith(live_url), link
    second = new_context().new_page()
    log_in(second, live_url, cast["second"].email, page_path)
    second.goto(link)
    assert TITLE_AR in second.locator("main").inner_text()
    second.locator('input[name="answer"][value="accepted"]').check()
    second.get_by_role("button", name=ar("Send my answer")).click()
    second.wait_for_load_state()
    shot(second, "2-second-answered-by-link")
    secretary.reload()
    assert secretary.locator(".rsvp--accepted").count() == 2
    shot(secretary, "3-secretary-two-answers")

    # --- the secretary starts the meeting; the chair watches the room
    secretary.goto(live_url + page_path)
    secretary.get_by_role("button", name=ar("Start the meeting")).click()
    expect(secretary.get_by_role("button", name=ar("Close the meeting"))).to_be_visible()
    chair = new_context().new_page()
    log_in(chair, live_url, cast["chair"].email, page_path)
    live_on(chair)
    badge = chair.locator("[data-room-quorum-badge]")
    expect(badge).to_have_text(ar("No quorum"))
    chair.evaluate("window.__notReloaded = true")

    # --- the first member scans the room's QR code with their phone (signed out there)
    secretary.get_by_role("link", name=ar("Check-in QR code for the room")).click()
    box = secretary.locator("[data-qr-check-in]")
    expect(box.locator("svg")).to_have_count(1)
    shot(secretary, "4-secretary-qr-screen")
    qr_link = box.get_attribute("data-qr-check-in")
    assert qr_link.startswith(f"{live_url}{page_path}qr/"), qr_link
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(qr_link)
    phone.wait_for_url("**/accounts/login/**")
    phone.fill("#id_login", cast["first"].email)
    phone.fill("#id_password", PASSWORD)
    submit_main_form(phone)
    expect(phone.get_by_role("heading", name=ar("You are checked in"))).to_be_visible()
    fits(phone)
    shot(phone, "5-phone-checked-in")
    phone.get_by_role("link", name=ar("Go to the meeting")).click()
    expect(phone.locator("[data-room-my-presence]")).to_have_text(ar("Present"))
    expect(phone.locator("[data-room-quorum-badge]")).to_have_text(ar("No quorum"))
    fits(phone)

    # --- the second member checks in remotely; the quorum is reached on the chair's page
    second.goto(live_url + page_path)
    second.get_by_role("button", name=ar("Check in")).click()
    second.wait_for_url(live_url + page_path)
    expect(second.locator("[data-room-quorum-badge]")).to_have_text(ar("Quorum reached"))
    expect(badge).to_have_text(ar("Quorum reached"), timeout=5_000)
    assert chair.evaluate("window.__notReloaded === true")
    shot(chair, "6-chair-quorum-reached")

    # --- the chair prepares and opens a secret poll
    chair.goto(live_url + polls_path)
    chair.locator("#poll-new summary").click()
    chair.fill("#id_question", QUESTION)
    chair.check("#id_is_secret")
    chair.get_by_role("button", name=ar("Save the poll")).click()
    poll = chair.locator("article.poll", has_text=QUESTION)
    poll.get_by_role("button", name=ar("Open the poll")).click()
    poll = chair.locator("article.poll", has_text=QUESTION)
    expect(poll.locator("[data-poll-status]")).to_have_text(ar("Open"))
    poll_id = poll.get_attribute("data-poll-id")

    # --- both members vote from their own browsers and get their receipt code
    codes = []
    for number, member in enumerate((phone, second), 1):
        member.goto(live_url + polls_path)
        ballot = member.locator(f"#poll-{poll_id}")
        ballot.locator('input[name="choice"]').first.check()
        ballot.get_by_role("button", name=ar("Cast the vote")).click()
        receipt = member.locator("#receipt")
        expect(receipt).to_contain_text(ar("Your vote is recorded."))
        codes.append(receipt.locator("code").inner_text().strip())
        fits(member)
        shot(member, f"7-member{number}-receipt")
        member.get_by_role("link", name=ar("Back to the votes")).click()
        live_on(member)
        member.evaluate("window.__notReloaded = true")
    assert all(codes) and codes[0] != codes[1], codes

    # --- the chair closes the poll: the result appears live on both members' pages
    chair.reload()
    expect(chair.locator(f"#poll-{poll_id} [data-poll-voted]")).to_have_text("2")
    chair.locator(f"#poll-{poll_id}").get_by_role("button", name=ar("Close the poll")).click()
    expect(chair.locator(f"#poll-{poll_id} [data-poll-result]")).to_have_text(ar("Carried"))
    for member in (phone, second):
        result = member.locator(f"#poll-{poll_id} [data-poll-result]")
        expect(result).to_have_text(ar("Carried"), timeout=5_000)
        expect(member.locator(f"#poll-{poll_id} [data-poll-status]")).to_have_text(ar("Closed"))
        assert member.evaluate("window.__notReloaded === true")
    fits(phone)
    shot(phone, "8-phone-result-live")

    # --- the secretary closes the meeting, drafts and circulates the minutes
    secretary.goto(live_url + page_path)
    secretary.get_by_role("button", name=ar("Close the meeting")).click()
    expect(secretary.get_by_role("button", name=ar("Close the meeting"))).to_have_count(0)
    secretary.goto(live_url + minutes_path)
    secretary.get_by_role("button", name=ar("Draft the minutes")).click()
    secretary.get_by_role("button", name=ar("Circulate to the participants")).click()
    expect(secretary.get_by_role("button", name=ar("Circulate to the participants"))).to_have_count(
        0
    )
    assert QUESTION in secretary.locator("main").inner_text()
    shot(secretary, "9-secretary-minutes-circulated")

    # --- the chair approves; the Arabic PDF is downloaded
    chair.goto(live_url + minutes_path)
    chair.get_by_role("button", name=ar("Approve")).click()
    expect(chair.get_by_role("button", name=ar("Approve"))).to_have_count(0)
    shot(chair, "10-chair-minutes-approved")
    href = chair.locator("main a[lang=ar]", has_text=ar("PDF in Arabic")).first.get_attribute(
        "href"
    )
    response = chair.request.get(live_url + href)
    assert response.status == 200, response.status
    assert response.body().startswith(b"%PDF")
    text = pdf_text(response.body(), tmp_path)
    assert TITLE_AR in text or TITLE_AR in " ".join(reversed(text.split())), text[:500]

    elapsed = time.monotonic() - started - shot.seconds
    assert elapsed < 120, f"the journey took {elapsed:.0f} s"  # 60-80 s on a shared machine


# --- the voting and minutes pages on a phone, in Arabic and English


@pytest.fixture
def voting_world(agencies, orm, seed) -> dict:
    from meetings.services import minutes as minutes_services
    from tests.meetings import minutes_helpers
    from tests.meetings.voting_helpers import add_participant, board, open_poll

    alpha = agencies["alpha"]

    def prepare() -> dict:
        manager = make_employee(alpha, roles=("admin",), email=f"e2e-mtg-pg-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            meeting, chair, members = board(2, title_ar="اجتماع المجلس لمراجعة الميزانية")
            add_participant(meeting, role="secretary", user=manager)
            poll = open_poll(meeting, chair, secret=True, question="هل يعتمد المجلس الميزانية؟")
        closed = minutes_helpers.make_meeting(alpha)
        with schema_context(alpha.schema_name):
            minutes_services.minutes_draft(actor=manager, meeting=closed)
        return {
            "manager": manager,
            "members": [m.user for m in members],
            "meeting_id": meeting.pk,
            "poll_id": poll.pk,
            "closed_id": closed.pk,
        }

    with orm():
        return in_thread(prepare)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_voting_and_minutes_pages_fit_a_phone_and_pass_axe(
    live_url, new_context, voting_world, orm, lang, artifacts
):
    from accounts.models import User

    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    member = voting_world["members"][0 if lang == "ar" else 1]
    manager = voting_world["manager"]
    with orm():
        User.objects.filter(pk__in=[member.pk, manager.pk]).update(preferred_language=lang)
    m, c = voting_world["meeting_id"], voting_world["closed_id"]
    problems: list[str] = []

    def visit(page, name: str, path: str | None = None) -> None:
        if path is not None:
            response = page.goto(live_url + path)
            assert response.status == 200, f"{path}: {response.status}"
        assert page.evaluate("document.documentElement.lang") == lang, page.url
        problems.extend(audit_page(page, f"{lang}-320-meetings-{name}", 320, folder))

    page = new_context(viewport={"width": 320, "height": 740}).new_page()
    sign_in(page, live_url, member.email)
    visit(page, "polls", f"/meetings/alpha/{m}/polls/")
    ballot = page.locator(f"#poll-{voting_world['poll_id']}")
    ballot.locator('input[name="choice"]').first.check()
    ballot.locator('button[type="submit"]').first.click()
    expect(page.locator("#receipt code")).to_be_visible()
    visit(page, "vote-recorded")

    page = new_context(viewport={"width": 320, "height": 740}).new_page()
    sign_in(page, live_url, manager.email)
    for name, path in (
        ("minutes", f"/meetings/alpha/{c}/minutes/"),
        ("minutes-version", f"/meetings/alpha/{c}/minutes/versions/1/"),
        ("decisions", "/a/alpha/meetings/decisions/"),
        ("decision-new", "/a/alpha/meetings/decisions/new/"),
    ):
        visit(page, name, path)
    assert problems == [], "\n".join(problems)
