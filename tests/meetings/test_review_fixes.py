"""Fixes of the meetings review (issue 13): each test failed before its fix."""

from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation
from django_tenants.utils import schema_context

from meetings.constants import Rsvp
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
            {"a": connection.schema_name, "m": other.pk, "p": participant.pk, "s": 1},
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
