"""Minutes of a meeting (R-34): drafted by the system from the meeting's record, edited by the
secretary, circulated for remarks, revised, approved by the chair, then locked (by the service
and by a database trigger) and kept as versions; printed as PDF in Arabic and English."""

import shutil
import subprocess
import unicodedata

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tenants.utils import schema_context

from meetings import minutes_page
from meetings.constants import MeetingStatus, MemberRole
from meetings.models import Participant
from meetings.models_minutes import Minutes, MinutesRemark, MinutesStatus, MinutesVersion
from meetings.services import minutes as services
from notifications.models import Notification
from tenants.staff.models import AuditEvent
from tests.factories import make_beneficiary, make_employee
from tests.meetings.factories import meetings_viewer
from tests.meetings.minutes_helpers import (  # noqa: F401 - fixture
    ABSENT,
    ATTENDEES,
    ITEM_TITLES,
    QUESTION,
    TITLE_AR,
    TITLE_EN,
    invite,
    make_meeting,
    sample_record,
)


@pytest.fixture
def people(agency_a, agency_b):
    return {
        "secretary": make_beneficiary(),
        "chair": make_beneficiary(),
        "member": make_beneficiary(),
        "member2": make_beneficiary(),
        "observer": make_beneficiary(),
        "outsider": make_beneficiary(),
        "viewer": meetings_viewer(agency_a),
        "employee": make_employee(agency_a),
        "other_agency": make_employee(agency_b, roles=("admin",)),
    }


@pytest.fixture
def meeting(agency_a, people, sample_record):  # noqa: F811
    meeting = make_meeting(agency_a)
    invite(agency_a, meeting, people["secretary"], MemberRole.SECRETARY)
    invite(agency_a, meeting, people["chair"], MemberRole.CHAIR)
    invite(agency_a, meeting, people["member"])
    invite(agency_a, meeting, people["member2"])
    invite(agency_a, meeting, people["observer"], MemberRole.OBSERVER)
    return meeting


def url(agency, meeting, tail=""):
    return f"/meetings/{agency.slug}/{meeting.pk}/minutes/{tail}"


def _minutes(agency, meeting) -> Minutes:
    with schema_context(agency.schema_name):
        return Minutes.objects.get(meeting=meeting)


def _versions(agency, meeting) -> list[MinutesVersion]:
    with schema_context(agency.schema_name):
        return list(MinutesVersion.objects.filter(minutes__meeting=meeting).order_by("number"))


def pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    text = unicodedata.normalize("NFKC", result.stdout.decode("utf-8"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def test_the_whole_lifecycle(client, agency_a, meeting, people):
    # The secretary drafts: the system writes from agenda, attendance, notes and results.
    client.force_login(people["secretary"])
    response = client.post(url(agency_a, meeting, "draft/"))
    assert response.status_code == 302
    (first,) = _versions(agency_a, meeting)
    assert first.is_draft_by_system and first.number == 1
    for expected in (TITLE_AR, *ITEM_TITLES, *ATTENDEES, ABSENT, QUESTION, "ناقش المجلس"):
        assert expected in first.body, expected
    assert first.record["attendance"][0]["name"] == ATTENDEES[0]
    assert first.record["polls"][0]["question"] == QUESTION
    # Arabic lists are separated with the Arabic comma
    assert "، ".join(ATTENDEES) in first.body and ", " not in first.body
    # the text keeps its own direction on a page in another language
    page = client.get(url(agency_a, meeting)).content.decode()
    assert '<p dir="auto">' in page and 'dir="auto"' in page.split("<textarea")[1].split(">")[0]
    # Not circulated yet: a member does not see it.
    client.force_login(people["member"])
    assert client.get(url(agency_a, meeting)).status_code == 404

    # The secretary edits: a new version, the first is kept.
    client.force_login(people["secretary"])
    page = client.get(url(agency_a, meeting))
    assert page.status_code == 200 and ITEM_TITLES[0] in page.content.decode()
    response = client.post(url(agency_a, meeting), {"body": first.body + "\nإضافة من الأمين"})
    assert response.status_code == 302
    assert [v.number for v in _versions(agency_a, meeting)] == [1, 2]

    # Circulated: each participant with an account (but the secretary) is notified.
    assert client.post(url(agency_a, meeting, "circulate/")).status_code == 302
    assert _minutes(agency_a, meeting).status == MinutesStatus.CIRCULATED
    notified = set(
        Notification.objects.filter(event="meetings.minutes_circulated").values_list(
            "recipient_id", flat=True
        )
    )
    expected = {people[k].pk for k in ("chair", "member", "member2", "observer")}
    assert notified == expected

    # Members remark; the observer may not.
    client.force_login(people["member"])
    page = client.get(url(agency_a, meeting)).content.decode()
    assert "إضافة من الأمين" in page
    response = client.post(url(agency_a, meeting, "remark/"), {"text": "ملاحظة العضو"})
    assert response.status_code == 302
    client.force_login(people["member2"])
    assert "ملاحظة العضو" not in client.get(url(agency_a, meeting)).content.decode()
    client.force_login(people["observer"])
    assert client.post(url(agency_a, meeting, "remark/"), {"text": "x"}).status_code == 403
    client.force_login(people["chair"])
    assert "ملاحظة العضو" in client.get(url(agency_a, meeting)).content.decode()

    # The secretary revises (version 3, back to "being written") and circulates again.
    client.force_login(people["secretary"])
    assert "ملاحظة العضو" in client.get(url(agency_a, meeting)).content.decode()
    client.post(url(agency_a, meeting), {"body": "## البند الأول\nنص منقح بعد الملاحظات"})
    assert _minutes(agency_a, meeting).status == MinutesStatus.DRAFT
    client.post(url(agency_a, meeting, "circulate/"))

    # The chair approves: locked.
    client.force_login(people["chair"])
    # The page posts the version the chair read.
    page = client.get(url(agency_a, meeting)).content.decode()
    assert 'name="version" value="3"' in page
    assert client.post(url(agency_a, meeting, "approve/"), {"version": "3"}).status_code == 302
    minutes = _minutes(agency_a, meeting)
    assert minutes.status == MinutesStatus.APPROVED
    versions = _versions(agency_a, meeting)
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[-1].approved_at is not None
    assert versions[-1].approved_by_id == people["chair"].pk
    with schema_context(agency_a.schema_name):
        assert MinutesRemark.objects.filter(version=versions[1]).count() == 1

    # History is shown, each version readable.
    client.force_login(people["member"])
    page = client.get(url(agency_a, meeting)).content.decode()
    assert "نص منقح بعد الملاحظات" in page
    old = client.get(url(agency_a, meeting, "versions/1/"))
    assert old.status_code == 200 and QUESTION in old.content.decode()

    # After approval nothing changes: not the text, not a new draft.
    client.force_login(people["secretary"])
    response = client.post(url(agency_a, meeting), {"body": "تعديل بعد الاعتماد"})
    assert response.status_code in (400, 403)
    client.post(url(agency_a, meeting, "draft/"))
    assert len(_versions(agency_a, meeting)) == 3
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError):
            services.minutes_edit(actor=people["secretary"], meeting=meeting, body="x")
        audit_actions = set(
            AuditEvent.objects.filter(object_type="meetings.minutes").values_list(
                "action", flat=True
            )
        )
    assert audit_actions == {
        "meetings.minutes_draft",
        "meetings.minutes_edit",
        "meetings.minutes_circulate",
        "meetings.minutes_remark",
        "meetings.minutes_approve",
    }


def _approved(agency, meeting, people):
    with schema_context(agency.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        return services.minutes_approve(
            actor=people["chair"], meeting=meeting, version=_versions(agency, meeting)[-1].number
        )


def test_an_approved_version_is_locked_in_the_database(agency_a, meeting, people):
    version = _approved(agency_a, meeting, people)
    with schema_context(agency_a.schema_name):
        for sql in (
            "UPDATE meetings_minutesversion SET body = 'forged' WHERE id = %s",
            "DELETE FROM meetings_minutesversion WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="approved minutes are locked"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [version.pk])
        with pytest.raises(DatabaseError, match="approved minutes are locked"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE meetings_minutes SET status = 'draft' WHERE id = %s",
                    [version.minutes_id],
                )
        # Nor can a version or a remark be added to them.
        with pytest.raises(DatabaseError, match="approved minutes are locked"):
            with transaction.atomic():
                MinutesVersion.objects.create(minutes_id=version.minutes_id, number=9, body="x")
        member = Participant.objects.get(meeting=meeting, user=people["member"])
        with pytest.raises(DatabaseError, match="approved minutes are locked"):
            with transaction.atomic():
                MinutesRemark.objects.create(version=version, participant=member, text="x")
        version.refresh_from_db()
        assert version.body != "forged"
        # A version not approved may still be written by the application (the trigger is
        # about approved ones only): a draft of another meeting.
        other = make_meeting(agency_a)
        invite(agency_a, other, people["secretary"], MemberRole.SECRETARY)
        draft = services.minutes_draft(actor=people["secretary"], meeting=other)
        MinutesVersion.objects.filter(pk=draft.pk).update(body="changed")


@pytest.mark.parametrize(
    "who, action",
    [
        ("member", "draft"),
        ("chair", "draft"),
        ("member", "edit"),
        ("observer", "edit"),
        ("member", "circulate"),
        ("member", "approve"),
        ("secretary", "approve"),
    ],
)
def test_refusals(agency_a, meeting, people, who, action):
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        if action == "approve":
            services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        before = list(MinutesVersion.objects.values_list("id", "body"))
        status = Minutes.objects.get(meeting=meeting).status
        call = {
            "draft": lambda: services.minutes_draft(actor=people[who], meeting=meeting),
            "edit": lambda: services.minutes_edit(actor=people[who], meeting=meeting, body="y"),
            "circulate": lambda: services.minutes_circulate(actor=people[who], meeting=meeting),
            "approve": lambda: services.minutes_approve(
                actor=people[who], meeting=meeting, version=1
            ),
        }[action]
        with pytest.raises(PermissionDenied):
            call()
        assert list(MinutesVersion.objects.values_list("id", "body")) == before
        assert Minutes.objects.get(meeting=meeting).status == status


def test_bad_input_and_order_of_steps(agency_a, people, sample_record):  # noqa: F811
    translation.activate("en")
    scheduled = make_meeting(agency_a, status=MeetingStatus.SCHEDULED)
    invite(agency_a, scheduled, people["secretary"], MemberRole.SECRETARY)
    invite(agency_a, scheduled, people["chair"], MemberRole.CHAIR)
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError, match="under way or closed"):
            services.minutes_draft(actor=people["secretary"], meeting=scheduled)
        assert not Minutes.objects.filter(meeting=scheduled).exists()
        with pytest.raises(ValidationError, match="Draft the minutes first"):
            services.minutes_edit(actor=people["secretary"], meeting=scheduled, body="x")
        # Under way: the secretary may draft, not circulate.
        scheduled.status = MeetingStatus.IN_PROGRESS
        scheduled.save()
        services.minutes_draft(actor=people["secretary"], meeting=scheduled)
        with pytest.raises(ValidationError, match="once the meeting is closed"):
            services.minutes_circulate(actor=people["secretary"], meeting=scheduled)
        with pytest.raises(ValidationError) as empty:
            services.minutes_edit(actor=people["secretary"], meeting=scheduled, body="  ")
        assert "body" in empty.value.error_dict
        # Approving a version that was never circulated.
        with pytest.raises(ValidationError, match="after they were circulated"):
            services.minutes_approve(actor=people["chair"], meeting=scheduled, version=1)
        assert Minutes.objects.get(meeting=scheduled).status == MinutesStatus.DRAFT


def test_empty_edit_shows_the_error_on_the_field(client, agency_a, meeting, people):
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
    client.force_login(people["secretary"])
    response = client.post(url(agency_a, meeting), {"body": ""})
    assert response.status_code == 400
    assert len(_versions(agency_a, meeting)) == 1


def test_draft_is_written_in_the_secretarys_language(agency_a, meeting, people):
    people["secretary"].preferred_language = "en"
    people["secretary"].save()
    with schema_context(agency_a.schema_name):
        version = services.minutes_draft(actor=people["secretary"], meeting=meeting)
    assert version.body.startswith(TITLE_EN)
    assert "Present:" in version.body and "carried" in version.body
    assert ", ".join(ATTENDEES) in version.body and "، " not in version.body
    assert version.minutes.language == "en"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_pdf_has_title_attendance_and_results(client, agency_a, meeting, people, language):
    _approved(agency_a, meeting, people)
    client.force_login(people["member"])
    response = client.get(url(agency_a, meeting, f"pdf/{language}/"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not checked")
    text = pdf_text(response.content)
    for expected in (*ATTENDEES, ABSENT, QUESTION, "نعم", "امتناع"):
        assert expected in text, (expected, text[:800])
    if language == "ar":
        assert TITLE_AR in text
        assert "الحضور" in text and "نتائج التصويت" in text and "تمت الموافقة" in text
    else:
        assert TITLE_EN in text
        assert "Attendance" in text and "Carried" in text and "Present" in text


def test_agency_viewer_reads_and_downloads_but_does_not_write(client, agency_a, meeting, people):
    _approved(agency_a, meeting, people)
    client.force_login(people["viewer"])
    assert client.get(url(agency_a, meeting)).status_code == 200
    assert client.get(url(agency_a, meeting, "pdf/ar/")).status_code == 200
    assert client.post(url(agency_a, meeting, "remark/"), {"text": "x"}).status_code == 403


MINUTES_URLS = [
    ("get", ""),
    ("post", ""),
    ("post", "draft/"),
    ("post", "circulate/"),
    ("post", "remark/"),
    ("post", "approve/"),
    ("get", "versions/1/"),
    ("get", "pdf/ar/"),
    ("get", "pdf/en/"),
]


@pytest.mark.parametrize("who", ["anonymous", "other_agency", "outsider", "employee"])
def test_isolation_of_every_minutes_url(client, agency_a, meeting, people, who):
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
    if who != "anonymous":
        client.force_login(people[who])
    for method, tail in MINUTES_URLS:
        response = getattr(client, method)(url(agency_a, meeting, tail), {"body": "x", "text": "x"})
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code == 404, (method, tail, response.status_code)
    # Nothing changed.
    assert len(_versions(agency_a, meeting)) == 1
    assert _minutes(agency_a, meeting).status == MinutesStatus.CIRCULATED
    with schema_context(agency_a.schema_name):
        assert not MinutesRemark.objects.exists()


def test_meeting_of_another_agency_is_not_found_under_this_agency(
    client, agency_a, agency_b, meeting, people
):
    client.force_login(people["secretary"])
    assert client.get(url(agency_b, meeting)).status_code == 404


def test_page_part_and_minutes_page_queries(
    client, rf, agency_a, meeting, people, django_assert_max_num_queries
):
    _approved(agency_a, meeting, people)
    request = rf.get(f"/meetings/{agency_a.slug}/{meeting.pk}/")
    request.user = people["member"]
    from django.urls import resolve

    request.resolver_match = resolve(url(agency_a, meeting))
    with schema_context(agency_a.schema_name):
        meeting.refresh_from_db()
        with CaptureQueriesContext(connection) as captured:
            part = minutes_page.context(request, meeting, None)["minutes_part"]
        assert len(captured) <= 3
    assert part["show"] and part["readable"] and part["status"] == MinutesStatus.APPROVED
    assert part["pdf_ar"].endswith("/minutes/pdf/ar/")

    client.force_login(people["chair"])
    client.get(url(agency_a, meeting))
    with django_assert_max_num_queries(16):
        assert client.get(url(agency_a, meeting)).status_code == 200


def test_write_paths_query_budgets(agency_a, meeting, people, django_assert_max_num_queries):
    with schema_context(agency_a.schema_name):
        with django_assert_max_num_queries(14):
            services.minutes_draft(actor=people["secretary"], meeting=meeting)
        with django_assert_max_num_queries(12):
            services.minutes_edit(actor=people["secretary"], meeting=meeting, body="نص")
        # Circulating notifies each participant: a few queries each (no more per reader).
        with django_assert_max_num_queries(12 + 4 * 5):
            services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        with django_assert_max_num_queries(10):
            services.minutes_remark(actor=people["member"], meeting=meeting, text="ملاحظة")


def test_the_chair_approves_only_the_version_they_read(agency_a, meeting, people):
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        # The chair opened version 1; meanwhile the secretary revised and circulated again.
        services.minutes_edit(actor=people["secretary"], meeting=meeting, body="## نص\nجديد")
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        for language in ("en", "ar"):
            with translation.override(language), pytest.raises(ValidationError) as stale:
                services.minutes_approve(actor=people["chair"], meeting=meeting, version=1)
            if language == "en":
                assert "changed since you opened them" in stale.value.messages[0]
            else:
                assert "changed since" not in stale.value.messages[0]
        assert Minutes.objects.get(meeting=meeting).status == MinutesStatus.CIRCULATED
        assert not MinutesVersion.objects.filter(approved_at__isnull=False).exists()
        services.minutes_approve(actor=people["chair"], meeting=meeting, version=2)
        assert Minutes.objects.get(meeting=meeting).status == MinutesStatus.APPROVED


def test_the_chair_does_not_approve_a_version_they_wrote(agency_a, meeting, people):
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        MinutesVersion.objects.filter(minutes__meeting=meeting).update(created_by=people["chair"])
        with translation.override("en"), pytest.raises(ValidationError, match="another person"):
            services.minutes_approve(actor=people["chair"], meeting=meeting, version=1)
        assert Minutes.objects.get(meeting=meeting).status == MinutesStatus.CIRCULATED


def test_circulating_takes_the_record_again(agency_a, meeting, people, monkeypatch):
    """A draft written during the meeting carries the results of then; the circulated
    version (and so the PDF) has the final ones."""
    with schema_context(agency_a.schema_name):
        services.minutes_draft(actor=people["secretary"], meeting=meeting)
        final = [{"question": "السؤال النهائي", "options": [], "carried": False}]
        monkeypatch.setattr("meetings.record.poll_results", lambda meeting: final)
        services.minutes_circulate(actor=people["secretary"], meeting=meeting)
        version = MinutesVersion.objects.get(minutes__meeting=meeting)
        assert [poll["question"] for poll in version.record["polls"]] == ["السؤال النهائي"]
