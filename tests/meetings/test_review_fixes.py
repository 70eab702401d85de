"""Fixes of the meetings review (issue 13): each test failed before its fix."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from meetings.constants import MeetingStatus, Rsvp
from meetings.models import Participant
from meetings.services import schedule as services
from tests.factories import make_beneficiary
from tests.meetings import schedule_fixtures
from tests.meetings.factories import MEMBER, make_meeting, participant_for

cast = schedule_fixtures.cast
scheduled = schedule_fixtures.scheduled


def _refused_in_both_languages(call) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as english:
        call()
    with translation.override("ar"), pytest.raises(ValidationError) as arabic:
        call()
    assert english.value.messages != arabic.value.messages


# --- 1. links --------------------------------------------------------------------------------


def test_an_rsvp_token_of_agency_a_is_refused_under_agency_b(scheduled, agency_b, client):
    agency_a, meeting_a = scheduled["agency"], scheduled["meeting"]
    other = make_beneficiary()
    meeting_b = make_meeting(agency_b, participants=[(other, MEMBER)])
    with schema_context(agency_b.schema_name):
        target = Participant.objects.get(meeting=meeting_b, user=other)
    # A token the server signed in agency A for a participant id that also exists in B.
    with schema_context(agency_a.schema_name):
        token = signing.dumps(
            {
                "a": connection.schema_name,
                "m": meeting_a.pk,
                "p": target.pk,
                "s": meeting_b.sequence,
            },
            salt=services.RSVP_SALT,
        )
    with schema_context(agency_b.schema_name):
        with pytest.raises(services.RsvpLinkInvalid):
            services.rsvp_by_link(token=token, answer=Rsvp.DECLINED)
    from django.urls import reverse

    response = client.post(
        reverse("meetings:rsvp_link", kwargs={"agency_slug": agency_b.slug, "token": token}),
        {"answer": Rsvp.DECLINED},
    )
    assert response.status_code == 400
    with schema_context(agency_b.schema_name):
        target.refresh_from_db()
        assert target.rsvp == Rsvp.PENDING
    # A genuine token of agency A does not work under B's address either.
    with schema_context(agency_a.schema_name):
        genuine = services.rsvp_token(
            participant_for(agency_a, meeting_a, scheduled["outsider"]), meeting_a
        )
    with schema_context(agency_b.schema_name), pytest.raises(services.RsvpLinkInvalid):
        services.rsvp_link_participant(token=genuine)


def test_an_rsvp_token_of_another_meeting_is_refused(scheduled):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    other = make_meeting(agency, participants=[(make_beneficiary(), MEMBER)])
    with schema_context(agency.schema_name):
        participant = participant_for(agency, meeting, scheduled["outsider"])
        token = signing.dumps(
            {
                "a": connection.schema_name,
                "m": other.pk,
                "p": participant.pk,
                "s": meeting.sequence,  # the right version: only the meeting is wrong
            },
            salt=services.RSVP_SALT,
        )
        with pytest.raises(services.RsvpLinkInvalid):
            services.rsvp_by_link(token=token, answer=Rsvp.DECLINED)
        participant.refresh_from_db()
        assert participant.rsvp == Rsvp.PENDING


def _invitee_link(agency, meeting, manager, *, email="", mobile=""):
    with schema_context(agency.schema_name):
        invitee = services.participant_add(
            actor=manager, meeting=meeting, name="Expert", email=email, mobile=mobile
        )
    import secrets

    token = secrets.token_urlsafe(16)
    with schema_context(agency.schema_name):
        Participant.objects.filter(pk=invitee.pk).update(
            invite_token_hash=services.invite_token_hash(token)
        )
    return invitee, token


def test_an_invitation_binds_only_to_the_verified_invited_address(scheduled):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    invitee, token = _invitee_link(agency, meeting, manager, email="guest7731@example.org")
    stranger = make_beneficiary()
    unverified = make_beneficiary(email="guest7731@example.org")
    EmailAddress.objects.create(user=unverified, email="guest7731@example.org", verified=False)
    with schema_context(agency.schema_name):
        for account in (stranger, unverified):
            _refused_in_both_languages(
                lambda account=account: services.invitation_bind(user=account, token=token)
            )
        invitee.refresh_from_db()
        assert invitee.user_id is None
        EmailAddress.objects.filter(user=unverified).update(verified=True)
        services.invitation_bind(user=unverified, token=token)
        invitee.refresh_from_db()
        assert invitee.user_id == unverified.pk


def test_an_invitation_already_bound_is_refused(scheduled):
    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    invitee, token = _invitee_link(agency, meeting, manager, mobile="+966507771234")
    first = make_beneficiary(mobile="+966507771234")
    other = make_beneficiary()
    with schema_context(agency.schema_name):
        # Someone else bound it in the meantime (the hash is still there in this race).
        Participant.objects.filter(pk=invitee.pk).update(user=other)
        with pytest.raises(ValidationError):
            services.invitation_bind(user=first, token=token)
        invitee.refresh_from_db()
        assert invitee.user_id == other.pk


# --- 2. nobody makes themselves chair or secretary ------------------------------------------


def test_a_manager_cannot_make_themselves_chair_or_secretary(scheduled):
    from meetings.models import BodyMember
    from tests.meetings.factories import make_body

    agency, manager = scheduled["agency"], scheduled["manager"]
    draft = make_meeting(agency, actor=manager, status="draft")
    body = make_body(agency, actor=manager)
    with schema_context(agency.schema_name):
        for role in ("chair", "secretary"):
            _refused_in_both_languages(
                lambda role=role: services.participant_add(
                    actor=manager, meeting=draft, user=manager, role=role
                )
            )
            _refused_in_both_languages(
                lambda role=role: services.body_member_add(
                    actor=manager, body=body, user=manager, role=role
                )
            )
        assert not Participant.objects.filter(meeting=draft, user=manager).exists()
        member = services.body_member_add(actor=manager, body=body, user=manager, role="member")
        with pytest.raises(ValidationError):
            services.body_member_update(actor=manager, member=member, role="chair", weight=1)
        assert BodyMember.objects.get(pk=member.pk).role == "member"
        # Another person may be made chair.
        services.participant_add(
            actor=manager, meeting=draft, user=make_beneficiary(), role="chair"
        )


# --- 3. vote weights are capped ------------------------------------------------------------


def test_a_vote_weight_above_100_is_refused(scheduled):
    from tests.meetings.factories import make_body

    agency, manager = scheduled["agency"], scheduled["manager"]
    draft = make_meeting(agency, actor=manager, status="draft")
    body = make_body(agency, actor=manager)
    person = make_beneficiary()
    with schema_context(agency.schema_name):
        with translation.override("en"), pytest.raises(ValidationError) as exc:
            services.participant_add(actor=manager, meeting=draft, user=person, weight="101")
        assert "weight" in exc.value.message_dict
        with translation.override("en"), pytest.raises(ValidationError) as exc:
            services.body_member_add(actor=manager, body=body, user=person, weight="1000")
        assert "weight" in exc.value.message_dict
        assert not Participant.objects.filter(meeting=draft, user=person).exists()
        added = services.participant_add(actor=manager, meeting=draft, user=person, weight="100")
        assert added.weight == Decimal("100")


# --- 4. removals once polls exist --------------------------------------------------------


def test_a_voter_or_an_agenda_item_with_a_poll_is_not_removed(scheduled):
    from meetings.models import AgendaItem
    from meetings.models_voting import Poll, PollEntitlement

    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        item = services.agenda_item_save(actor=manager, meeting=meeting, title="الميزانية")
        poll = Poll.objects.create(meeting=meeting, agenda_item=item, question="؟")
        voter = participant_for(agency, meeting, scheduled["outsider"])
        PollEntitlement.objects.create(poll=poll, participant=voter, weight=Decimal("1"))
        _refused_in_both_languages(
            lambda: services.participant_remove(actor=manager, participant=voter)
        )
        _refused_in_both_languages(lambda: services.agenda_item_delete(actor=manager, item=item))
        assert Participant.objects.filter(pk=voter.pk).exists()
        assert AgendaItem.objects.filter(pk=item.pk).exists()
        assert PollEntitlement.objects.filter(participant=voter).exists()


# --- 6. meeting.removed on the other sockets ------------------------------------------------


def test_workspace_and_notification_sockets_ignore_meeting_removed():
    import asyncio

    from core.realtime import SessionBoundConsumer
    from portal.consumers import NotificationConsumer
    from tenants.realtime import AgencyObjectConsumer

    for cls in (SessionBoundConsumer, AgencyObjectConsumer, NotificationConsumer):
        consumer = cls()
        assert asyncio.run(consumer.meeting_removed({"meeting_id": 1})) is None


# --- 7. shared notes: the audit keeps a digest -----------------------------------------------


def test_shared_notes_audit_keeps_length_and_digest_not_the_text(scheduled):
    import hashlib

    from meetings.services import room
    from tenants.staff.models import AuditEvent

    agency, meeting = scheduled["agency"], scheduled["meeting"]
    text = ("ملاحظات سرية " * 100).strip()
    with schema_context(agency.schema_name):
        room.shared_notes_save(
            actor=scheduled["secretary"], meeting=meeting, item_id=None, text=text
        )
        event = AuditEvent.objects.filter(action="meetings.shared_notes").latest("id")
        stored = str(event.before) + str(event.after)
        assert "ملاحظات سرية" not in stored
        assert event.after["length"] == len(text)
        assert event.after["sha256"] == hashlib.sha256(text.encode()).hexdigest()


# --- 8. documents ----------------------------------------------------------------------------


def test_a_document_of_a_closed_meeting_is_kept_and_the_file_goes_after_commit(
    scheduled, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    from meetings.models import Meeting, MeetingDocument

    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        document = MeetingDocument(
            meeting=meeting,
            uploaded_by=manager,
            original_name="a.pdf",
            content_type="application/pdf",
            size=13,
        )
        document.file.save("a.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
        document.save()
        storage, name = document.file.storage, document.file.name
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.document_delete(actor=manager, document=document)
            assert storage.exists(name)  # not before the commit
        for callback in callbacks:
            callback()
        assert not storage.exists(name)
        kept = MeetingDocument(
            meeting=meeting,
            uploaded_by=manager,
            original_name="b.pdf",
            content_type="application/pdf",
            size=13,
        )
        kept.file.save("b.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
        kept.save()
        Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CLOSED)
        _refused_in_both_languages(lambda: services.document_delete(actor=manager, document=kept))
        assert MeetingDocument.objects.filter(pk=kept.pk).exists()
        assert kept.file.storage.exists(kept.file.name)


def test_deleting_a_closed_meetings_document_through_the_page_says_why(scheduled, client):
    from django.core.files.base import ContentFile

    from meetings.models import Meeting, MeetingDocument

    agency, manager, meeting = scheduled["agency"], scheduled["manager"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        kept = MeetingDocument(
            meeting=meeting,
            uploaded_by=manager,
            original_name="c.pdf",
            content_type="application/pdf",
            size=13,
        )
        kept.file.save("c.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
        kept.save()
        Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CANCELLED)
    client.force_login(manager)
    response = client.post(
        f"/a/{agency.slug}/meetings/{meeting.pk}/documents/{kept.pk}/delete/", follow=True
    )
    assert response.status_code == 200  # the meeting's page with the reason, not a 500
    with schema_context(agency.schema_name):
        assert MeetingDocument.objects.filter(pk=kept.pk).exists()


# --- 9. ?version= with a non-ASCII digit ------------------------------------------------------


def test_a_superscript_digit_in_the_query_is_not_a_500(scheduled, client):
    agency, meeting = scheduled["agency"], scheduled["meeting"]
    client.force_login(scheduled["chair"])
    response = client.get(f"/meetings/{agency.slug}/{meeting.pk}/minutes/pdf/ar/?version=²")
    assert response.status_code in (302, 400, 403, 404)
    client.force_login(scheduled["manager"])
    response = client.get(f"/a/{agency.slug}/meetings/decisions/new/?meeting=²")
    assert response.status_code in (200, 403)


# --- 12. the attendance names who represented whom --------------------------------------------


def test_attendance_rows_name_the_represented_on_the_holders_row(scheduled):
    from meetings import record
    from meetings.models_voting import Proxy

    agency, meeting = scheduled["agency"], scheduled["meeting"]
    with schema_context(agency.schema_name):
        holder = participant_for(agency, meeting, scheduled["chair"])
        delegator = participant_for(agency, meeting, scheduled["outsider"])
        Proxy.objects.create(meeting=meeting, delegator=delegator, holder=holder)
        rows = {row["participant_id"]: row for row in record.attendance_rows(meeting)}
        assert rows[holder.pk]["by_proxy_of"] == str(delegator)
        assert rows[delegator.pk]["by_proxy_of"] == ""
