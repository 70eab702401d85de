"""Who may do what to calendar entries: an active employee, to the entries of their own
calendar only (a supervisor or an admin does not manage anyone else's)."""

from appointments.models import Appointment
from tenants.staff.models import Membership


def can_manage(actor: Membership, appointment: Appointment) -> bool:
    return actor.is_active and appointment.membership_id == actor.pk
