"""What the minutes are drafted from (R-34), each provided by the part that keeps it: the
attendance and the secretary's shared notes (the live room), the polls' results (voting).
Each function runs in the meeting's agency schema and returns plain data."""

from typing import Any


def attendance_rows(meeting) -> list[dict[str, Any]]:
    """One row per participant: ``{"name", "role", "presence", "presence_label",
    "checked_in_at", "left_at", "by_proxy_of"}``: ``checked_in_at`` is their first arrival
    (check-in or marked present), ``left_at`` their last leaving when they did not come back
    (None otherwise); ``participant_id`` too. ``by_proxy_of``: on a proxy holder's row, the
    names of those they represent (the voting part's proxies), else "". Three queries."""
    from meetings.constants import Presence
    from meetings.models import Participant
    from meetings.models_room import AttendanceEvent, AttendanceKind
    from meetings.models_voting import Proxy

    represented: dict[int, list[str]] = {}
    for proxy in Proxy.objects.filter(meeting=meeting).select_related("delegator__user"):
        represented.setdefault(proxy.holder_id, []).append(str(proxy.delegator))

    arrivals = (AttendanceKind.CHECK_IN, AttendanceKind.MARKED_PRESENT)
    first_in: dict[int, Any] = {}
    last_left: dict[int, Any] = {}
    for participant_id, kind, at in AttendanceEvent.objects.filter(meeting=meeting).values_list(
        "participant_id", "kind", "at"
    ):
        if kind in arrivals:
            first_in.setdefault(participant_id, at)
        elif kind == AttendanceKind.LEAVE:
            last_left[participant_id] = at
    rows = []
    for participant in Participant.objects.filter(meeting=meeting).select_related("user"):
        rows.append(
            {
                "participant_id": participant.pk,
                "name": str(participant),
                "role": participant.role,
                "presence": participant.presence,
                "presence_label": str(participant.get_presence_display()),
                "checked_in_at": first_in.get(participant.pk),
                "left_at": last_left.get(participant.pk)
                if participant.presence == Presence.LEFT
                else None,
                "by_proxy_of": ", ".join(represented.get(participant.pk, [])),
            }
        )
    return rows


def shared_notes(meeting) -> dict[int | None, str]:
    """The secretary's shared notes by agenda item id (None: the meeting's general notes)."""
    from meetings.models_room import SharedNote

    return dict(SharedNote.objects.filter(meeting=meeting).values_list("agenda_item_id", "text"))


def poll_results(meeting) -> list[dict[str, Any]]:
    """One entry per closed poll, in order: ``{"agenda_item_id", "question", "secret",
    "options": [{"label", "count", "weight"}], "rule", "quorum", "carried", "closed_at"}`` (the
    voting part fills this in). Also: "rule_label", "base", "voters", "entitled",
    "quorum_reached", "casting_vote", "winners" (choice polls: option labels)."""
    from meetings.voting_page import result_entries

    return result_entries(meeting)
