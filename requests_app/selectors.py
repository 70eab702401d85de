"""Reads for request pages. Public-side reads use only the public schema (index, catalogue)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from accounts.models import User
from appointments.sources import EntryLink
from frontend.human import DEFAULT_WORKING_DAY_HOURS
from frontend.human import working_day_hours as day_length
from requests_app.constants import OPEN_STATUSES, PRIORITY_RANK, Status, Visibility
from requests_app.models import (
    AgencyCalendar,
    Assignment,
    Attachment,
    Comment,
    Request,
    TimelineEvent,
    TransactionType,
)
from requests_app.module import Perm
from requests_app.public.models import CatalogueEntry, RequestIndex
from requests_app.search import normalize
from tenants.models import Agency
from tenants.selectors import department_scope, department_scope_subquery, memberships_holding
from tenants.staff.models import Membership
from tenants.urls_helpers import workspace_reverse

QUEUE_STATES = [
    Status.NEW,
    Status.IN_PROGRESS,
    Status.AWAITING_BENEFICIARY,
    Status.POSTPONED,
    Status.CLOSED,
    Status.REJECTED,
]
LATE = "late"
# Open, clock running, not late yet, and due within this much of the agency's working time:
# one working day of the default calendar (08:00-16:00), i.e. what needs attention before
# tomorrow's same hour.
DUE_SOON = "due_soon"
DUE_SOON_WORKING_HOURS = 8
QUEUE_SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "due": ("due_at", "id"),
    "updated": ("-updated_at", "-id"),
}


# --- public side ------------------------------------------------------------------------------


def catalogue_search(
    *, query: str = "", agency_slug: str = "", category: str = ""
) -> QuerySet[CatalogueEntry]:
    """Active services of active agencies; Arabic matching ignores hamza/alef forms, taa
    marbuta and diacritics."""
    qs = CatalogueEntry.objects.filter(is_active=True, agency__is_active=True).select_related(
        "agency"
    )
    if agency_slug:
        qs = qs.filter(agency__slug=agency_slug)
    if category:
        qs = qs.filter(category=category)
    for word in normalize(query).split()[:8]:
        qs = qs.filter(search_text__contains=word)
    return qs.order_by("agency__slug", "name_ar")


def my_requests(
    *,
    user: User,
    query: str = "",
    status: str = "",
    agency_id: int | None = None,
    priority: str = "",
) -> QuerySet[RequestIndex]:
    """'My requests' across all agencies (R-5), from the public index only."""
    qs = RequestIndex.objects.filter(beneficiary=user).select_related("agency")
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if agency_id:
        qs = qs.filter(agency_id=agency_id)
    for word in normalize(query).split()[:8]:
        qs = qs.filter(search_text__contains=word)
    return qs.order_by("-created_at", "-id")


def waiting_for_beneficiary(*, user: User, limit: int = 10) -> list[RequestIndex]:
    """The person's requests on which an agency awaits their answer ("your turn"), soonest
    reply-by date first, from the public index only (one query)."""
    return list(
        RequestIndex.objects.filter(beneficiary=user, status=Status.AWAITING_BENEFICIARY)
        .select_related("agency")
        .order_by(F("reply_by").asc(nulls_last=True), "-updated_at", "-id")[:limit]
    )


def beneficiary_request(*, user: User, reference: str) -> Request | None:
    """The beneficiary's own request in the current agency schema, else None."""
    return (
        Request.objects.select_related("transaction_type", "assignee__user")
        .filter(reference=reference, beneficiary=user)
        .first()
    )


def request_history(
    *, request_obj: Request, external_only: bool
) -> tuple[list[TimelineEvent], list[Attachment]]:
    """A request's timeline and files, in two queries whatever their number: each event
    carries ``files``, the attachments of its comment, taken from the files list (a comment's
    files are files of its request) rather than from a query of their own.

    ``external_only`` is what the beneficiary sees: external steps only, with external files
    only; internal comments, internal attachments and the names of internal actions never
    reach these lists. Otherwise the staff's whole history."""
    events = TimelineEvent.objects.filter(request=request_obj)
    if external_only:
        events = events.filter(visibility=Visibility.EXTERNAL)
    timeline = list(events.select_related("actor", "comment").order_by("created_at", "id"))
    files = request_files(request_obj=request_obj, external_only=external_only)
    by_comment: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.comment_id is not None:
            by_comment.setdefault(attachment.comment_id, []).append(attachment)
    for event in timeline:
        event.files = by_comment.get(event.comment_id, []) if event.comment_id else []
    return timeline, files


def request_files(*, request_obj: Request, external_only: bool) -> list[Attachment]:
    qs = Attachment.objects.filter(request=request_obj).select_related("uploaded_by")
    if external_only:
        qs = qs.filter(visibility=Visibility.EXTERNAL)
    return list(qs.order_by("created_at", "id"))


# --- workspace side ---------------------------------------------------------------------------


def can_see_all(user: User) -> bool:
    """Sees beyond their own queue (requests_app.policies.sees_all)."""
    from requests_app.policies import sees_all

    return sees_all(user)


def workspace_requests(*, membership: Membership, user: User) -> QuerySet[Request]:
    """Requests an employee may open (R-14): an agency-wide viewer every request; a supervisor
    those of their department and the departments under it (all, when they have none); anyone
    else only the requests assigned to them."""
    qs = Request.objects.all()
    if user.has_perm(Perm.VIEW_ALL.perm):
        return qs
    if user.has_perm(Perm.SUPERVISE.perm):
        department_ids = department_scope_subquery(membership=membership, user=user)
        if department_ids is None:
            return qs
        return qs.filter(Q(department_id__in=department_ids) | Q(assignee=membership))
    return qs.filter(assignee=membership)


# What an appointment about a request is named in employees' calendars (appointments.sources).
CALENDAR_SOURCE = "requests.request"


def request_calendar_link(
    *, agency: Agency, membership: Membership, user: User, text: str
) -> EntryLink | None:
    """The calendar link of the request whose reference is ``text``, if the employee may open
    it (appointments.sources.Source.find)."""
    item = workspace_requests(membership=membership, user=user).filter(reference=text).first()
    if item is None:
        return None
    return EntryLink(
        source=CALENDAR_SOURCE,
        source_id=item.pk,
        source_label=item.reference,
        link=workspace_reverse(agency, "workspace:request_detail", request_id=item.pk),
    )


def queue(
    *,
    membership: Membership,
    user: User,
    state: str = "",
    query: str = "",
    sort: str = "newest",
    priority: str = "",
    scope: str = "mine",
) -> QuerySet[Request]:
    """The employee's queue (R-11) with filters; constant number of queries."""
    qs = workspace_requests(membership=membership, user=user)
    if scope == "mine" or not can_see_all(user):
        qs = qs.filter(assignee=membership)
    elif scope == "unassigned":
        qs = qs.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    if state == LATE:
        qs = qs.filter(is_late=True, status__in=OPEN_STATUSES)
    elif state == DUE_SOON:
        qs = qs.filter(_due_soon(due_soon_horizon()))
    elif state:
        qs = qs.filter(status=state)
    if priority:
        qs = qs.filter(priority=priority)
    if query:
        qs = qs.filter(Q(reference__icontains=query) | Q(subject__icontains=query))
    return qs.select_related("transaction_type", "beneficiary", "assignee__user").order_by(
        *QUEUE_SORTS.get(sort, QUEUE_SORTS["newest"])
    )


def due_soon_horizon(now: datetime | None = None) -> datetime:
    """The instant DUE_SOON_WORKING_HOURS of the agency's working time from ``now``: a request
    due before it is due soon. Two queries (the calendar and its holidays)."""
    from django.utils import timezone

    from requests_app.services.sla import HOUR, agency_calendar

    calendar, _config = agency_calendar()
    return calendar.add_working_seconds(now or timezone.now(), DUE_SOON_WORKING_HOURS * HOUR)


def _due_soon(horizon: datetime) -> Q:
    # Stored due dates assume no pause (a pause only pushes the real one later), so a request
    # that was paused may be counted a little early: on the safe side.
    return Q(status__in=(Status.NEW, Status.IN_PROGRESS), is_late=False, due_at__lte=horizon)


WORKLOAD = ("new", DUE_SOON, LATE, Status.AWAITING_BENEFICIARY.value)


def workload_counts(
    *, membership: Membership, user: User, horizon: datetime
) -> dict[str, dict[str, int] | None]:
    """The overview's counts: new (unstarted), due soon (before ``horizon``), late and
    waiting for the beneficiary, of the requests assigned to the employee ("mine") and, for a
    supervisor or an agency-wide viewer, of every request they oversee ("scope", with the
    open unassigned ones). One query, whatever the number of requests."""
    conditions = {
        "new": Q(status=Status.NEW),
        DUE_SOON: _due_soon(horizon),
        LATE: Q(is_late=True, status__in=OPEN_STATUSES),
        Status.AWAITING_BENEFICIARY.value: Q(status=Status.AWAITING_BENEFICIARY),
    }
    mine = Q(assignee=membership)
    aggregates = {f"mine_{key}": Count("id", filter=mine & q) for key, q in conditions.items()}
    oversees = can_see_all(user)
    if oversees:
        aggregates |= {f"scope_{key}": Count("id", filter=q) for key, q in conditions.items()}
        aggregates["scope_unassigned"] = Count(
            "id", filter=Q(assignee__isnull=True, status__in=OPEN_STATUSES)
        )
    row = workspace_requests(membership=membership, user=user).aggregate(**aggregates)
    counts: dict[str, dict[str, int] | None] = {
        "mine": {key: row[f"mine_{key}"] for key in conditions},
        "scope": None,
    }
    if oversees:
        counts["scope"] = {key: row[f"scope_{key}"] for key in [*conditions, "unassigned"]}
    return counts


def queue_counts(*, membership: Membership, user: User, scope: str = "mine") -> dict[str, int]:
    qs = workspace_requests(membership=membership, user=user)
    if scope == "mine" or not can_see_all(user):
        qs = qs.filter(assignee=membership)
    elif scope == "unassigned":
        qs = qs.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    rows = qs.values_list("status", "is_late").annotate(n=Count("id"))
    counts = {state: 0 for state in QUEUE_STATES}
    counts[LATE] = 0
    for status, is_late, n in rows:
        counts[status] = counts.get(status, 0) + n
        if is_late and status in OPEN_STATUSES:
            counts[LATE] += n
    return counts


def reassign_candidates(*, item: Request, actor: User) -> QuerySet[Membership]:
    """Whom ``actor`` may hand ``item`` to: active employees who receive requests, without
    its current assignee and without the actor; with their department, so that two people
    of one name can be told apart (reassign_candidate_label). One query."""
    qs = memberships_holding(Perm.WORK).exclude(user_id=actor.pk)
    if item.assignee_id is not None:
        qs = qs.exclude(pk=item.assignee_id)
    return qs.select_related("user", "department").order_by("department__name_ar", "id")


def reassign_candidate_label(membership: Membership) -> str:
    """ "Ahmed Ali — Licensing · Clerk": name, then department and job title where known."""
    from django.utils.translation import gettext as _

    name = membership.user.display_name
    details = [
        part
        for part in (
            membership.department.name if membership.department_id else "",
            membership.title,
        )
        if part
    ]
    if not details:
        return name
    return _("%(name)s — %(details)s") % {"name": name, "details": " · ".join(details)}


@dataclass(frozen=True)
class ReassignedAway:
    """What a previous assignee is told of a request that left them: its reference and subject,
    to whom and when it went, and who holds it now (None: the same person)."""

    reference: str
    subject: str
    to: Membership | None
    at: datetime
    now_with: Membership | None


def reassigned_away(*, membership: Membership, request_id: int) -> ReassignedAway | None:
    """The latest reassignment that took request ``request_id`` from ``membership`` (its
    assignment history records whom each reassignment took it from), or None when they never
    held it. Only for a request they can no longer open: the caller asks workspace_request
    first. One query."""
    away = (
        Assignment.objects.filter(request_id=request_id, decision__from=membership.pk)
        .exclude(assignee=membership)
        .select_related(
            "request",
            "assignee__user",
            "assignee__department",
            "request__assignee__user",
            "request__assignee__department",
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if away is None:
        return None
    current = away.request.assignee
    return ReassignedAway(
        reference=away.request.reference,
        subject=away.request.subject,
        to=away.assignee,
        at=away.created_at,
        now_with=current if current is not None and current.pk != away.assignee_id else None,
    )


def workspace_request(*, membership: Membership, user: User, request_id: int) -> Request | None:
    return (
        workspace_requests(membership=membership, user=user)
        .select_related("transaction_type", "beneficiary", "assignee__user", "department")
        .filter(pk=request_id)
        .first()
    )


def active_types(*, agency: Agency | None = None) -> QuerySet[TransactionType]:
    return TransactionType.objects.filter(is_active=True).order_by("name_ar")


def comments_for_beneficiary(*, request_obj: Request) -> QuerySet[Comment]:
    return request_obj.comments.filter(visibility=Visibility.EXTERNAL)


__all__ = ["PRIORITY_RANK", "department_scope"]


def archive_search(
    *,
    reference: str = "",
    beneficiary: str = "",
    type_id: int | None = None,
    name: str = "",
    visibility: str = "",
):
    """Documents and attachments of the agency (R-21), per request, beneficiary and type."""
    qs = Attachment.objects.select_related(
        "request__transaction_type", "request__beneficiary", "uploaded_by"
    )
    if reference:
        qs = qs.filter(request__reference__icontains=reference)
    if beneficiary:
        qs = qs.filter(
            Q(request__beneficiary__email__icontains=beneficiary)
            | Q(request__beneficiary__first_name_ar__icontains=beneficiary)
            | Q(request__beneficiary__family_name_ar__icontains=beneficiary)
            | Q(request__beneficiary__first_name_en__icontains=beneficiary)
            | Q(request__beneficiary__family_name_en__icontains=beneficiary)
        )
    if type_id:
        qs = qs.filter(request__transaction_type_id=type_id)
    if name:
        qs = qs.filter(original_name__icontains=name)
    if visibility:
        qs = qs.filter(visibility=visibility)
    return qs.order_by("-created_at", "-id")


def my_documents(*, user: User, query: str = ""):
    """A beneficiary's documents across all agencies, from the public document index."""
    from requests_app.public.models import DocumentIndex

    qs = DocumentIndex.objects.filter(beneficiary=user).select_related("agency")
    if query:
        qs = qs.filter(
            Q(name__icontains=query)
            | Q(reference__icontains=query)
            | Q(type_name_ar__icontains=query)
            | Q(type_name_en__icontains=query)
        )
    return qs.order_by("-created_at", "-id")


def submission_expectation(*, item: Request) -> dict:
    """What the confirmation page promises (current agency schema): the service level's
    resolution target in working days of the agency's calendar (rounded up), and the date of
    the request's stored due date (which counts that target in the same calendar)."""
    import math

    from django.utils import timezone

    from requests_app.services.sla import agency_calendar, sla_targets

    calendar, _config = agency_calendar()
    _first, resolution_hours = sla_targets(item)
    hours_per_day = calendar.seconds_per_day / 3600
    return {
        "working_days": max(1, math.ceil(resolution_hours / hours_per_day)),
        "reply_by": timezone.localtime(item.due_at).date() if item.due_at else None,
    }


def working_day_hours() -> float:
    """The current agency's working-day length in hours (its SLA calendar; 8 without one):
    what "30 working days" of a 240-working-hour target is measured in. One query."""
    config = AgencyCalendar.objects.only("day_start", "day_end").first()
    if config is None:
        return float(DEFAULT_WORKING_DAY_HOURS)
    return day_length(config.day_start, config.day_end)


@dataclass(frozen=True)
class SlaClock:
    """Where a request stands against its resolution target, for the side panel of the
    workspace page: ``state`` is "late", "due" (running, ``due_at`` ahead), "paused" (waiting
    for the beneficiary or postponed: the clock does not run), "closed" or "" (no target)."""

    state: str
    due_at: datetime | None


def sla_clock(*, item: Request, now: datetime | None = None) -> SlaClock:
    """The request's resolution clock from the SLA state kept by services.sla (``is_late``,
    ``due_at``); a due date already passed counts as late before the sweep marks it."""
    from django.utils import timezone

    from requests_app.constants import PAUSED_STATUSES

    now = now or timezone.now()
    if not item.is_open:
        return SlaClock("closed", item.due_at)
    if item.due_at is None:
        return SlaClock("late" if item.is_late else "", None)
    if item.is_late:
        return SlaClock("late", item.due_at)
    if item.status in PAUSED_STATUSES:
        # the sweep moves the due date on by the paused time when the clock runs again
        return SlaClock("paused", item.due_at)
    return SlaClock("late" if item.due_at <= now else "due", item.due_at)
