"""Employees' calendars (R-20): appointments, optionally about something of a module, with a
reminder delivered through the notifications layer at the chosen time before the start.

``entry_add`` is how other modules put an entry in an employee's calendar; the
``appointment_*`` use cases are the employee's own, on their own calendar only."""

import re
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from procrastinate.contrib.django import app

from accounts.models import User
from appointments import policies
from appointments.models import Appointment
from appointments.sources import EntryLink
from core import audit
from notifications.services import notification_send
from tenants.models import Agency
from tenants.staff.models import Membership
from tenants.urls_helpers import workspace_reverse

MAX_REMIND_MINUTES = 7 * 24 * 60


EARLIEST = timedelta(days=366)
LATEST = timedelta(days=5 * 366)
# A path of this site: one leading slash, then only URL-safe characters (no control characters
# or backslashes that a browser would turn into "//other.site").
SITE_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9/_\-.~%?=&+:@]*$")


def _checked_title(*, title: str, starts_at: datetime, ends_at: datetime, remind: int) -> str:
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = [_("Give the appointment a title.")]
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = [_("The appointment must end after it starts.")]
    # Within a sensible window: a date in year 1 or 9999 would overflow the reminder's time.
    now = timezone.now()
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and not (now - EARLIEST <= value <= now + LATEST):
            errors.setdefault(name, []).append(
                _("Choose a date within a year before and five years after today.")
            )
    if remind < 0 or remind > MAX_REMIND_MINUTES:
        errors["remind_minutes_before"] = [_("Choose a reminder within a week.")]
    if errors:
        raise ValidationError(errors)
    return title


def _reminder_schedule(appointment: Appointment) -> None:
    """Defer the reminder job at its time (now if that has passed), in the caller's
    transaction, and remember it so that an edit can cancel it."""
    from appointments.tasks import appointment_remind

    remind_at = max(appointment.remind_at, timezone.now())
    appointment.reminder_job_id = appointment_remind.configure(schedule_at=remind_at).defer(
        schema_name=connection.schema_name, appointment_id=appointment.pk
    )
    appointment.save(update_fields=["reminder_job_id"])


def _may_manage(actor: Membership, appointment: Appointment) -> None:
    if not policies.can_manage(actor, appointment):
        raise PermissionDenied(_("This appointment is not yours."))


def entry_add(
    *,
    membership: Membership,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    source: str = "",
    source_id: int | None = None,
    source_label: str = "",
    link: str = "",
    remind_minutes_before: int = 30,
    notes: str = "",
    actor: User | None = None,
) -> Appointment:
    """Put an entry in an employee's calendar and schedule its reminder: what other modules
    call (a meeting's invitee, a finance deadline), naming what it is about by ``source``
    ("meetings.meeting"), ``source_id``, ``source_label`` and ``link`` (a workspace path).

    The calling module's own service has decided that the entry belongs there; this runs in
    its transaction. ``actor`` (who caused it, if anyone) goes to the audit trail."""
    title = _checked_title(
        title=title, starts_at=starts_at, ends_at=ends_at, remind=remind_minutes_before
    )
    if link and not SITE_PATH.match(link):
        raise ValueError("an entry's link is a path of this site")
    if source_id is not None and not source:
        raise ValueError("an entry's source_id needs its source")
    with transaction.atomic():
        appointment = Appointment.objects.create(
            membership=membership,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            remind_minutes_before=remind_minutes_before,
            notes=notes,
            source=source,
            source_id=source_id,
            source_label=source_label[:200],
            link=link,
        )
        after = {"starts_at": starts_at.isoformat()}
        if source:
            after |= {"source": source, "source_id": source_id}
        audit.agency_record(
            actor=actor,
            action="calendar.create",
            obj=appointment,
            after=after,
        )
        _reminder_schedule(appointment)
    return appointment


def entries_update(
    *,
    source: str,
    source_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    actor: User | None = None,
) -> int:
    """Move every calendar entry a module put there about one object (e.g. a meeting whose
    time changed): new title and times, and their reminders rescheduled. Returns how many."""
    if not source:
        raise ValueError("entries_update needs a source")
    title = _checked_title(title=title, starts_at=starts_at, ends_at=ends_at, remind=0)
    count = 0
    with transaction.atomic():
        for appointment in Appointment.objects.select_for_update().filter(
            source=source, source_id=source_id
        ):
            before = {
                "starts_at": appointment.starts_at.isoformat(),
                "ends_at": appointment.ends_at.isoformat(),
            }
            moved = appointment.starts_at != starts_at
            appointment.title, appointment.starts_at, appointment.ends_at = (
                title,
                starts_at,
                ends_at,
            )
            appointment.save(update_fields=["title", "starts_at", "ends_at"])
            audit.agency_record(
                actor=actor,
                action="calendar.edit",
                obj=appointment,
                before=before,
                after={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            )
            if moved:
                if appointment.reminder_job_id is not None:
                    app.job_manager.cancel_job_by_id(appointment.reminder_job_id)
                appointment.reminded_at = None
                appointment.save(update_fields=["reminded_at"])
                _reminder_schedule(appointment)
            count += 1
    return count


def entries_remove(
    *,
    source: str,
    source_id: int,
    membership: Membership | None = None,
    actor: User | None = None,
) -> int:
    """Remove the calendar entries a module put there about one object (every employee's, or
    only ``membership``'s): e.g. a cancelled meeting. Their pending reminders are cancelled.
    Returns how many."""
    if not source:
        raise ValueError("entries_remove needs a source")
    rows = Appointment.objects.filter(source=source, source_id=source_id)
    if membership is not None:
        rows = rows.filter(membership=membership)
    count = 0
    with transaction.atomic():
        for appointment in rows.select_for_update():
            if appointment.reminder_job_id is not None:
                app.job_manager.cancel_job_by_id(appointment.reminder_job_id)
            audit.agency_record(actor=actor, action="calendar.delete", obj=appointment)
            appointment.delete()
            count += 1
    return count


def appointment_add(
    *,
    actor: Membership,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    remind_minutes_before: int = 30,
    about: EntryLink | None = None,
    notes: str = "",
) -> Appointment:
    """An employee adds an appointment to their own calendar, optionally about something a
    registered source found for them (appointments.sources)."""
    if not actor.is_active:
        raise PermissionDenied(_("You are not an employee of this agency."))
    link = about or EntryLink(source="", source_id=None, source_label="", link="")
    return entry_add(
        membership=actor,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        source=link.source,
        source_id=link.source_id,
        source_label=link.source_label,
        link=link.link,
        remind_minutes_before=remind_minutes_before,
        notes=notes,
        actor=actor.user,
    )


def appointment_edit(
    *,
    actor: Membership,
    appointment: Appointment,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    remind_minutes_before: int,
    notes: str = "",
) -> Appointment:
    """The employee changes an appointment of their own calendar (what it is about stays).
    When the start or the reminder's lead changes, the pending reminder job is cancelled and
    a new one deferred; a reminder already sent is sent again for the new time."""
    _may_manage(actor, appointment)
    title = _checked_title(
        title=title, starts_at=starts_at, ends_at=ends_at, remind=remind_minutes_before
    )
    with transaction.atomic():
        # Locked: a reminder job running now waits, then reads the new values.
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        before = {
            "title": appointment.title,
            "starts_at": appointment.starts_at.isoformat(),
            "ends_at": appointment.ends_at.isoformat(),
            "remind_minutes_before": appointment.remind_minutes_before,
        }
        moved = (
            starts_at != appointment.starts_at
            or remind_minutes_before != appointment.remind_minutes_before
        )
        appointment.title = title
        appointment.starts_at = starts_at
        appointment.ends_at = ends_at
        appointment.remind_minutes_before = remind_minutes_before
        appointment.notes = notes
        appointment.save()
        audit.agency_record(
            actor=actor.user,
            action="calendar.edit",
            obj=appointment,
            before=before,
            after={
                "title": title,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "remind_minutes_before": remind_minutes_before,
            },
        )
        if moved:
            if appointment.reminder_job_id is not None:
                # Only a job still waiting is cancelled; one running now finds the row locked.
                app.job_manager.cancel_job_by_id(appointment.reminder_job_id)
            appointment.reminded_at = None
            appointment.save(update_fields=["reminded_at"])
            _reminder_schedule(appointment)
    return appointment


def appointment_delete(*, actor: Membership, appointment: Appointment) -> None:
    """The employee deletes an appointment of their own calendar (its reminder job, when it
    runs, finds nothing to send)."""
    _may_manage(actor, appointment)
    with transaction.atomic():
        audit.agency_record(actor=actor.user, action="calendar.delete", obj=appointment)
        appointment.delete()


def appointment_send_reminder(*, agency: Agency, appointment_id: int) -> bool:
    """Send the reminder once (a deleted or already reminded appointment sends nothing)."""
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update()
            .select_related("membership__user")
            .filter(pk=appointment_id, reminded_at__isnull=True)
            .first()
        )
        if appointment is None:
            return False
        appointment.reminded_at = timezone.now()
        appointment.save(update_fields=["reminded_at"])
        notification_send(
            recipient=appointment.membership.user,
            event="calendar.reminder",
            agency=agency,
            context={
                "title": appointment.title,
                "starts_at": timezone.localtime(appointment.starts_at),
                "notes": appointment.notes,
            },
            link=workspace_reverse(agency, "workspace:calendar"),
            # One reminder per appointment and reminder time: an edit that moves it reminds again.
            idempotency_key=f"calendar.reminder:{agency.pk}:{appointment.pk}:"
            f"{int(appointment.remind_at.timestamp())}",
        )
    return True
