"""What the minutes part shows on the meeting's page: its context (merged by the page's view,
meetings.views) and its template `meetings/partials/minutes.html` (included by the page)."""

from typing import Any

from django.urls import reverse

from meetings.pages import agency_slug


def context(request, meeting, participant) -> dict[str, Any]:
    """Template variables of the minutes part for this viewer (participant: their invitation,
    None for an employee who sees every meeting). One query (the minutes' row)."""
    from meetings.services import minutes as services

    minutes = services.minutes_of(meeting)
    readable = services.can_read(request.user, meeting, minutes)
    can_write = services.can_write(request.user, meeting)
    if not readable and not can_write:
        return {"minutes_part": {"show": False}}
    kwargs = {"agency_slug": agency_slug(request), "meeting_id": meeting.pk}
    return {
        "minutes_part": {
            "show": True,
            "status": minutes.status if minutes else "",
            "status_label": minutes.get_status_display() if minutes else "",
            "readable": readable,
            "can_write": can_write,
            "url": reverse("meetings:minutes", kwargs=kwargs),
            "pdf_ar": reverse("meetings:minutes_pdf", kwargs={**kwargs, "language": "ar"}),
            "pdf_en": reverse("meetings:minutes_pdf", kwargs={**kwargs, "language": "en"}),
        }
    }
