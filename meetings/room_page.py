"""What the room part shows on the meeting's page: its context (merged by the page's view,
meetings.views) and its template `meetings/partials/room.html` (included by the page).

The discussion shown is the current agenda item's (``?item=<id>`` shows another one);
room.js keeps the page in step with the meeting's socket."""

from typing import Any

from django.urls import reverse

from core.converters import parse_id
from meetings.constants import MeetingStatus, MemberRole, Presence
from meetings.models import AgendaItem, Meeting, Participant
from meetings.models_room import Opinion, PrivateNote, SharedNote, SpeakerStatus
from meetings.pages import agency_slug
from meetings.policies import is_chair, is_secretary
from meetings.quorum import quorum_state
from meetings.services.attendance import check_in_open
from meetings.services.room import can_run, speakers_queue

URL_NAMES = {
    "page": "meetings:meeting",
    "room": "meetings:room",
    "start": "meetings:room_start",
    "close": "meetings:room_close",
    "check_in": "meetings:room_check_in",
    "leave": "meetings:room_leave",
    "attendance": "meetings:room_attendance",
    "qr": "meetings:room_qr",
    "item": "meetings:room_item",
    "opinion": "meetings:room_opinion",
    "note": "meetings:room_note",
    "shared_notes": "meetings:room_shared_notes",
    "hand": "meetings:room_hand",
    "floor": "meetings:room_floor",
}


def context(
    request,
    meeting: Meeting,
    participant: Participant | None,
    *,
    participants: list[Participant],
    agenda: list[AgendaItem],
) -> dict[str, Any]:
    """Template variables of the room part for this viewer (participant: their invitation,
    None for an employee who sees every meeting), given the meeting's participants and agenda
    (read once by the page). Queries must not grow with the meeting."""
    slug = agency_slug(request)
    kwargs = {"agency_slug": slug, "meeting_id": meeting.pk}
    urls = {key: reverse(name, kwargs=kwargs) for key, name in URL_NAMES.items()}
    by_id = {item.pk: item for item in agenda}
    shown = by_id.get(parse_id(request.GET.get("item")))
    if shown is None:
        shown = by_id.get(meeting.current_item_id)
    shown_id = shown.pk if shown else None
    opinions = list(
        Opinion.objects.filter(meeting=meeting, agenda_item_id=shown_id)
        .select_related("participant__user")
        .order_by("created_at", "id")
    )
    notes = {
        note.agenda_item_id: note
        for note in SharedNote.objects.filter(meeting=meeting, agenda_item_id__in=[None, shown_id])
    }
    notes_general = SharedNote.objects.filter(meeting=meeting, agenda_item__isnull=True).first()
    my_note = None
    if participant is not None:
        my_note = PrivateNote.objects.filter(
            participant=participant, agenda_item_id=shown_id
        ).first()
    queue = speakers_queue(meeting)
    my_hand = next(
        (s for s in queue if participant is not None and s.participant_id == participant.pk),
        None,
    )
    running = meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)
    return {
        "room": {
            "urls": urls,
            "socket": f"/ws/meetings/{slug}/{meeting.pk}/",
            "page_url": urls["page"],
            "quorum": quorum_state(meeting, participants),
            "agenda": agenda,
            "shown": shown,
            "is_current": shown is not None and shown_id == meeting.current_item_id,
            "opinions": opinions,
            "shared_note": notes.get(shown_id) if shown_id else None,
            "shared_general": notes_general,
            "my_note": my_note,
            "queue": queue,
            "speaking": next((s for s in queue if s.status == SpeakerStatus.SPEAKING), None),
            "my_hand": my_hand,
            "participant": participant,
            "is_present": participant is not None and participant.presence == Presence.PRESENT,
            "is_observer": participant is not None and participant.role == MemberRole.OBSERVER,
            "can_check_in": participant is not None and check_in_open(meeting),
            "can_run": can_run(request.user, meeting),
            "is_chair": is_chair(request.user, meeting),
            "is_secretary": is_secretary(request.user, meeting) and running,
            "takes_part": participant is not None and running,
            "in_progress": meeting.status == MeetingStatus.IN_PROGRESS,
            "scheduled": meeting.status == MeetingStatus.SCHEDULED,
        }
    }
