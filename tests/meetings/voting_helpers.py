"""Small builders for the voting tests: meetings and participants made directly with the ORM
(scheduling and attendance are other parts' services). Call them in the agency's schema."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from meetings.constants import MeetingStatus, MemberRole, Mode, Presence
from meetings.models import Meeting, Participant
from meetings.services import voting
from tests.factories import make_beneficiary


def make_meeting(**fields) -> Meeting:
    now = timezone.now()
    values = {
        "title_ar": "اجتماع المجلس",
        "title_en": "Board meeting",
        "mode": Mode.HYBRID,
        "starts_at": now - timedelta(minutes=10),
        "ends_at": now + timedelta(hours=2),
        "status": MeetingStatus.IN_PROGRESS,
        "proxy_cap": 2,
    }
    values.update(fields)
    return Meeting.objects.create(**values)


def add_participant(
    meeting: Meeting,
    *,
    role: str = MemberRole.MEMBER,
    weight: str = "1",
    present: bool = True,
    user=None,
) -> Participant:
    user = user or make_beneficiary()
    return Participant.objects.create(
        meeting=meeting,
        user=user,
        role=role,
        weight=Decimal(weight),
        presence=Presence.PRESENT if present else Presence.UNKNOWN,
    )


def board(n_members: int = 3, **fields):
    """A meeting with a chair and ``n_members`` members, all present."""
    meeting = make_meeting(**fields)
    chair = add_participant(meeting, role=MemberRole.CHAIR)
    members = [add_participant(meeting) for _ in range(n_members)]
    return meeting, chair, members


def open_poll(meeting, chair, *, secret=False, **data):
    values = {
        "question": "Approve the budget?",
        "kind": "yes_no",
        "is_secret": secret,
        "entitlement": "present",
    }
    values.update(data)
    reason = values.pop("reason", "")
    poll = voting.poll_create(actor=chair.user, meeting=meeting, data=values)
    return voting.poll_open(actor=chair.user, poll=poll, override_reason=reason)
