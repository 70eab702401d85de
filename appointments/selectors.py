"""Reads of the calendar page."""

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import Appointment
from tenants.staff.models import Membership

# Entries stay on the page for a day after they end.
SHOWN_AFTER_END = timedelta(days=1)
PAGE_SIZE = 100


def upcoming_appointments(
    *, membership: Membership, now: datetime | None = None
) -> QuerySet[Appointment]:
    """The employee's own entries that ended less than a day ago or are still to come, by
    start (index appt_member_ends)."""
    now = now or timezone.now()
    return Appointment.objects.filter(
        membership=membership, ends_at__gte=now - SHOWN_AFTER_END
    ).order_by("starts_at", "id")[:PAGE_SIZE]


def appointment_of(*, membership: Membership, appointment_id: int | None) -> Appointment | None:
    """One entry of the employee's own calendar (None for anyone else's: they are not told it
    exists)."""
    if appointment_id is None:
        return None
    return Appointment.objects.filter(pk=appointment_id, membership=membership).first()
