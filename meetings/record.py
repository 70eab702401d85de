"""What the minutes are drafted from (R-34), each provided by the part that keeps it: the
attendance and the secretary's shared notes (the live room), the polls' results (voting).
Each function runs in the meeting's agency schema and returns plain data."""

from typing import Any


def attendance_rows(meeting) -> list[dict[str, Any]]:
    """One row per participant: ``{"name", "role", "presence", "presence_label",
    "checked_in_at", "left_at", "by_proxy_of"}`` (the room part fills this in)."""
    return []


def shared_notes(meeting) -> dict[int | None, str]:
    """The secretary's shared notes by agenda item id (None: the meeting's general notes)."""
    return {}


def poll_results(meeting) -> list[dict[str, Any]]:
    """One entry per closed poll, in order: ``{"agenda_item_id", "question", "secret",
    "options": [{"label", "count", "weight"}], "rule", "quorum", "carried", "closed_at"}`` (the
    voting part fills this in). Also: "rule_label", "base", "voters", "entitled",
    "quorum_reached", "casting_vote", "winners" (choice polls: option labels)."""
    from meetings.voting_page import result_entries

    return result_entries(meeting)
