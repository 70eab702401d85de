from datetime import datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.staff.models import Membership


class Appointment(models.Model):
    """An entry in an employee's calendar (R-20), optionally about something of a module.

    What it is about is named without a foreign key, so that any module can add entries and the
    appointments imports none of them: ``source`` is the module's code of the kind of object
    ("requests.request", "meetings.meeting"), ``source_id`` its id, ``source_label`` what the
    calendar shows of it (a request's reference) and ``link`` the workspace path that opens it
    (the object's own page checks who may see it)."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="appointments"
    )
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    remind_minutes_before = models.PositiveIntegerField(_("remind me (minutes before)"), default=30)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # The pending reminder job, cancelled when an edit moves the reminder.
    reminder_job_id = models.BigIntegerField(null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    link = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointments_appointment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(source_id__isnull=True) | ~models.Q(source=""),
                name="appointments_appointment_source_id_has_source",
            ),
        ]
        indexes = [
            # "My upcoming entries": one employee's entries not ended yet, by time.
            models.Index(fields=["membership", "ends_at"], name="appt_member_ends"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def remind_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.remind_minutes_before)
