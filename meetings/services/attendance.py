"""Attendance (R-31): check-in from the meeting page or by the room's QR code, the secretary's
marks, leaving and coming back. Each change writes an ``AttendanceEvent``, keeps
``Participant.presence`` current, is audited and pushes the presence and the quorum live.

The QR code carries a signed token (``django.core.signing``, salt ``QR_SALT``) naming the
agency's schema, the meeting and a time slot of ``QR_SLOT_SECONDS``; the secretary's screen
shows a new one every slot and a token is accepted for ``QR_ACCEPT_SLOTS`` slots (20–30 s), so
a photograph sent home is useless by the time it arrives."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from core.actions import require, use_case
from core.audit import agency_record
from meetings.constants import MeetingStatus, Presence
from meetings.live import meeting_publish
from meetings.models import Meeting, Participant
from meetings.models_room import AttendanceEvent, AttendanceKind, AttendanceMethod
from meetings.policies import is_secretary, participant_of
from meetings.quorum import quorum_compute, quorum_voters

# A remote member may check in from this long before the start until the end (or the close,
# when the meeting runs late).
CHECK_IN_BEFORE = timedelta(minutes=30)

QR_SALT = "meetings.qr-checkin"
QR_SLOT_SECONDS = 10
QR_ACCEPT_SLOTS = 3  # this slot and the two before: a token lives 20 to 30 seconds
# A visitor who scanned while signed out has this long to sign in: the server noted in their
# session when it saw the (then valid) token, and judges the token at that moment.
QR_SIGN_IN_GRACE = 300

_MARKS = {
    Presence.PRESENT: AttendanceKind.MARKED_PRESENT,
    Presence.ABSENT: AttendanceKind.MARKED_ABSENT,
    Presence.EXCUSED: AttendanceKind.MARKED_EXCUSED,
}


def check_in_open(meeting: Meeting, now: datetime | None = None) -> bool:
    """Whether a participant may check in now: the meeting is scheduled or under way, and now
    is between 30 minutes before its start and its end (any time while it is under way)."""
    now = now or timezone.now()
    if meeting.status == MeetingStatus.IN_PROGRESS:
        return True
    return (
        meeting.status == MeetingStatus.SCHEDULED
        and meeting.starts_at - CHECK_IN_BEFORE <= now <= meeting.ends_at
    )


def _publish_presence(meeting: Meeting, participant: Participant) -> None:
    """Presence and quorum to every page, with the words in each language (the page picks
    its own: the change may come from someone reading another language)."""
    voters = quorum_voters(meeting)
    labels, descriptions, state = {}, {}, None
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels[code] = str(participant.get_presence_display())
            state = quorum_compute(
                kind=meeting.quorum_kind, value=meeting.quorum_value, voters=voters
            )
            descriptions[code] = state.description
    meeting_publish(
        meeting.pk,
        "presence",
        participant_id=participant.pk,
        presence=participant.presence,
        presence_label=str(participant.get_presence_display()),
        presence_labels=labels,
        present=state.present,
    )
    quorum = state.as_json()
    quorum["description"] = descriptions.get(translation.get_language(), quorum["description"])
    meeting_publish(meeting.pk, "quorum", **quorum, descriptions=descriptions)


def _record(
    *,
    meeting: Meeting,
    participant: Participant,
    kind: str,
    method: str,
    presence: str,
    actor: User,
) -> str:
    """Write the presence and its event; the presence before is returned (for the audit)."""
    before = participant.presence
    now = timezone.now()
    participant.presence = presence
    participant.presence_at = now
    participant.save(update_fields=["presence", "presence_at"])
    AttendanceEvent.objects.create(
        meeting=meeting, participant=participant, kind=kind, method=method, at=now, by=actor
    )
    return before


def _audited(participant: Participant, before: str, method: str) -> dict:
    """The audit record's obj, before and after."""
    return {
        "obj": participant,
        "before": {"presence": before},
        "after": {"presence": participant.presence, "method": method},
    }


def _locked_own(actor: User, meeting: Meeting) -> Participant:
    participant = participant_of(actor, meeting)
    require(participant is not None, _("You are not invited to this meeting."))
    # NO KEY UPDATE (presence only changes): a vote committing meanwhile checks its foreign
    # keys to this row with KEY SHARE while it holds its poll's lock, and must not wait here.
    return Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)


@use_case
def attendance_check_in(
    *, actor: User, meeting: Meeting, method: str = AttendanceMethod.REMOTE
) -> Participant:
    """The actor checks in (or comes back) to the meeting; refused outside the window."""
    participant = _locked_own(actor, meeting)
    if not check_in_open(meeting):
        raise ValidationError(
            _("Checking in opens 30 minutes before the start and closes at the end.")
        )
    if participant.presence == Presence.PRESENT:
        return participant
    before = _record(
        meeting=meeting,
        participant=participant,
        kind=AttendanceKind.CHECK_IN,
        method=method,
        presence=Presence.PRESENT,
        actor=actor,
    )
    agency_record(
        actor=actor,
        action="meetings.attendance_check_in",
        **_audited(participant, before, method),
    )
    _publish_presence(meeting, participant)
    return participant


@use_case
def attendance_leave(*, actor: User, meeting: Meeting) -> Participant:
    """The actor leaves the meeting (recorded; checking in again brings them back)."""
    participant = _locked_own(actor, meeting)
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS):
        raise ValidationError(_("The meeting is not under way."))
    if participant.presence != Presence.PRESENT:
        raise ValidationError(_("You are not checked in."))
    before = _record(
        meeting=meeting,
        participant=participant,
        kind=AttendanceKind.LEAVE,
        method=AttendanceMethod.REMOTE,
        presence=Presence.LEFT,
        actor=actor,
    )
    agency_record(
        actor=actor,
        action="meetings.attendance_leave",
        **_audited(participant, before, AttendanceMethod.REMOTE),
    )
    _publish_presence(meeting, participant)
    return participant


@use_case
def attendance_mark(
    *, actor: User, meeting: Meeting, participant_id: int, presence: str
) -> Participant:
    """The secretary marks a participant present, absent or excused."""
    require(is_secretary(actor, meeting), _("Only the meeting's secretary can mark attendance."))
    if presence not in _MARKS:
        raise ValidationError({"presence": _("Choose present, absent or excused.")})
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS):
        raise ValidationError(_("Attendance can be changed only before or during the meeting."))
    participant = (
        Participant.objects.select_for_update(no_key=True)
        .filter(meeting=meeting, pk=participant_id)
        .first()
    )
    if participant is None:
        raise ValidationError({"participant": _("This person is not invited to this meeting.")})
    if participant.presence == presence:
        return participant
    before = _record(
        meeting=meeting,
        participant=participant,
        kind=_MARKS[presence],
        method=AttendanceMethod.SECRETARY,
        presence=presence,
        actor=actor,
    )
    agency_record(
        actor=actor,
        action=(
            "meetings.attendance_marked_present"
            if presence == Presence.PRESENT
            else "meetings.attendance_marked_absent"
            if presence == Presence.ABSENT
            else "meetings.attendance_marked_excused"
        ),
        **_audited(participant, before, AttendanceMethod.SECRETARY),
    )
    _publish_presence(meeting, participant)
    return participant


# --- QR check-in ------------------------------------------------------------------------------


def _slot(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // QR_SLOT_SECONDS)


def qr_token(*, meeting: Meeting, now: float | None = None) -> str:
    """The token the secretary's screen shows now (signed; names schema, meeting and slot)."""
    return signing.dumps(
        {"a": connection.schema_name, "m": meeting.pk, "s": _slot(now)}, salt=QR_SALT
    )


def qr_token_valid(*, meeting: Meeting, token: str, now: float | None = None) -> bool:
    try:
        payload = signing.loads(token, salt=QR_SALT)
    except signing.BadSignature:
        return False
    if not isinstance(payload, dict):
        return False
    age = _slot(now) - payload.get("s", -(10**9)) if isinstance(payload.get("s"), int) else -1
    return (
        payload.get("a") == connection.schema_name
        and payload.get("m") == meeting.pk
        and 0 <= age < QR_ACCEPT_SLOTS
    )


@use_case
def attendance_qr_check_in(
    *, actor: User, meeting: Meeting, token: str, seen_at: float | None = None
) -> Participant:
    """The actor scanned the room's QR code: checked in as present, method QR. ``seen_at``:
    when the server first saw this token from the actor's browser before they signed in (kept
    in their session, never from the client), within ``QR_SIGN_IN_GRACE``."""
    now = time.time()
    if seen_at is not None and 0 <= now - seen_at <= QR_SIGN_IN_GRACE:
        now = seen_at
    if not qr_token_valid(meeting=meeting, token=token, now=now):
        raise ValidationError(
            _("This QR code has expired or is not valid. Scan the code on the screen again.")
        )
    if participant_of(actor, meeting) is None:
        raise PermissionDenied(_("You are not invited to this meeting."))
    return attendance_check_in.within(actor=actor, meeting=meeting, method=AttendanceMethod.QR)
