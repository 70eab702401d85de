"""Helpers shared by the meeting's page and its parts' contributions (room_page, voting_page,
minutes_page): the page's address and the slug of its agency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection
from django.urls import reverse

if TYPE_CHECKING:
    from meetings.models import Meeting
    from tenants.models import Agency


def meeting_path(agency: Agency, meeting: Meeting) -> str:
    """The meeting's page for its participants (/meetings/<slug>/<id>/): the links of the
    invitations, the calendar files and the room's pages lead there."""
    return reverse(
        "meetings:meeting", kwargs={"agency_slug": agency.slug, "meeting_id": meeting.pk}
    )


def agency_slug(request) -> str:
    """The slug of the meeting's agency: from the URL (/meetings/<slug>/<id>/), else the
    request's agency, else the agency of the current schema."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.kwargs.get("agency_slug"):
        return match.kwargs["agency_slug"]
    agency = getattr(request, "agency", None)
    if agency is not None:
        return agency.slug
    from tenants.models import Agency

    return Agency.objects.values_list("slug", flat=True).get(schema_name=connection.schema_name)
