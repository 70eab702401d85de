"""Helpers shared by the parts' contributions to the meeting's page (room_page, voting_page,
minutes_page)."""

from django.db import connection


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
