"""The appointment reminder: one job per appointment, scheduled at its reminder time."""

from core.jobs import agency_task


# The name predates the appointments app (the calendar lived in the requests app): jobs queued
# before the move carry it, so it stays.
@agency_task(name="requests.appointment_remind", queue="notifications")
def appointment_remind(*, appointment_id: int) -> None:
    from django.db import connection

    from appointments.services import appointment_send_reminder
    from tenants.models import Agency

    appointment_send_reminder(
        agency=Agency.objects.get(schema_name=connection.schema_name), appointment_id=appointment_id
    )
