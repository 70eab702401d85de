"""The live room (R-32): starting and closing the meeting, the current agenda item, opinions,
private notes, the secretary's shared notes and the speakers' queue.

Everything here but private notes is pushed to the meeting's group after commit
(meetings.live); a private note is never published (its author's page has it already)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.actions import require, use_case
from core.audit import agency_record
from meetings.constants import MeetingStatus
from meetings.live import meeting_publish
from meetings.models import AgendaItem, Meeting
from meetings.models_room import Opinion, PrivateNote, SharedNote, Speaker, SpeakerStatus
from meetings.models_voting import Poll, PollStatus
from meetings.policies import can_take_part, is_chair, is_secretary, participant_of
from meetings.quorum import quorum_state

SPEAKING_SECONDS = 180  # the floor's planned time unless the chair says otherwise


def can_run(actor: User, meeting: Meeting) -> bool:
    """Starts and closes the meeting: its chair or its secretary."""
    return is_chair(actor, meeting) or is_secretary(actor, meeting)


def _locked(meeting: Meeting) -> Meeting:
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    # keep the request's participant cache (policies.participant_of)
    locked.__dict__["_participant_cache"] = meeting.__dict__.get("_participant_cache", {})
    return locked


def _item(meeting: Meeting, item_id: int | None) -> AgendaItem | None:
    if item_id is None:
        return None
    item = AgendaItem.objects.filter(meeting=meeting, pk=item_id).first()
    if item is None:
        raise ValidationError({"item": _("This item is not on the meeting's agenda.")})
    return item


def _require_in_progress(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise ValidationError(_("The meeting is not under way."))


# --- start and close --------------------------------------------------------------------------


@use_case
def meeting_start(*, actor: User, meeting: Meeting) -> Meeting:
    """The chair or the secretary opens the meeting (scheduled → under way)."""
    meeting = _locked(meeting)
    require(can_run(actor, meeting), _("Only the chair or the secretary can start the meeting."))
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError(_("Only a scheduled meeting can be started."))
    meeting.status = MeetingStatus.IN_PROGRESS
    meeting.started_at = timezone.now()
    if meeting.current_item_id is None:
        meeting.current_item = meeting.agenda.order_by("position", "id").first()
    meeting.save(update_fields=["status", "started_at", "current_item", "updated_at"])
    agency_record(
        actor=actor,
        action="meetings.started",
        obj=meeting,
        before={"status": MeetingStatus.SCHEDULED},
        after={"status": meeting.status},
    )
    meeting_publish(meeting.pk, "status", status=meeting.status)
    _publish_current_item(meeting)
    return meeting


@use_case
def meeting_close(*, actor: User, meeting: Meeting) -> Meeting:
    """The chair or the secretary closes the meeting (under way → closed); the quorum at the
    close is kept in the audit record. Whoever still has the floor is done."""
    meeting = _locked(meeting)
    require(can_run(actor, meeting), _("Only the chair or the secretary can close the meeting."))
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise ValidationError(_("Only a meeting under way can be closed."))
    # A poll opens under the meeting's lock too: none can open between this check and the close.
    if Poll.objects.filter(meeting=meeting, status=PollStatus.OPEN).exists():
        raise ValidationError(_("A poll is still open: the chair closes it before the meeting."))
    now = timezone.now()
    meeting.status = MeetingStatus.CLOSED
    meeting.closed_at = now
    meeting.save(update_fields=["status", "closed_at", "updated_at"])
    Speaker.objects.filter(meeting=meeting, status=SpeakerStatus.SPEAKING).update(
        status=SpeakerStatus.DONE, ended_at=now
    )
    Speaker.objects.filter(meeting=meeting, status=SpeakerStatus.WAITING).update(
        status=SpeakerStatus.WITHDRAWN, ended_at=now
    )
    agency_record(
        actor=actor,
        action="meetings.closed",
        obj=meeting,
        before={"status": MeetingStatus.IN_PROGRESS},
        after={"status": meeting.status, "quorum": quorum_state(meeting).as_json()},
    )
    meeting_publish(meeting.pk, "status", status=meeting.status)
    return meeting


# --- the current agenda item ------------------------------------------------------------------


def _publish_current_item(meeting: Meeting) -> None:
    item = meeting.current_item
    meeting_publish(
        meeting.pk,
        "current_item",
        item_id=item.pk if item else None,
        position=item.position if item else None,
        title=item.title if item else "",
    )


@use_case
def meeting_set_current_item(*, actor: User, meeting: Meeting, item_id: int | None) -> Meeting:
    """The chair moves the meeting to an agenda item; every participant's page follows."""
    meeting = _locked(meeting)
    require(is_chair(actor, meeting), _("Only the chair can move to another item."))
    _require_in_progress(meeting)
    item = _item(meeting, item_id)
    before = meeting.current_item_id
    meeting.current_item = item
    meeting.save(update_fields=["current_item", "updated_at"])
    agency_record(
        actor=actor,
        action="meetings.current_item",
        obj=meeting,
        before={"item": before},
        after={"item": item.pk if item else None},
    )
    _publish_current_item(meeting)
    return meeting


# --- opinions and notes -----------------------------------------------------------------------


def _text(value: str, field: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: _("Write something first.")})
    if len(text) > limit:
        raise ValidationError({field: _("Keep it under %(limit)s characters.") % {"limit": limit}})
    return text


@use_case
def opinion_post(*, actor: User, meeting: Meeting, item_id: int | None, text: str) -> Opinion:
    """A participant (observers too) posts an opinion on an agenda item; all see it live."""
    require(can_take_part(actor, meeting), _("You are not taking part in this meeting."))
    text = _text(text, "text", 4000, required=True)
    item = _item(meeting, item_id)
    participant = participant_of(actor, meeting)
    opinion = Opinion.objects.create(
        meeting=meeting, agenda_item=item, participant=participant, text=text
    )
    agency_record(actor=actor, action="meetings.opinion_posted", obj=meeting)
    meeting_publish(
        meeting.pk,
        "opinion",
        id=opinion.pk,
        item_id=item.pk if item else None,
        author=str(participant),
        text=text,
        at=opinion.created_at.isoformat(),
    )
    return opinion


@use_case
def private_note_save(
    *, actor: User, meeting: Meeting, item_id: int | None, text: str
) -> PrivateNote:
    """The actor's own note on an item: seen by them only, never published nor audited in
    content (the audit records that a note was saved, not what it says)."""
    participant = participant_of(actor, meeting)
    require(participant is not None, _("You are not invited to this meeting."))
    text = _text(text, "text", 20000, required=False)
    item = _item(meeting, item_id)
    note, _created = PrivateNote.objects.update_or_create(
        participant=participant, agenda_item=item, defaults={"text": text}
    )
    return note


def _text_digest(text: str) -> dict[str, Any]:
    """What the audit keeps of a text: its length and SHA-256, never the text (up to 50,000
    characters on each save)."""
    return {"length": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}


@use_case
def shared_notes_save(
    *, actor: User, meeting: Meeting, item_id: int | None, text: str
) -> SharedNote:
    """The secretary's notes on an item (or the meeting in general), pushed to everyone."""
    require(is_secretary(actor, meeting), _("Only the meeting's secretary can edit the notes."))
    if meeting.status not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS):
        raise ValidationError(_("The notes can be edited only before or during the meeting."))
    text = _text(text, "text", 50000, required=False)
    item = _item(meeting, item_id)
    # The meeting row first: two first saves of the same note wait for each other instead of
    # both creating it (the second one's IntegrityError).
    Meeting.objects.select_for_update().filter(pk=meeting.pk).first()
    note = SharedNote.objects.select_for_update().filter(meeting=meeting, agenda_item=item).first()
    before = note.text if note else ""
    if note is None:
        note = SharedNote(meeting=meeting, agenda_item=item)
    note.text = text
    note.updated_by = actor
    note.save()
    agency_record(
        actor=actor,
        action="meetings.shared_notes",
        obj=meeting,
        before={"item": item.pk if item else None, **_text_digest(before)},
        after={"item": item.pk if item else None, **_text_digest(text)},
    )
    meeting_publish(
        meeting.pk,
        "shared_notes",
        item_id=item.pk if item else None,
        text=text,
        at=note.updated_at.isoformat(),
    )
    return note


# --- the speakers' queue ----------------------------------------------------------------------


def speakers_queue(meeting: Meeting) -> list[Speaker]:
    """Who has the floor and who waits, in order (one query)."""
    return list(
        Speaker.objects.filter(
            meeting=meeting, status__in=[SpeakerStatus.SPEAKING, SpeakerStatus.WAITING]
        )
        .select_related("participant__user")
        .order_by("status", "raised_at", "id")  # "speaking" sorts before "waiting"
    )


def speakers_json(meeting: Meeting) -> list[dict]:
    return [
        {
            "id": speaker.pk,
            "participant_id": speaker.participant_id,
            "name": str(speaker.participant),
            "status": speaker.status,
            "started_at": speaker.started_at.isoformat() if speaker.started_at else None,
            "planned_seconds": speaker.planned_seconds,
        }
        for speaker in speakers_queue(meeting)
    ]


def _publish_speakers(meeting: Meeting) -> None:
    meeting_publish(meeting.pk, "speakers", queue=speakers_json(meeting))


@use_case
def speaker_raise_hand(*, actor: User, meeting: Meeting) -> Speaker:
    """The actor asks for the floor (a raised hand already there is kept)."""
    meeting = _locked(meeting)
    require(can_take_part(actor, meeting), _("You are not taking part in this meeting."))
    _require_in_progress(meeting)
    participant = participant_of(actor, meeting)
    existing = Speaker.objects.filter(
        meeting=meeting,
        participant=participant,
        status__in=[SpeakerStatus.WAITING, SpeakerStatus.SPEAKING],
    ).first()
    if existing is not None:
        return existing
    speaker = Speaker.objects.create(
        meeting=meeting,
        participant=participant,
        agenda_item_id=meeting.current_item_id,
        raised_at=timezone.now(),
        planned_seconds=SPEAKING_SECONDS,
    )
    _publish_speakers(meeting)
    return speaker


@use_case
def speaker_lower_hand(*, actor: User, meeting: Meeting) -> None:
    """The actor withdraws from the queue (or ends their own turn)."""
    meeting = _locked(meeting)
    participant = participant_of(actor, meeting)
    require(participant is not None, _("You are not invited to this meeting."))
    now = timezone.now()
    changed = Speaker.objects.filter(
        meeting=meeting, participant=participant, status=SpeakerStatus.WAITING
    ).update(status=SpeakerStatus.WITHDRAWN, ended_at=now)
    changed += Speaker.objects.filter(
        meeting=meeting, participant=participant, status=SpeakerStatus.SPEAKING
    ).update(status=SpeakerStatus.DONE, ended_at=now)
    if changed:
        _publish_speakers(meeting)


@use_case
def speaker_give_floor(
    *, actor: User, meeting: Meeting, speaker_id: int | None = None, seconds: int | None = None
) -> Speaker | None:
    """The chair gives the floor to a waiting speaker (none named: the next in the queue); the
    one who had it is done. Without anyone waiting the floor is simply closed."""
    meeting = _locked(meeting)
    require(is_chair(actor, meeting), _("Only the chair can give the floor."))
    _require_in_progress(meeting)
    # The page asks for minutes (1 to 60), so the limits are worded in minutes.
    if seconds is not None and not 60 <= seconds <= 3600:
        raise ValidationError({"seconds": _("Give between 1 and 60 minutes.")})
    waiting = Speaker.objects.filter(meeting=meeting, status=SpeakerStatus.WAITING)
    if speaker_id is not None:
        chosen = waiting.filter(pk=speaker_id).first()
        if chosen is None:
            raise ValidationError({"speaker": _("This person is not waiting to speak.")})
    else:
        chosen = waiting.order_by("raised_at", "id").first()
    now = timezone.now()
    Speaker.objects.filter(meeting=meeting, status=SpeakerStatus.SPEAKING).update(
        status=SpeakerStatus.DONE, ended_at=now
    )
    if chosen is not None:
        chosen.status = SpeakerStatus.SPEAKING
        chosen.started_at = now
        if seconds is not None:
            chosen.planned_seconds = seconds
        chosen.save(update_fields=["status", "started_at", "planned_seconds"])
        agency_record(
            actor=actor,
            action="meetings.floor_given",
            obj=meeting,
            after={"participant": chosen.participant_id, "seconds": chosen.planned_seconds},
        )
    _publish_speakers(meeting)
    return chosen
