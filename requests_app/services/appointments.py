"""Employees' calendars (R-20): appointments, optionally about a request, with a reminder
delivered through the notifications layer at the chosen time before the start."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from notifications.services import notification_send
from requests_app.models import Appointment, Request
from tenants.models import Agency
from tenants.staff.models import Membership


def appointment_create(
    *,
    agency: Agency,
    membership: Membership,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    remind_minutes_before: int = 30,
    request_obj: Request | None = None,
    notes: str = "",
) -> Appointment:
    """Add an appointment and schedule its reminder job (in the same transaction)."""
    from requests_app.tasks import appointment_remind

    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = [_("Give the appointment a title.")]
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = [_("The appointment must end after it starts.")]
    if remind_minutes_before < 0 or remind_minutes_before > 7 * 24 * 60:
        errors["remind_minutes_before"] = [_("Choose a reminder within a week.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        appointment = Appointment.objects.create(
            membership=membership,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            remind_minutes_before=remind_minutes_before,
            request=request_obj,
            notes=notes,
        )
        audit.agency_record(
            actor=membership.user,
            action="calendar.create",
            obj=appointment,
            after={"starts_at": starts_at.isoformat()},
        )
        remind_at = max(starts_at - timedelta(minutes=remind_minutes_before), timezone.now())
        appointment_remind.configure(schedule_at=remind_at).defer(
            schema_name=connection.schema_name, appointment_id=appointment.pk
        )
    return appointment


def appointment_delete(*, membership: Membership, appointment: Appointment) -> None:
    if appointment.membership_id != membership.pk:
        raise ValidationError(_("This appointment is not yours."))
    with transaction.atomic():
        audit.agency_record(actor=membership.user, action="calendar.delete", obj=appointment)
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
            link=f"/a/{agency.slug}/calendar/",
            idempotency_key=f"calendar.reminder:{agency.pk}:{appointment.pk}",
        )
    return True
