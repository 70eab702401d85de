"""Models of meetings: attendance and the live room (R-31, R-32; see meetings.models).

``AttendanceEvent`` is the log of who came, left and came back (``Participant.presence`` is
kept current beside it); the rest is the live room: opinions, private notes, the secretary's
shared notes and the speakers' queue, each per agenda item (no item: the meeting in general)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from meetings.models import AgendaItem, Meeting, Participant

__all__ = ["AttendanceEvent", "Opinion", "PrivateNote", "SharedNote", "Speaker"]


class AttendanceKind(models.TextChoices):
    CHECK_IN = "check_in", _("Checked in")
    LEAVE = "leave", _("Left the meeting")
    MARKED_PRESENT = "marked_present", _("Marked present")
    MARKED_ABSENT = "marked_absent", _("Marked absent")
    MARKED_EXCUSED = "marked_excused", _("Marked excused")


class AttendanceMethod(models.TextChoices):
    REMOTE = "remote", _("From the meeting page")
    QR = "qr", _("QR code in the room")
    SECRETARY = "secretary", _("By the secretary")


class AttendanceEvent(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="attendance_events"
    )
    kind = models.CharField(max_length=20, choices=AttendanceKind.choices)
    method = models.CharField(max_length=20, choices=AttendanceMethod.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["meeting", "at", "id"]
        indexes = [models.Index(fields=["participant", "at"], name="attendance_participant_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_method_display()})"


class Opinion(models.Model):
    """An opinion posted in the room on one agenda item, seen by every participant."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="opinions")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.CASCADE, related_name="opinions"
    )
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("opinion"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]

    def __str__(self) -> str:
        return f"Opinion {self.pk}"


class PrivateNote(models.Model):
    """One participant's own note on one agenda item: shown to its author only, never
    published to the meeting's group."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="private_notes"
    )
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField(_("my note"), max_length=20000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "agenda_item"],
                condition=models.Q(agenda_item__isnull=False),
                name="meetings_privatenote_once",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(agenda_item__isnull=True),
                name="meetings_privatenote_general_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Private note {self.pk}"  # never its text (audit and logs read __str__)


class SharedNote(models.Model):
    """The secretary's notes on one agenda item (or the meeting in general), seen by all and
    read by the minutes."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="shared_notes")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField(_("shared notes"), max_length=50000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "agenda_item"],
                condition=models.Q(agenda_item__isnull=False),
                name="meetings_sharednote_once",
            ),
            models.UniqueConstraint(
                fields=["meeting"],
                condition=models.Q(agenda_item__isnull=True),
                name="meetings_sharednote_general_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Shared notes {self.pk}"


class SpeakerStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    SPEAKING = "speaking", _("Has the floor")
    DONE = "done", _("Spoke")
    WITHDRAWN = "withdrawn", _("Lowered the hand")


class Speaker(models.Model):
    """A raised hand in the speakers' queue; the chair gives the floor (one at a time)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="speakers")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=SpeakerStatus.choices, default=SpeakerStatus.WAITING
    )
    raised_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    planned_seconds = models.PositiveIntegerField(default=180)

    class Meta:
        ordering = ["meeting", "raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "participant"],
                condition=models.Q(status__in=["waiting", "speaking"]),
                name="meetings_speaker_one_hand",
            ),
            models.UniqueConstraint(
                fields=["meeting"],
                condition=models.Q(status="speaking"),
                name="meetings_speaker_one_floor",
            ),
        ]

    def __str__(self) -> str:
        return f"Speaker {self.pk} ({self.status})"
