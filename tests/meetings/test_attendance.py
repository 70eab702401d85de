"""Attendance (R-31): the check-in window, leaving and coming back, the secretary's marks, the
QR code's rotating signed token, the quorum as presence changes, and the attendance page."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.signing import dumps
from django.test import Client
from django_tenants.utils import schema_context

from meetings import record
from meetings.constants import MeetingStatus, Presence
from meetings.models import Participant
from meetings.models_room import AttendanceEvent
from meetings.quorum import quorum_state
from meetings.services import attendance as attendance_services
from meetings.services.attendance import (
    QR_SALT,
    QR_SLOT_SECONDS,
    attendance_check_in,
    attendance_leave,
    attendance_mark,
    attendance_qr_check_in,
    qr_token,
    qr_token_valid,
)
from tests.meetings.room_helpers import make_room, signed_in, url


@pytest.fixture
def world(agency_a, agency_b):
    return make_room(agency_a, agency_b)


@pytest.mark.parametrize(
    ("starts_in", "hours", "status", "allowed"),
    [
        (timedelta(minutes=29), 2, MeetingStatus.SCHEDULED, True),
        (timedelta(minutes=31), 2, MeetingStatus.SCHEDULED, False),
        (timedelta(minutes=-30), 1, MeetingStatus.SCHEDULED, True),  # under way, not started
        (timedelta(hours=-3), 1, MeetingStatus.SCHEDULED, False),  # ended
        (timedelta(hours=-3), 1, MeetingStatus.IN_PROGRESS, True),  # running late
        (timedelta(minutes=5), 1, MeetingStatus.CLOSED, False),
        (timedelta(minutes=5), 1, MeetingStatus.CANCELLED, False),
        (timedelta(minutes=5), 1, MeetingStatus.DRAFT, False),
    ],
)
def test_check_in_window(agency_a, agency_b, starts_in, hours, status, allowed):
    room = make_room(agency_a, agency_b, starts_in=starts_in, hours=hours, status=status)
    member = room["people"]["member"]
    with schema_context(agency_a.schema_name):
        if allowed:
            participant = attendance_check_in(actor=member, meeting=room["meeting"])
            assert participant.presence == Presence.PRESENT
            assert AttendanceEvent.objects.filter(participant=participant).count() == 1
        else:
            with pytest.raises(ValidationError):
                attendance_check_in(actor=member, meeting=room["meeting"])
            assert not AttendanceEvent.objects.exists()
            assert Participant.objects.get(pk=room["participants"]["member"].pk).presence == (
                Presence.UNKNOWN
            )


def test_leaving_and_coming_back_are_recorded(world):
    member, meeting = world["people"]["member"], world["meeting"]
    with schema_context(world["agency"].schema_name):
        attendance_check_in(actor=member, meeting=meeting)
        attendance_leave(actor=member, meeting=meeting)
        with pytest.raises(ValidationError):
            attendance_leave(actor=member, meeting=meeting)  # not there any more
        participant = attendance_check_in(actor=member, meeting=meeting)
        assert participant.presence == Presence.PRESENT
        kinds = list(
            AttendanceEvent.objects.filter(participant=participant).values_list("kind", "method")
        )
        assert kinds == [("check_in", "remote"), ("leave", "remote"), ("check_in", "remote")]
        rows = {row["participant_id"]: row for row in record.attendance_rows(meeting)}
        row = rows[participant.pk]
        assert row["presence"] == Presence.PRESENT and row["checked_in_at"] and not row["left_at"]


def test_a_non_participant_cannot_check_in(world):
    with schema_context(world["agency"].schema_name):
        for key in ("outsider", "employee", "other_meeting_member"):
            with pytest.raises(PermissionDenied):
                attendance_check_in(actor=world["people"][key], meeting=world["meeting"])
        assert not AttendanceEvent.objects.exists()


def test_only_the_secretary_marks_attendance(world):
    meeting, member = world["meeting"], world["participants"]["member"]
    with schema_context(world["agency"].schema_name):
        for key in ("chair", "member2", "observer", "outsider", "employee"):
            with pytest.raises(PermissionDenied):
                attendance_mark(
                    actor=world["people"][key],
                    meeting=meeting,
                    participant_id=member.pk,
                    presence=Presence.PRESENT,
                )
        assert not AttendanceEvent.objects.exists()
        secretary = world["people"]["secretary"]
        for presence in (Presence.EXCUSED, Presence.ABSENT, Presence.PRESENT):
            attendance_mark(
                actor=secretary, meeting=meeting, participant_id=member.pk, presence=presence
            )
            assert Participant.objects.get(pk=member.pk).presence == presence
        with pytest.raises(ValidationError):
            attendance_mark(
                actor=secretary, meeting=meeting, participant_id=member.pk, presence="left"
            )
        other = world["other_meeting"].participants.get()
        with pytest.raises(ValidationError):  # another meeting's participant
            attendance_mark(
                actor=secretary, meeting=meeting, participant_id=other.pk, presence="present"
            )
        assert Participant.objects.get(pk=other.pk).presence == Presence.UNKNOWN
        methods = set(AttendanceEvent.objects.values_list("method", flat=True))
        assert methods == {"secretary"}


def test_quorum_follows_presence_and_ignores_observers(world):
    meeting, secretary = world["meeting"], world["people"]["secretary"]
    participants = world["participants"]
    with schema_context(world["agency"].schema_name):
        # four voters (chair, secretary, two members): more than half is three
        state = quorum_state(meeting)
        assert (state.members, state.present, state.required, state.reached) == (4, 0, 3, False)
        for key in ("observer", "member", "member2"):
            attendance_mark(
                actor=secretary,
                meeting=meeting,
                participant_id=participants[key].pk,
                presence=Presence.PRESENT,
            )
        state = quorum_state(meeting)
        assert (state.present, state.reached) == (2, False)
        attendance_check_in(actor=world["people"]["chair"], meeting=meeting)
        assert quorum_state(meeting).reached
        attendance_leave(actor=world["people"]["chair"], meeting=meeting)
        assert not quorum_state(meeting).reached


# --- QR ---------------------------------------------------------------------------------------


def test_qr_token_rotates_and_expires(world):
    meeting = world["meeting"]
    with schema_context(world["agency"].schema_name):
        now = 1_800_000_000.0
        token = qr_token(meeting=meeting, now=now)
        assert qr_token(meeting=meeting, now=now + QR_SLOT_SECONDS) != token  # rotates
        assert qr_token_valid(meeting=meeting, token=token, now=now)
        assert qr_token_valid(meeting=meeting, token=token, now=now + 2 * QR_SLOT_SECONDS)
        assert not qr_token_valid(meeting=meeting, token=token, now=now + 3 * QR_SLOT_SECONDS)
        assert not qr_token_valid(meeting=meeting, token=token, now=now - QR_SLOT_SECONDS)
        assert not qr_token_valid(meeting=world["other_meeting"], token=token, now=now)
        assert not qr_token_valid(meeting=meeting, token=token[:-2] + "xx", now=now)
        forged = dumps({"a": world["agency"].schema_name, "m": meeting.pk, "s": 1}, salt="x")
        assert not qr_token_valid(meeting=meeting, token=forged, now=now)
    # the same meeting id in another agency's schema does not accept it
    with schema_context("public"):
        assert not qr_token_valid(meeting=meeting, token=token, now=now)


def test_qr_check_in_page(world, monkeypatch):
    agency, meeting = world["agency"], world["meeting"]
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting)
    member = world["people"]["member"]
    response = signed_in(member).get(url(agency, meeting, f"qr/{token}/"))
    assert response.status_code == 200
    with schema_context(agency.schema_name):
        participant = Participant.objects.get(pk=world["participants"]["member"].pk)
        assert participant.presence == Presence.PRESENT
        assert AttendanceEvent.objects.get(participant=participant).method == "qr"


@pytest.mark.parametrize("case", ["tampered", "expired", "outsider", "other_meeting_member"])
def test_qr_check_in_refusals_change_nothing(world, monkeypatch, case):
    agency, meeting = world["agency"], world["meeting"]
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting)
    who = world["people"]["member"]
    if case == "tampered":
        token = token[:-3] + "abc"
    elif case == "expired":
        later = attendance_services.time.time() + 4 * QR_SLOT_SECONDS
        monkeypatch.setattr(attendance_services.time, "time", lambda: later)
    else:
        who = world["people"][case]
    response = signed_in(who).get(url(agency, meeting, f"qr/{token}/"), HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 400
    assert "alert-danger" in response.content.decode()
    assert "Board meeting" not in response.content.decode()
    with schema_context(agency.schema_name):
        assert not AttendanceEvent.objects.exists()


def test_qr_check_in_asks_an_anonymous_visitor_to_sign_in(world):
    agency, meeting = world["agency"], world["meeting"]
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting)
    path = url(agency, meeting, f"qr/{token}/")
    response = signed_in(world["people"]["member"]).__class__().get(path)
    assert response.status_code == 302 and "login" in response["Location"]
    assert path in response.url.replace("%2F", "/").replace("%3A", ":")


def test_qr_service_refuses_expired_token_with_translated_error(world):
    with schema_context(world["agency"].schema_name):
        token = qr_token(meeting=world["meeting"], now=1000.0)
        with pytest.raises(ValidationError):
            attendance_qr_check_in(
                actor=world["people"]["member"], meeting=world["meeting"], token=token
            )


def test_qr_screen_and_code_are_the_secretarys(world):
    agency, meeting = world["agency"], world["meeting"]
    secretary = signed_in(world["people"]["secretary"])
    page = secretary.get(url(agency, meeting, "qr/"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    assert "<script>" not in page.content.decode()
    code = secretary.get(url(agency, meeting, "qr/code/"))
    assert code.status_code == 200 and code.json()["svg"].startswith("<svg")
    # the link the code encodes is on the screen too (the browser test opens it on a phone)
    assert code.json()["url"].startswith("http") and "/qr/" in code.json()["url"]
    assert 'data-qr-check-in="http' in page.content.decode()
    for key in ("chair", "member", "observer"):
        client = signed_in(world["people"][key])
        assert client.get(url(agency, meeting, "qr/")).status_code == 403
        assert client.get(url(agency, meeting, "qr/code/")).status_code == 403


def test_qr_check_in_salt_is_specific():
    assert QR_SALT == "meetings.qr-checkin"


# --- the secretary's attendance page ----------------------------------------------------------


def test_attendance_page_queries_do_not_grow(world, django_assert_max_num_queries):
    from tests.factories import make_beneficiary
    from tests.meetings.room_helpers import add_participant

    agency, meeting = world["agency"], world["meeting"]
    secretary = signed_in(world["people"]["secretary"])
    secretary.get(url(agency, meeting, "attendance/"))  # warm the session and caches
    with django_assert_max_num_queries(16) as few:
        response = secretary.get(url(agency, meeting, "attendance/"))
    assert response.status_code == 200
    for _ in range(6):
        add_participant(agency, meeting, make_beneficiary())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = secretary.get(url(agency, meeting, "attendance/"))
    assert response.content.decode().count("data-participant-row") == 11


def test_marking_through_the_page(world):
    agency, meeting = world["agency"], world["meeting"]
    member = world["participants"]["member"]
    path = url(agency, meeting, f"attendance/{member.pk}/")
    assert (
        signed_in(world["people"]["member2"]).post(path, {"presence": "present"}).status_code == 403
    )
    response = signed_in(world["people"]["secretary"]).post(path, {"presence": "excused"})
    assert response.status_code == 302
    bad = signed_in(world["people"]["secretary"]).post(
        path, {"presence": "nonsense"}, HTTP_ACCEPT="application/json"
    )
    assert bad.status_code == 400 and bad.json()["error"]
    with schema_context(agency.schema_name):
        assert Participant.objects.get(pk=member.pk).presence == Presence.EXCUSED


@pytest.mark.parametrize(("signed_in_after", "checked_in"), [(120, True), (400, False)])
def test_signing_in_after_scanning_keeps_the_token_for_a_few_minutes(
    world, monkeypatch, signed_in_after, checked_in
):
    agency, meeting = world["agency"], world["meeting"]
    start = attendance_services.time.time()
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting, now=start)
    path = url(agency, meeting, f"qr/{token}/")
    client = Client()
    monkeypatch.setattr(attendance_services.time, "time", lambda: start)
    assert client.get(path).status_code == 302  # to sign in
    client.force_login(world["people"]["member"])
    monkeypatch.setattr(attendance_services.time, "time", lambda: start + signed_in_after)
    response = client.get(path)
    assert response.status_code == (200 if checked_in else 400)
    with schema_context(agency.schema_name):
        assert AttendanceEvent.objects.filter(method="qr").exists() is checked_in
    # the grace serves once: the same stale token again is refused
    assert client.get(path).status_code == 400


def test_a_token_already_stale_when_scanned_gets_no_grace(world, monkeypatch):
    agency, meeting = world["agency"], world["meeting"]
    start = attendance_services.time.time()
    with schema_context(agency.schema_name):
        token = qr_token(meeting=meeting, now=start - 60)
    path = url(agency, meeting, f"qr/{token}/")
    client = Client()
    monkeypatch.setattr(attendance_services.time, "time", lambda: start)
    assert client.get(path).status_code == 302
    client.force_login(world["people"]["member"])
    assert client.get(path).status_code == 400


def test_write_paths_have_a_query_budget(world, django_assert_max_num_queries):
    from tests.factories import make_beneficiary
    from tests.meetings.room_helpers import add_participant

    agency, meeting = world["agency"], world["meeting"]
    for _ in range(8):  # more participants must not mean more queries
        add_participant(agency, meeting, make_beneficiary())
    member, secretary = world["people"]["member"], world["people"]["secretary"]
    with schema_context(agency.schema_name):
        with django_assert_max_num_queries(10):
            attendance_check_in(actor=member, meeting=meeting)
        with django_assert_max_num_queries(12):
            attendance_mark(
                actor=secretary,
                meeting=meeting,
                participant_id=world["participants"]["member2"].pk,
                presence=Presence.PRESENT,
            )
