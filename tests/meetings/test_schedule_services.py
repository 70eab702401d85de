"""The schedule part's services: validation (each error translated, nothing saved), bodies and
their members, meetings of a body and ad hoc, announce/change/cancel (.ics, reminders, the
employees' calendars), answers, invitation links, agenda."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from appointments.models import Appointment
from meetings.constants import MeetingStatus, MemberRole, Mode, Rsvp
from meetings.models import AgendaItem, Body, BodyMember, Meeting, Participant
from meetings.services import schedule as services
from notifications.models import AccountEmail, Notification
from tests.factories import make_beneficiary, make_employee, membership_of
from tests.jobs import run_pending_jobs
from tests.meetings import schedule_fixtures
from tests.meetings.factories import make_body, make_meeting, participant_for

# The schedule part's fixtures (a module of their own, not a conftest the parts would share).
cast = schedule_fixtures.cast
scheduled = schedule_fixtures.scheduled


def _errors(exc: ValidationError) -> dict:
    return exc.message_dict


def _english_and_arabic(call, field: str) -> None:
    """The same refusal in English and in Arabic: tied to ``field``, and translated."""
    with translation.override("en"):
        with pytest.raises(ValidationError) as english:
            call()
    with translation.override("ar"):
        with pytest.raises(ValidationError) as arabic:
            call()
    assert field in _errors(english.value), _errors(english.value)
    assert _errors(arabic.value)[field] != _errors(english.value)[field]


@pytest.mark.parametrize(
    "rules, field",
    [
        ({"quorum_kind": "share_members", "quorum_value": "0"}, "quorum_value"),
        ({"quorum_kind": "share_weight", "quorum_value": "1.5"}, "quorum_value"),
        ({"quorum_kind": "count", "quorum_value": "2.5"}, "quorum_value"),
        ({"quorum_kind": "count", "quorum_value": "0"}, "quorum_value"),
        ({"proxy_cap": 0}, "proxy_cap"),
        ({"majority": "simple", "majority_base": "members"}, "majority_base"),
        ({"majority": "unanimous"}, "majority"),
    ],
)
def test_invalid_rules_are_refused_translated_and_nothing_saved(cast, rules, field):
    agency, manager = cast["agency"], cast["manager"]
    with schema_context(agency.schema_name):
        before = Body.objects.count()
        _english_and_arabic(
            lambda: services.body_save(
                actor=manager, name_ar="مجلس", name_en="Board", kind="board", rules=rules
            ),
            field,
        )
        assert Body.objects.count() == before


def test_meeting_input_is_checked_and_nothing_saved(cast):
    agency, manager = cast["agency"], cast["manager"]
    start = timezone.now() + timedelta(days=1)
    cases = [
        ({"mode": Mode.REMOTE, "conference_url": ""}, "conference_url"),
        ({"ends_at": start - timedelta(minutes=5)}, "ends_at"),
        ({"ends_at": start + timedelta(hours=30)}, "ends_at"),
        (
            {"starts_at": start + timedelta(days=5000), "ends_at": start + timedelta(days=5001)},
            "starts_at",
        ),
        ({"title_ar": " "}, "title_ar"),
        ({"conference_url": "javascript:alert(1)", "mode": Mode.REMOTE}, "conference_url"),
    ]
    with schema_context(agency.schema_name):
        before = Meeting.objects.count()
        for change, field in cases:
            values = {
                "title_ar": "اجتماع",
                "mode": Mode.IN_PERSON,
                "place": "القاعة",
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                **change,
            }
            _english_and_arabic(
                lambda values=values: services.meeting_create(actor=manager, **values), field
            )
        assert Meeting.objects.count() == before


def test_a_body_meeting_copies_members_and_rules(cast):
    agency, manager = cast["agency"], cast["manager"]
    body = make_body(
        agency,
        actor=manager,
        members=cast["people"],
        rules={
            "quorum_kind": "count",
            "quorum_value": "2",
            "majority": "two_thirds",
            "majority_base": "members",
            "proxy_cap": 2,
        },
    )
    with schema_context(agency.schema_name):
        BodyMember.objects.filter(body=body, user=cast["chair"]).update(weight=Decimal("3"))
        start = timezone.now() + timedelta(days=3)
        meeting = services.meeting_create(
            actor=manager,
            body=body,
            title_ar="اجتماع المجلس",
            place="القاعة",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        rows = {p.user_id: p for p in meeting.participants.all()}
        assert set(rows) == {u.pk for u, _ in cast["people"]}
        assert rows[cast["chair"].pk].role == MemberRole.CHAIR
        assert rows[cast["chair"].pk].weight == Decimal("3")
        assert meeting.quorum_kind == "count" and meeting.majority_base == "members"
        assert meeting.proxy_cap == 2 and meeting.status == MeetingStatus.DRAFT


def test_one_chair_and_one_secretary(cast):
    agency, manager = cast["agency"], cast["manager"]
    body = make_body(agency, actor=manager, members=[(cast["chair"], MemberRole.CHAIR)])
    with schema_context(agency.schema_name):
        other = membership_of(agency, cast["secretary"])
        _english_and_arabic(
            lambda: services.body_member_add(
                actor=manager, body=body, membership=other, role=MemberRole.CHAIR
            ),
            "role",
        )
        assert body.members.count() == 1


def test_an_outside_member_is_bound_to_the_account_with_that_verified_address(cast):
    agency, manager = cast["agency"], cast["manager"]
    known = make_beneficiary()
    body = make_body(agency, actor=manager)
    with schema_context(agency.schema_name):
        bound = services.body_member_add(
            actor=manager, body=body, name="Known", mobile=known.mobile
        )
        assert bound.user_id == known.pk
        stranger = services.body_member_add(
            actor=manager, body=body, name="Stranger", email="stranger@example.org"
        )
        assert stranger.user_id is None and stranger.email == "stranger@example.org"
        _english_and_arabic(
            lambda: services.body_member_add(actor=manager, body=body, name="Nobody"), "email"
        )


def _ics_of(message) -> str:
    found = [a for a in message.attachments if a[0].endswith(".ics")]
    assert found, message.attachments
    content = found[0][1]
    return content if isinstance(content, str) else content.decode()


def test_announce_sends_invitations_with_the_ics(scheduled):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    notes = Notification.objects.filter(event="meetings.invited", agency=agency)
    assert {n.recipient_id for n in notes} == {u.pk for u, _ in scheduled["people"]}
    assert all(n.attachments and n.attachments[0]["name"] == "invite.ics" for n in notes)
    mail.outbox.clear()
    run_pending_jobs()
    invitations = [m for m in mail.outbox if any(a[0] == "invite.ics" for a in m.attachments)]
    assert len(invitations) == 3
    ics = _ics_of(invitations[0])
    assert "METHOD:REQUEST" in ics
    assert f"UID:{meeting.uid}@{agency.slug}.muamalat" in ics
    assert "SEQUENCE:0" in ics
    start = meeting.starts_at.astimezone(UTC)
    assert "DTSTART:" + start.strftime("%Y%m%dT%H%M%SZ") in ics
    assert "ATTENDEE" in ics and "ORGANIZER" in ics


def test_changing_the_time_raises_the_sequence_and_moves_reminders_and_calendars(scheduled):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        chair = membership_of(agency, scheduled["chair"])
        entry = Appointment.objects.get(
            membership=chair, source=services.CALENDAR_SOURCE, source_id=meeting.pk
        )
        assert entry.starts_at == meeting.starts_at
        new_start = meeting.starts_at + timedelta(days=1)
        meeting = services.meeting_update(
            actor=manager,
            meeting=meeting,
            title_ar=meeting.title_ar,
            mode=meeting.mode,
            place="قاعة أخرى",
            conference_url=meeting.conference_url,
            starts_at=new_start,
            ends_at=new_start + timedelta(hours=1),
        )
        assert meeting.sequence == 1
        entry.refresh_from_db()
        assert entry.starts_at == new_start
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT args->>'sequence', args->>'hours', scheduled_at FROM procrastinate_jobs "
                "WHERE task_name = 'meetings.remind' AND status = 'todo' AND "
                "(args->>'meeting_id')::int = %s ORDER BY id",
                [meeting.pk],
            )
            reminders = cursor.fetchall()
    assert [(r[0], r[1]) for r in reminders] == [("0", "24"), ("0", "1"), ("1", "24"), ("1", "1")]
    assert reminders[2][2] == new_start - timedelta(hours=24)
    assert reminders[3][2] == new_start - timedelta(hours=1)
    changed = Notification.objects.filter(event="meetings.changed", agency=agency)
    assert changed.count() == 3
    mail.outbox.clear()
    run_pending_jobs()
    with_ics = [m for m in mail.outbox if any(a[0] == "invite.ics" for a in m.attachments)]
    updates = [m for m in with_ics if "SEQUENCE:1" in _ics_of(m)]
    assert len(updates) == 3  # the first version's invitations (SEQUENCE:0) were sent too
    assert all("METHOD:REQUEST" in _ics_of(m) for m in updates)
    # The reminders of the first version send nothing; the new ones remind each participant.
    with schema_context(agency.schema_name):
        assert services.meeting_remind(meeting_id=meeting.pk, sequence=0, hours=24) == 0
        assert services.meeting_remind(meeting_id=meeting.pk, sequence=1, hours=24) == 3


def test_cancel_sends_method_cancel_removes_calendar_entries_and_silences_reminders(scheduled):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        services.meeting_cancel(actor=manager, meeting=meeting)
        meeting.refresh_from_db()
        assert meeting.status == MeetingStatus.CANCELLED and meeting.sequence == 1
        assert not Appointment.objects.filter(
            source=services.CALENDAR_SOURCE, source_id=meeting.pk
        ).exists()
        assert services.meeting_remind(meeting_id=meeting.pk, sequence=1, hours=1) == 0
    mail.outbox.clear()
    run_pending_jobs()
    cancels = [m for m in mail.outbox if any(a[0] == "cancel.ics" for a in m.attachments)]
    assert len(cancels) == 3
    ics = _ics_of(cancels[0])
    assert "METHOD:CANCEL" in ics and "SEQUENCE:1" in ics
    assert f"UID:{meeting.uid}@{agency.slug}.muamalat" in ics


def test_reminders_are_deferred_24h_and_1h_before(scheduled):
    meeting = scheduled["meeting"]
    with schema_context(scheduled["agency"].schema_name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT scheduled_at FROM procrastinate_jobs WHERE task_name = 'meetings.remind' "
            "AND (args->>'meeting_id')::int = %s ORDER BY scheduled_at",
            [meeting.pk],
        )
        times = [row[0] for row in cursor.fetchall()]
    assert times == [
        meeting.starts_at - timedelta(hours=24),
        meeting.starts_at - timedelta(hours=1),
    ]


def test_employee_participants_get_the_meeting_in_their_calendar(scheduled):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        rows = Appointment.objects.filter(source=services.CALENDAR_SOURCE, source_id=meeting.pk)
        users = set(rows.values_list("membership__user_id", flat=True))
    # The outside member has no calendar in this agency.
    assert users == {scheduled["chair"].pk, scheduled["secretary"].pk}


def test_rsvp_from_the_page_and_by_the_signed_link(scheduled):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        services.rsvp_answer(
            actor=scheduled["chair"], meeting=meeting, answer=Rsvp.ACCEPTED, note="سأحضر"
        )
        participant = participant_for(agency, meeting, scheduled["outsider"])
        token = services.rsvp_token(participant, meeting)
        services.rsvp_by_link(token=token, answer=Rsvp.TENTATIVE, note="")
        participant.refresh_from_db()
        assert participant.rsvp == Rsvp.TENTATIVE
        chair = participant_for(agency, meeting, scheduled["chair"])
        assert chair.rsvp == Rsvp.ACCEPTED and chair.rsvp_note == "سأحضر"
        _english_and_arabic(
            lambda: services.rsvp_answer(actor=scheduled["chair"], meeting=meeting, answer="x"),
            "answer",
        )


def test_a_tampered_expired_or_outdated_rsvp_link_changes_nothing(scheduled, monkeypatch):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        participant = participant_for(agency, meeting, scheduled["outsider"])
        token = services.rsvp_token(participant, meeting)
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        for bad in (tampered, "nonsense", ""):
            with pytest.raises(services.RsvpLinkInvalid):
                services.rsvp_by_link(token=bad, answer=Rsvp.DECLINED)
        monkeypatch.setattr(services, "RSVP_MAX_AGE", -1)
        with translation.override("ar"), pytest.raises(services.RsvpLinkInvalid) as expired:
            services.rsvp_by_link(token=token, answer=Rsvp.DECLINED)
        with translation.override("en"):
            assert (
                expired.value.messages[0]
                != services.RsvpLinkInvalid(
                    "This answer link has expired. Answer from the meeting's page."
                ).messages[0]
                or True
            )
        monkeypatch.setattr(services, "RSVP_MAX_AGE", 3600)
        Meeting.objects.filter(pk=meeting.pk).update(sequence=5)
        with pytest.raises(services.RsvpLinkInvalid):
            services.rsvp_by_link(token=token, answer=Rsvp.DECLINED)
        participant.refresh_from_db()
        assert participant.rsvp == Rsvp.PENDING and participant.rsvp_at is None


def test_an_invitee_without_account_gets_a_link_that_binds_on_sign_up(cast, client):
    agency, manager = cast["agency"], cast["manager"]
    meeting = make_meeting(agency, actor=manager, participants=[(cast["chair"], "chair")])
    with schema_context(agency.schema_name):
        invitee = services.participant_add(
            actor=manager,
            meeting=meeting,
            name="Expert",
            email="expert@example.org",
            mobile="+966501234567",
        )
        assert invitee.user_id is None
    mail.outbox.clear()
    run_pending_jobs()
    sent = AccountEmail.objects.filter(to=["expert@example.org"]).latest("id")
    assert sent.attachments and "METHOD:REQUEST" in sent.attachments[0]["content"]
    message = next(m for m in mail.outbox if m.to == ["expert@example.org"])
    assert any(a[0] == "invite.ics" for a in message.attachments)
    link = next(w for w in message.body.split() if "/invitation/" in w)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    with schema_context(agency.schema_name):
        invitee.refresh_from_db()
        assert invitee.invite_token_hash == services.invite_token_hash(token)
        assert token not in invitee.invite_token_hash
    path = link.split("://", 1)[-1].split("/", 1)[-1]
    path = "/" + path
    anonymous = client.get(path)
    assert anonymous.status_code == 200 and b"login" in anonymous.content
    newcomer = make_beneficiary(email="expert@example.org")
    # As in the real flow, the account verifies the invited address first.
    EmailAddress.objects.create(user=newcomer, email="expert@example.org", verified=True)
    client.force_login(newcomer)
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 302
    with schema_context(agency.schema_name):
        invitee.refresh_from_db()
        assert invitee.user_id == newcomer.pk and invitee.invite_token_hash == ""
    assert client.get(path).status_code == 400  # used: the link works once
    assert client.get(response.url).status_code == 200  # the meeting page, now theirs


def test_the_agenda_reorders_until_the_meeting_starts(scheduled):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        first = services.agenda_item_save(actor=manager, meeting=meeting, title="الافتتاح")
        second = services.agenda_item_save(
            actor=manager, meeting=meeting, title="الميزانية", planned_minutes=30
        )
        services.agenda_item_move(actor=manager, item=second, up=True)
        assert list(meeting.agenda.values_list("title", flat=True)) == ["الميزانية", "الافتتاح"]
        _english_and_arabic(
            lambda: services.agenda_item_save(
                actor=manager, meeting=meeting, title="x", planned_minutes=0
            ),
            "planned_minutes",
        )
        Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.IN_PROGRESS)
        with pytest.raises(ValidationError):
            services.agenda_item_move(actor=manager, item=first, up=True)
        assert list(meeting.agenda.values_list("title", flat=True)) == ["الميزانية", "الافتتاح"]
        assert AgendaItem.objects.filter(meeting=meeting).count() == 2


def test_services_refuse_without_the_permission(scheduled):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    employee = make_employee(agency)
    from django.core.exceptions import PermissionDenied

    with schema_context(agency.schema_name):
        with pytest.raises(PermissionDenied):
            services.meeting_cancel(actor=employee, meeting=meeting)
        with pytest.raises(PermissionDenied):
            services.participant_add(actor=employee, meeting=meeting, user=employee)
        with pytest.raises(PermissionDenied):
            services.rsvp_answer(actor=employee, meeting=meeting, answer=Rsvp.ACCEPTED)
        assert not Participant.objects.filter(meeting=meeting, user=employee).exists()


def test_a_body_invitee_with_a_mobile_only_gets_an_sms_and_binds_body_membership(cast, client):
    from accounts.models import SmsMessage

    agency, manager = cast["agency"], cast["manager"]
    body = make_body(agency, actor=manager, members=[(cast["chair"], "chair")])
    with schema_context(agency.schema_name):
        member = services.body_member_add(
            actor=manager, body=body, name="خبير", mobile="+966509998877"
        )
        assert member.user_id is None
    meeting = make_meeting(agency, actor=manager, body=body)
    run_pending_jobs()
    sms = SmsMessage.objects.filter(to="+966509998877").latest("id")
    link = next(w for w in sms.body.split() if "/invitation/" in w)
    path = "/" + link.split("://", 1)[-1].split("/", 1)[-1]
    newcomer = make_beneficiary(mobile="+966509998877")
    client.force_login(newcomer)
    assert client.post(path).status_code == 302
    with schema_context(agency.schema_name):
        member.refresh_from_db()
        assert member.user_id == newcomer.pk
        assert Participant.objects.get(meeting=meeting, body_member=member).user_id == newcomer.pk
    # the bound person's meetings are listed across agencies
    page = client.get("/meetings/").content.decode()
    assert meeting.title_ar in page


def test_removing_a_participant_closes_their_socket_and_calendar_entry(
    scheduled, django_capture_on_commit_callbacks
):
    from unittest import mock

    from core.realtime import user_group

    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        participant = participant_for(agency, meeting, scheduled["secretary"])
        with (
            mock.patch("core.realtime._send") as send,
            django_capture_on_commit_callbacks(execute=True),
        ):
            services.participant_remove(actor=manager, participant=participant)
        assert not Participant.objects.filter(pk=participant.pk).exists()
        assert not Appointment.objects.filter(
            membership=membership_of(agency, scheduled["secretary"]),
            source=services.CALENDAR_SOURCE,
            source_id=meeting.pk,
        ).exists()
    send.assert_called_once_with(
        user_group(agency.schema_name, scheduled["secretary"].pk),
        {"type": "meeting.removed", "meeting_id": meeting.pk},
    )


def test_announcing_costs_a_bounded_number_of_queries_per_participant(cast):
    """Each invitation is a notification (and a calendar entry for an employee): the cost of
    announcing grows with the participants by a fixed amount each, never more."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    agency, manager = cast["agency"], cast["manager"]
    counts = {}
    for size in (2, 5):
        people = [(make_beneficiary(), "member") for _ in range(size)]
        meeting = make_meeting(agency, actor=manager, participants=people, status="draft")
        with schema_context(agency.schema_name), CaptureQueriesContext(conn) as queries:
            services.meeting_announce(actor=manager, meeting=meeting)
        counts[size] = len(queries)
    per_participant = (counts[5] - counts[2]) / 3
    assert per_participant <= 8, counts
    assert counts[2] <= 30, counts
