"""How every meetings view finds "the meeting of this URL for this user": one decorator for the
participants' side (/meetings/<agency_slug>/<meeting_id>/…, any signed-in person) and one for
the workspace (/a/<slug>/meetings/<meeting_id>/…, employees). Also the search box of the
employee pickers (``employee_search_box``).

They only load and refuse: a meeting that does not exist and one the viewer may not open
(``policies.can_open``) are both 404, so nobody learns that a meeting exists. What the viewer
may do with it (chair, secretary, manager) is for the policies and the services to answer."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from meetings import policies
from meetings.models import Body, Meeting
from meetings.selectors_schedule import meeting_participants
from meetings.services import employees as employee_services
from meetings.services.employees import EmployeeMatches
from tenants.decorators import workspace_view
from tenants.models import Agency
from tenants.urls_helpers import workspace_reverse


def agency_or_404(slug: str) -> Agency:
    """The active agency of a participants' URL."""
    return get_object_or_404(Agency, slug=slug, is_active=True)


def _meeting_or_404(request, meeting_id: int, *, participants: bool) -> tuple[Meeting, list]:
    """The meeting (with its body and current item), or 404 unless the viewer may open it.
    Runs in the meeting's agency schema."""
    meeting = Meeting.objects.select_related("body", "current_item").filter(pk=meeting_id).first()
    if meeting is None:
        raise Http404
    rows = meeting_participants(meeting) if participants else []
    if not policies.can_open(request.user, meeting):
        raise Http404
    return meeting, rows


def meeting_view(view=None, *, participants: bool = False, hide_refusals: bool = False):
    """Decorate a participants' view: the visitor signs in first, the agency of the URL is
    found (404 if unknown or inactive), its schema entered, the meeting loaded (404 as above),
    and the view called as ``view(request, agency, meeting, **url_kwargs)`` in that schema.

    ``participants``: the page shows every participant; they are read with the meeting
    (``meeting_participants``, before the check, so the viewer's own invitation is found
    among them and not read again) and passed as ``participants=``.
    ``hide_refusals``: a refusal of the services (PermissionDenied) answers 404 too, not 403.

    Use as ``@meeting_view`` or ``@meeting_view(participants=True)``."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(request, agency_slug: str, meeting_id: int, **kwargs):
            agency = agency_or_404(agency_slug)
            with schema_context(agency.schema_name):
                meeting, rows = _meeting_or_404(request, meeting_id, participants=participants)
                if participants:
                    kwargs["participants"] = rows
                try:
                    return view(request, agency, meeting, **kwargs)
                except PermissionDenied:
                    if hide_refusals:
                        raise Http404 from None
                    raise

        return wrapped

    return decorator(view) if view is not None else decorator


def workspace_meeting_view(permission: str | None = None):
    """Decorate a workspace view of one meeting: the workspace's guard (an active employee
    holding ``permission``, see ``tenants.decorators.workspace_view``), then the meeting (404
    as above), the view called as ``view(request, meeting, **url_kwargs)``."""

    def decorator(view):
        @workspace_view(permission)
        @functools.wraps(view)
        def wrapped(request, meeting_id: int, **kwargs):
            meeting, _rows = _meeting_or_404(request, meeting_id, participants=False)
            return view(request, meeting, **kwargs)

        return wrapped

    return decorator


EMPLOYEE_QUERY = "employee_q"  # the GET parameter of a picker's search box


def employee_search_attrs(
    request, *, input_id: str, select_id: str, excluding: Body | Meeting | None = None
) -> dict[str, str]:
    """The attributes of a picker's search box that employee_search.js reads: the JSON of
    ``views.schedule.employees`` (leaving out ``excluding``'s members), the select it
    narrows, and what it says when the list is cut or empty."""
    url = workspace_reverse(request, "workspace:meeting_employees")
    if excluding is not None:
        url += "?" + urlencode({"body" if isinstance(excluding, Body) else "meeting": excluding.pk})
    return {
        "id": input_id,
        "autocomplete": "off",
        "data-employee-search": url,
        "data-employee-select": select_id,
        "data-employee-more": employee_more_message(),
        "data-employee-none": _("No employee matches this search."),
    }


def employee_more_message() -> str:
    return _("Only the first %(n)s matches are shown: type more of the name or the email.") % {
        "n": employee_services.PICKER_LIMIT
    }


def employee_search_box(
    request,
    matches: EmployeeMatches,
    *,
    select_id: str,
    excluding: Body | Meeting | None = None,
    label: str = "",
    param: str = EMPLOYEE_QUERY,
    keep: dict | None = None,
) -> dict:
    """What ``meetings/partials/employee_search.html`` shows above a form with a picker: a
    search box of its own (GET ``param``, the page's other parameters ``keep``) whose matches
    the page offers in the select ``select_id``; said when the list is cut or empty."""
    query = request.GET.get(param, "")
    status = ""
    if matches.more:
        status = employee_more_message()
    elif query and not matches.rows:
        status = _("No employee matches this search.")
    return {
        "param": param,
        "query": query,
        "label": label or _("Find an employee (name or email)"),
        "status": status,
        "keep": sorted((keep or {}).items()),
        "attrs": employee_search_attrs(
            request, input_id=f"{select_id}-q", select_id=select_id, excluding=excluding
        ),
    }
