"""Service levels (R-18): targets per type and priority in working hours, counted in the
agency's working calendar with paused time left out; a periodic sweep warns, marks late and
escalates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from core.actions import require
from notifications.services import notification_send
from requests_app import policies
from requests_app.calendar import SUNDAY_TO_THURSDAY, WorkingCalendar, paused_working_seconds
from requests_app.constants import OPEN_STATUSES, Status, Visibility
from requests_app.models import AgencyCalendar, Holiday, Request, SlaPolicy, TimelineEvent
from requests_app.services.index import index_sync
from requests_app.services.pauses import pause_track
from tenants.models import Agency

HOUR = 3600


def agency_calendar() -> tuple[WorkingCalendar, AgencyCalendar]:
    """The current agency's calendar (defaults: Sunday–Thursday, 08:00–16:00)."""
    config = AgencyCalendar.objects.first() or AgencyCalendar(workdays=sorted(SUNDAY_TO_THURSDAY))
    calendar = WorkingCalendar(
        timezone=ZoneInfo(settings.TIME_ZONE),
        workdays=frozenset(config.workdays or SUNDAY_TO_THURSDAY),
        day_start=config.day_start
        if not isinstance(config.day_start, str)
        else datetime.strptime(config.day_start, "%H:%M").time(),
        day_end=config.day_end
        if not isinstance(config.day_end, str)
        else datetime.strptime(config.day_end, "%H:%M").time(),
        holidays=frozenset(Holiday.objects.values_list("day", flat=True)),
    )
    return calendar, config


def reply_by_date(*, working_days: int, asked_on: date | None = None) -> date:
    """The date the beneficiary is asked to reply by: ``working_days`` working days of the
    agency's calendar (its working week and holidays; defaults without one) after the day
    of asking."""
    calendar, _config = agency_calendar()
    asked_on = asked_on or timezone.localdate(timezone=calendar.timezone)
    return calendar.add_working_days(asked_on, working_days)


def sla_targets(item: Request) -> tuple[int, int]:
    """(first response, resolution) in working hours for the request's type and priority."""
    policy = SlaPolicy.objects.filter(
        transaction_type_id=item.transaction_type_id, priority=item.priority
    ).first()
    if policy is not None:
        return policy.first_response_hours, policy.resolution_hours
    resolution = item.transaction_type.expected_duration_hours
    return max(1, resolution // 4), resolution


def sla_due_dates(item: Request, calendar: WorkingCalendar) -> tuple[datetime, datetime]:
    """Due dates if the clock never pauses (pauses push the real deadline later)."""
    first_hours, resolution_hours = sla_targets(item)
    start = item.created_at or timezone.now()
    return (
        calendar.add_working_seconds(start, first_hours * HOUR),
        calendar.add_working_seconds(start, resolution_hours * HOUR),
    )


def working_elapsed(item: Request, calendar: WorkingCalendar, now: datetime) -> float:
    """Working seconds the request has been open, minus paused time."""
    elapsed = calendar.working_seconds_between(item.created_at, now)
    pauses = item.pauses.values_list("started_at", "ended_at")
    return elapsed - paused_working_seconds(calendar, pauses, now)


def _notify(agency: Agency, recipient, event: str, item: Request, key: str) -> None:
    notification_send(
        recipient=recipient,
        event=event,
        agency=agency,
        context={"reference": item.reference, "subject": item.subject},
        link=f"/a/{agency.slug}/requests/{item.pk}/",
        idempotency_key=f"{event}:{agency.pk}:{item.pk}:{key}",
    )


def due_dates_refresh(**filters) -> int:
    """Store again the due dates of the current agency's open requests (``filters`` narrow
    them, e.g. to one type and priority) after a change of service level or calendar, in the
    request and its public index row: the sweep's prefilter and the queue read them. Returns
    how many changed."""
    from django.db import connection

    from requests_app.public.models import RequestIndex

    calendar, _config = agency_calendar()
    items = list(
        Request.objects.filter(status__in=OPEN_STATUSES, **filters).select_related(
            "transaction_type"
        )
    )
    changed = []
    for item in items:
        dates = sla_due_dates(item, calendar)
        if dates != (item.first_response_due_at, item.due_at):
            item.first_response_due_at, item.due_at = dates
            changed.append(item)
    if changed:
        Request.objects.bulk_update(changed, ["first_response_due_at", "due_at"])
        agency = Agency.objects.get(schema_name=connection.schema_name)
        due = {item.pk: item.due_at for item in changed}
        rows = list(RequestIndex.objects.filter(agency=agency, request_id__in=due))
        for row in rows:
            row.due_at = due[row.request_id]
        RequestIndex.objects.bulk_update(rows, ["due_at"])
    return len(changed)


def sla_candidates(*, now: datetime, calendar: WorkingCalendar, config: AgencyCalendar):
    """The open requests a sweep at ``now`` may have to act on, from the stored due dates: a
    postponement that ended, a late request not yet escalated, or a target (first response
    while unanswered, resolution) that falls before the warning horizon. Stored due dates
    assume no pause and pauses only push the real deadline later, so a request left out has
    more than ``warn_before_hours`` of working time left and nothing to do. (They are written
    at submission: a later change of the service level or the calendar moves the sweep's
    targets: ``due_dates_refresh`` stores them again.) Requests without stored dates are always
    looked at."""
    horizon = max(now, calendar.add_working_seconds(now, config.warn_before_hours * HOUR))
    return Request.objects.filter(status__in=OPEN_STATUSES).filter(
        Q(status=Status.POSTPONED, postponed_until__lte=now)
        | Q(is_late=True, escalated_at__isnull=True)
        | Q(is_late=False, due_at__lte=horizon)
        | Q(is_late=False, first_response_at__isnull=True, first_response_due_at__lte=horizon)
        | Q(due_at__isnull=True)
    )


def sla_sweep(*, agency: Agency, now: datetime | None = None) -> dict[str, int]:
    """One pass over the agency's open requests (run in its schema): resume postponements
    whose date came, warn assignees before a target is missed, mark late, escalate."""
    from requests_app.services.approvals import supervisors_for

    now = now or timezone.now()
    calendar, config = agency_calendar()
    counts = {"resumed": 0, "warned": 0, "late": 0, "escalated": 0}
    open_ids = list(
        sla_candidates(now=now, calendar=calendar, config=config).values_list("id", flat=True)
    )
    for request_id in open_ids:
        with transaction.atomic():
            item = (
                Request.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("transaction_type", "assignee__user")
                .filter(pk=request_id, status__in=OPEN_STATUSES)
                .first()
            )
            if item is None:
                continue
            changed = False
            if (
                item.status == Status.POSTPONED
                and item.postponed_until
                and item.postponed_until <= now
            ):
                # The postponement ended on its date, not when this sweep noticed: the time
                # since counts again.
                resumed_at = item.postponed_until
                item.status = Status.IN_PROGRESS
                item.postponed_until = None
                pause_track(item=item, old_status=Status.POSTPONED, now=resumed_at)
                TimelineEvent.objects.create(
                    request=item, kind=TimelineEvent.RESUMED, visibility=Visibility.EXTERNAL
                )
                counts["resumed"] += 1
                changed = True
            first_hours, resolution_hours = sla_targets(item)
            elapsed = working_elapsed(item, calendar, now)
            targets = [resolution_hours * HOUR]
            if item.first_response_at is None:
                targets.append(first_hours * HOUR)
            remaining = min(targets) - elapsed
            if not item.is_late and remaining <= 0:
                item.is_late = True
                item.late_at = now
                TimelineEvent.objects.create(
                    request=item,
                    kind=TimelineEvent.LATE,
                    visibility=Visibility.INTERNAL,
                    data={"elapsed_hours": round(elapsed / HOUR, 2)},
                )
                audit.agency_record(action="request.late", obj=item)
                if item.assignee_id:
                    _notify(agency, item.assignee.user, "request.late", item, "late")
                counts["late"] += 1
                changed = True
            elif (
                not item.is_late
                and item.warned_at is None
                and remaining <= config.warn_before_hours * HOUR
                and item.status not in (Status.AWAITING_BENEFICIARY, Status.POSTPONED)
            ):
                item.warned_at = now
                if item.assignee_id:
                    _notify(agency, item.assignee.user, "request.sla_warning", item, "warn")
                counts["warned"] += 1
                changed = True
            # Late for long enough: counted from when this sweep found it late, or from the
            # target itself when a sweep comes long after it (a stopped worker, a backlog).
            overdue = max(-remaining, 0)
            if item.late_at:
                overdue = max(overdue, calendar.working_seconds_between(item.late_at, now))
            if (
                item.is_late
                and item.escalated_at is None
                and item.late_at
                and overdue >= config.escalate_after_hours * HOUR
            ):
                item.escalated_at = now
                TimelineEvent.objects.create(
                    request=item, kind=TimelineEvent.ESCALATED, visibility=Visibility.INTERNAL
                )
                audit.agency_record(action="request.escalate", obj=item)
                for supervisor in supervisors_for(item):
                    _notify(
                        agency,
                        supervisor.user,
                        "request.escalated",
                        item,
                        f"escalated:{supervisor.pk}",
                    )
                counts["escalated"] += 1
                changed = True
            if changed:
                item.save()
                index_sync(agency=agency, request=item)
    return counts


def sla_policy_save(
    *,
    actor,
    transaction_type,
    priority: str,
    first_response_hours: int,
    resolution_hours: int,
) -> SlaPolicy:
    require(policies.manages_sla(actor))
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if first_response_hours > resolution_hours:
        raise ValidationError(
            {"first_response_hours": _("The first response cannot come after the resolution.")}
        )
    with transaction.atomic():
        policy, _created = SlaPolicy.objects.update_or_create(
            transaction_type=transaction_type,
            priority=priority,
            defaults={
                "first_response_hours": first_response_hours,
                "resolution_hours": resolution_hours,
            },
        )
        due_dates_refresh(transaction_type=transaction_type, priority=priority)
        audit.agency_record(
            actor=actor,
            action="sla.policy",
            obj=policy,
            after={
                "first": first_response_hours,
                "resolution": resolution_hours,
                "priority": priority,
            },
        )
    return policy


def calendar_save(
    *,
    actor,
    workdays: list[int],
    day_start,
    day_end,
    warn_before_hours: int,
    escalate_after_hours: int,
) -> AgencyCalendar:
    require(policies.manages_sla(actor))
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if not workdays:
        raise ValidationError({"workdays": _("Choose at least one working day.")})
    if day_end <= day_start:
        raise ValidationError({"day_end": _("The working day must end after it starts.")})
    with transaction.atomic():
        config = AgencyCalendar.objects.select_for_update().first() or AgencyCalendar()
        config.workdays = sorted(set(workdays))
        config.day_start, config.day_end = day_start, day_end
        config.warn_before_hours = warn_before_hours
        config.escalate_after_hours = escalate_after_hours
        config.save()
        due_dates_refresh()
        audit.agency_record(
            actor=actor,
            action="sla.calendar",
            obj=config,
            after={"workdays": config.workdays, "start": str(day_start), "end": str(day_end)},
        )
    return config


def holiday_add(*, actor, day, name: str) -> Holiday:
    require(policies.manages_sla(actor))
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    with transaction.atomic():
        if Holiday.objects.filter(day=day).exists():
            raise ValidationError({"day": _("This day is already a holiday.")})
        holiday = Holiday.objects.create(day=day, name=name.strip())
        audit.agency_record(
            actor=actor,
            action="sla.holiday",
            obj=holiday,
            after={"day": str(day), "name": holiday.name},
        )
    return holiday
