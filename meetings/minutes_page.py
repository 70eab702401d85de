"""What the minutes part shows on the meeting's page: its context (merged by the page's view,
meetings.views) and its template `meetings/partials/minutes.html` (included by the page)."""

from typing import Any


def context(request, meeting, participant) -> dict[str, Any]:
    """Template variables of the minutes part for this viewer (participant: their invitation,
    None for an employee who sees every meeting). Queries must not grow with the meeting."""
    return {}
