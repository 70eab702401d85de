"""Models of meetings: minutes and the decisions register (R-34; see meetings.models).

Minutes are kept as versions: every save by the secretary (and the system's draft) adds a
``MinutesVersion``; nothing is overwritten. A version's ``body`` is plain text whose sections
are marked by lines starting with "## " (one per agenda item, drafted by the system); its
``record`` is the snapshot of the attendance list and the polls' results taken when the
minutes were drafted (the PDF prints them as tables). The chair approves one version: from then
on that version, and the minutes, are locked (a database trigger refuses UPDATE and DELETE of
an approved version; migration 0003_minutes)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from meetings.models import AgendaItem, Meeting, Participant
from tenants.staff.models import Membership

__all__ = [
    "MinutesStatus",
    "Minutes",
    "MinutesVersion",
    "MinutesRemark",
    "DecisionStatus",
    "Decision",
    "DecisionNote",
]


class MinutesStatus(models.TextChoices):
    DRAFT = "draft", _("Being written")
    CIRCULATED = "circulated", _("Circulated for remarks")
    APPROVED = "approved", _("Approved")


class Minutes(models.Model):
    meeting = models.OneToOneField(Meeting, on_delete=models.PROTECT, related_name="minutes")
    status = models.CharField(
        _("status"), max_length=20, choices=MinutesStatus.choices, default=MinutesStatus.DRAFT
    )
    # The language the system drafted the text in ("ar" or "en").
    language = models.CharField(_("language"), max_length=8, default="ar")
    circulated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self) -> str:
        return str(self.meeting)

    @property
    def is_locked(self) -> bool:
        return self.status == MinutesStatus.APPROVED


class MinutesVersion(models.Model):
    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text of the minutes"))
    record = models.JSONField(default=dict)
    is_draft_by_system = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["minutes", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["minutes", "number"], name="meetings_minutes_version"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} v{self.number}"


class MinutesRemark(models.Model):
    """A member's remark on one circulated version (seen by its author, the secretary and the
    chair)."""

    version = models.ForeignKey(MinutesVersion, on_delete=models.PROTECT, related_name="remarks")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("remark"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class DecisionStatus(models.TextChoices):
    OPEN = "open", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_DECISION_STATUSES = (DecisionStatus.OPEN, DecisionStatus.IN_PROGRESS)


class Decision(models.Model):
    """A decision of a meeting (optionally of one agenda item), followed up by its owner, an
    employee of the agency, until its due date. Late = still open after the due date."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("meeting")
    )
    agenda_item = models.ForeignKey(
        AgendaItem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
        verbose_name=_("agenda item"),
    )
    text = models.TextField(_("decision"))
    owner = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The pending reminder jobs (procrastinate ids), cancelled when the due date changes.
    reminder_job_id = models.BigIntegerField(null=True, blank=True)
    late_job_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in DecisionStatus]),
                name="meetings_decision_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="decision_status_due"),
            models.Index(fields=["owner", "status"], name="decision_owner"),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DECISION_STATUSES

    def is_late_on(self, today) -> bool:
        return self.is_open and self.due_date < today


class DecisionNote(models.Model):
    """The follow-up history of a decision: a note, and the status change it made, if any."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("note"), blank=True)
    status_from = models.CharField(max_length=20, blank=True)
    status_to = models.CharField(max_length=20, blank=True)
    due_from = models.DateField(null=True, blank=True)
    due_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decision", "created_at", "id"]

    def __str__(self) -> str:
        return self.text[:80] or self.status_to
