"""Who may do what with meetings: one answer for the services (which refuse through
``core.actions.require``), the views and the templates.

Two kinds of right meet here. Agency permissions (``meetings.manage``, ``meetings.view_all``,
``meetings.decisions``; ``user.has_perm`` in the agency's schema) are held by employees. A
person's role in one meeting (chair, secretary, member, observer) comes from their invitation
(a ``Participant`` bound to their account) and is held by employees and outside members alike.
Every function runs with the connection on the meeting's agency schema.
"""

from __future__ import annotations

from accounts.models import User
from meetings.constants import MeetingStatus, MemberRole
from meetings.models import Meeting, Participant
from meetings.module import Perm


def participant_of(actor: User, meeting: Meeting) -> Participant | None:
    """The actor's invitation to the meeting (None: not invited, or not signed in). Cached on
    the meeting object for the request."""
    if not actor.is_authenticated:
        return None
    cache = meeting.__dict__.setdefault("_participant_cache", {})
    if actor.pk not in cache:
        if meeting.__dict__.get("_participants_known"):
            cache[actor.pk] = None  # every invitation is in the cache already
        else:
            # unordered (one row at most): the default order would join the meeting's table
            cache[actor.pk] = (
                Participant.objects.filter(meeting=meeting, user_id=actor.pk).order_by().first()
            )
    return cache[actor.pk]


def participants_known(meeting: Meeting, participants: list[Participant]) -> None:
    """Answer ``participant_of`` from the meeting's participants already read (a page that
    shows them all) instead of reading the actor's invitation again."""
    meeting.__dict__["_participant_cache"] = {p.user_id: p for p in participants if p.user_id}
    meeting.__dict__["_participants_known"] = True


def can_manage(actor: User) -> bool:
    """Bodies, scheduling, invitations, agenda, attendance and minutes of every meeting."""
    return actor.is_authenticated and actor.has_perm(Perm.MANAGE.perm)


def sees_all(actor: User) -> bool:
    return actor.is_authenticated and (
        actor.has_perm(Perm.VIEW_ALL.perm) or actor.has_perm(Perm.MANAGE.perm)
    )


def can_pick_employees(actor: User) -> bool:
    """Searches the agency's employees to choose them in meetings' forms: body members and
    participants (managers), decision owners (managers of the decisions register)."""
    return actor.is_authenticated and (
        actor.has_perm(Perm.MANAGE.perm) or actor.has_perm(Perm.DECISIONS.perm)
    )


def can_open(actor: User, meeting: Meeting) -> bool:
    """Sees the meeting's page: its participants, and employees who see every meeting. A draft
    is seen by its managers only."""
    if meeting.status == MeetingStatus.DRAFT:
        return can_manage(actor)
    return participant_of(actor, meeting) is not None or sees_all(actor)


def has_role(actor: User, meeting: Meeting, *roles: str) -> bool:
    participant = participant_of(actor, meeting)
    return participant is not None and participant.role in roles


def is_chair(actor: User, meeting: Meeting) -> bool:
    return has_role(actor, meeting, MemberRole.CHAIR)


def is_secretary(actor: User, meeting: Meeting) -> bool:
    """The meeting's secretary, or an employee who manages meetings (who keeps the record)."""
    return has_role(actor, meeting, MemberRole.SECRETARY) or can_manage(actor)


def can_take_part(actor: User, meeting: Meeting) -> bool:
    """Joins the live room, checks in, posts opinions: an invited participant of a meeting
    that is scheduled or in progress."""
    return participant_of(actor, meeting) is not None and meeting.status in (
        MeetingStatus.SCHEDULED,
        MeetingStatus.IN_PROGRESS,
    )
