"""Choosing employees of the agency in meetings' forms (body members, participants, decision
owners): a search by name or email that answers a short list, so that the pickers stay small
however large the agency, the same for the pages (``?employee_q=``) and for their live search
(the JSON of ``views.schedule.employees``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import User
from core.actions import require
from meetings import policies
from meetings.models import Body, BodyMember, Meeting, Participant
from tenants.selectors import staff_search_filter
from tenants.staff.models import Membership

PICKER_LIMIT = 50  # employees a picker offers at once
QUERY_MAX = 100  # characters of a search that are used


@dataclass(frozen=True)
class EmployeeMatches:
    rows: list[Membership]  # with their users
    more: bool  # more employees match than the list holds: type more of the name


def employee_search(
    *,
    actor: User,
    query: str = "",
    excluding: Body | Meeting | None = None,
    selected: int | None = None,
    limit: int | None = None,
) -> EmployeeMatches:
    """The active employees whose email, names or title contain every word of ``query``
    (everyone when it is empty), by name, at most ``limit`` (default ``PICKER_LIMIT``); those
    already members of ``excluding`` (a body's active members, a meeting's participants) left
    out; the ``selected`` employee (a form's current choice) always in the list if active.

    Refused (PermissionDenied) to whoever does not choose employees in meetings
    (``policies.can_pick_employees``). One query, two with a selected employee not found."""
    require(
        policies.can_pick_employees(actor),
        _("You do not have permission to choose employees for meetings."),
    )
    # Leaving out a body's or a meeting's members tells who they are: their managers only.
    require(excluding is None or policies.can_manage(actor))
    limit = limit or PICKER_LIMIT
    rows = Membership.objects.filter(is_active=True).select_related("user")
    query = (query or "").strip()[:QUERY_MAX]
    if query:
        rows = rows.filter(staff_search_filter(query))
    if isinstance(excluding, Body):
        rows = rows.exclude(
            user_id__in=BodyMember.objects.filter(
                body=excluding, is_active=True, user__isnull=False
            ).values("user_id")
        )
    elif isinstance(excluding, Meeting):
        rows = rows.exclude(
            user_id__in=Participant.objects.filter(meeting=excluding, user__isnull=False).values(
                "user_id"
            )
        )
    found = list(rows.order_by("user__first_name_ar", "id")[: limit + 1])
    more, found = len(found) > limit, found[:limit]
    if selected and all(m.pk != selected for m in found):
        chosen = (
            Membership.objects.filter(pk=selected, is_active=True).select_related("user").first()
        )
        if chosen is not None:
            found.insert(0, chosen)
    return EmployeeMatches(rows=found, more=more)
