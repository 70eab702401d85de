"""Reads of the schedule part: the workspace's list of meetings, a person's meetings across
agencies, and one meeting's participants and agenda (read once by a page, then passed to each
of its parts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from meetings import policies
from meetings.constants import MeetingStatus
from meetings.models import AgendaItem, Meeting, MeetingDocument, Participant
from tenants.models import Agency

UPCOMING, PAST = "upcoming", "past"
MY_MEETINGS_LIMIT = 100


def meeting_participants(meeting: Meeting) -> list[Participant]:
    """The meeting's participants with their accounts, by role (one query). The policies'
    ``participant_of`` answers from them afterwards."""
    rows = list(meeting.participants.select_related("user").order_by("role", "id"))
    policies.participants_known(meeting, rows)
    return rows


def meeting_agenda(meeting: Meeting) -> list[AgendaItem]:
    """The meeting's agenda in its order (one query)."""
    return list(AgendaItem.objects.filter(meeting=meeting).order_by("position", "id"))


def meeting_agenda_with_documents(
    meeting: Meeting,
) -> tuple[list[AgendaItem], list[MeetingDocument]]:
    """The agenda, each item with its documents (``item.document_list``), and the documents of
    the whole meeting (two queries)."""
    agenda = meeting_agenda(meeting)
    by_item: dict[int, list[MeetingDocument]] = {item.pk: [] for item in agenda}
    general: list[MeetingDocument] = []
    for document in MeetingDocument.objects.filter(meeting=meeting):
        by_item.get(document.agenda_item_id, general).append(document)
    for item in agenda:
        item.document_list = by_item[item.pk]
    return agenda, general


def workspace_meetings(*, user: User, sees_all: bool, when: str = UPCOMING) -> QuerySet[Meeting]:
    """Meetings of the agency the employee sees: all of them (``sees_all``; drafts to managers
    only, decided by the caller), else those they are invited to (never a draft)."""
    rows = Meeting.objects.select_related("body").annotate(
        invited=Count("participants", distinct=True)
    )
    if not sees_all:
        rows = rows.filter(participants__user=user).exclude(status=MeetingStatus.DRAFT)
    now = timezone.now()
    if when == PAST:
        rows = rows.filter(Q(ends_at__lt=now) | Q(status=MeetingStatus.CLOSED)).order_by(
            "-starts_at", "-id"
        )
    else:
        rows = rows.filter(ends_at__gte=now).exclude(status=MeetingStatus.CLOSED)
        rows = rows.order_by("starts_at", "id")
    return rows


@dataclass
class MyMeeting:
    agency: Agency
    meeting_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str
    status_label: str
    mode_label: str
    rsvp: str
    rsvp_label: str


def agencies_of_participant(user: User) -> QuerySet[Agency]:
    """The agencies where ``user`` may be a participant, without opening every agency's schema:
    those that ever notified them of a meeting (an invitation, or the binding of an invitation
    link, both send one, kept in the public notification table), plus those they work for."""
    from notifications.models import Notification
    from tenants.selectors import workspaces_for

    notified = Notification.objects.filter(
        recipient=user, event__startswith="meetings.", agency__isnull=False
    ).values("agency_id")
    staff = workspaces_for(user=user).values("pk")
    return Agency.objects.filter(Q(pk__in=notified) | Q(pk__in=staff), is_active=True).order_by(
        "slug"
    )


def my_meetings(*, user: User, when: str = UPCOMING) -> list[MyMeeting]:
    """The user's meetings across agencies: one query per agency the user appears in (see
    ``agencies_of_participant``), never one per meeting."""
    rows: list[MyMeeting] = []
    now = timezone.now()
    for agency in agencies_of_participant(user):
        with schema_context(agency.schema_name):
            participants = (
                Participant.objects.filter(user=user)
                .exclude(meeting__status=MeetingStatus.DRAFT)
                .select_related("meeting")
            )
            if when == PAST:
                participants = participants.filter(
                    Q(meeting__ends_at__lt=now) | Q(meeting__status=MeetingStatus.CLOSED)
                ).order_by("-meeting__starts_at")
            else:
                participants = (
                    participants.filter(meeting__ends_at__gte=now)
                    .exclude(meeting__status=MeetingStatus.CLOSED)
                    .order_by("meeting__starts_at")
                )
            for participant in participants[:MY_MEETINGS_LIMIT]:
                meeting = participant.meeting
                rows.append(
                    MyMeeting(
                        agency=agency,
                        meeting_id=meeting.pk,
                        title=meeting.title,
                        starts_at=meeting.starts_at,
                        ends_at=meeting.ends_at,
                        status=meeting.status,
                        status_label=meeting.get_status_display(),
                        mode_label=meeting.get_mode_display(),
                        rsvp=participant.rsvp,
                        rsvp_label=participant.get_rsvp_display(),
                    )
                )
    rows.sort(key=lambda row: row.starts_at, reverse=when == PAST)
    return rows[:MY_MEETINGS_LIMIT]
