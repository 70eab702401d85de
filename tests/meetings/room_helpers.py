"""Meetings and participants made directly with the ORM (the schedule part's services build
them in real use), for the room and attendance tests."""

from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from meetings.constants import MeetingStatus, MemberRole, QuorumKind
from meetings.models import AgendaItem, Meeting, Participant


def make_meeting(
    agency,
    *,
    status=MeetingStatus.SCHEDULED,
    starts_in=timedelta(minutes=10),
    hours=2,
    items=2,
    quorum_kind=QuorumKind.SHARE_MEMBERS,
    quorum_value="0.5",
):
    with schema_context(agency.schema_name):
        starts = timezone.now() + starts_in
        meeting = Meeting.objects.create(
            title_ar="اجتماع المجلس",
            title_en="Board meeting",
            starts_at=starts,
            ends_at=starts + timedelta(hours=hours),
            status=status,
            quorum_kind=quorum_kind,
            quorum_value=Decimal(quorum_value),
        )
        for position in range(1, items + 1):
            AgendaItem.objects.create(meeting=meeting, position=position, title=f"بند {position}")
        return meeting


def add_participant(agency, meeting, user, *, role=MemberRole.MEMBER, weight="1", **fields):
    with schema_context(agency.schema_name):
        return Participant.objects.create(
            meeting=meeting, user=user, role=role, weight=Decimal(weight), **fields
        )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(agency, meeting, suffix="") -> str:
    return f"/meetings/{agency.slug}/{meeting.pk}/{suffix}"


def make_room(agency, other_agency, **meeting_fields) -> dict:
    """A meeting of ``agency`` with a chair, a secretary, two members and an observer; another
    meeting with its own member; an employee of ``agency`` who is not invited, one of
    ``other_agency``, and an outside person who is not invited."""
    from tests.factories import make_beneficiary, make_employee

    meeting = make_meeting(agency, **meeting_fields)
    people = {
        "chair": make_beneficiary(),
        "secretary": make_employee(agency),
        "member": make_beneficiary(),
        "member2": make_beneficiary(),
        "observer": make_beneficiary(),
    }
    roles = {
        "chair": MemberRole.CHAIR,
        "secretary": MemberRole.SECRETARY,
        "member": MemberRole.MEMBER,
        "member2": MemberRole.MEMBER,
        "observer": MemberRole.OBSERVER,
    }
    participants = {
        key: add_participant(agency, meeting, user, role=roles[key]) for key, user in people.items()
    }
    other_meeting = make_meeting(agency)
    people["other_meeting_member"] = make_beneficiary()
    add_participant(agency, other_meeting, people["other_meeting_member"])
    people["employee"] = make_employee(agency)
    people["other_agency_employee"] = make_employee(other_agency, roles=("admin",))
    people["outsider"] = make_beneficiary()
    return {
        "agency": agency,
        "meeting": meeting,
        "other_meeting": other_meeting,
        "people": people,
        "participants": participants,
    }
