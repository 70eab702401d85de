from django.urls import reverse


def workspace_reverse(request_or_agency, name: str, **kwargs) -> str:
    """reverse() for workspace URLs: fills in the agency slug of the request or agency."""
    agency = getattr(request_or_agency, "agency", request_or_agency)
    return reverse(name, kwargs={"agency_slug": agency.slug, **kwargs})
