"""Agency-schema models of requests: catalogue types, distribution, requests and their history."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.files.models import PrivateFile
from core.files.storage import private_key, select_private_storage
from requests_app.constants import Category, Chooser, Priority, Status, Visibility
from requests_app.survey import SurveyKind
from tenants.staff.models import BilingualName, Department, Membership


class DistributionRule(BilingualName):
    """How new requests reach an employee: filters, then one chooser (R-10)."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="distribution_rules",
        help_text=_("Rule used for the department's types that have no rule of their own."),
    )
    restrict_to_department = models.BooleanField(
        _("only employees of the type's department"), default=True
    )
    required_skills = ArrayField(
        models.CharField(max_length=50), default=list, blank=True, verbose_name=_("required skills")
    )
    respect_availability = models.BooleanField(
        _("skip employees on leave, out of office or outside working hours"), default=True
    )
    max_open = models.PositiveIntegerField(
        _("cap of open requests per employee"), null=True, blank=True
    )
    chooser = models.CharField(
        _("chooser"), max_length=20, choices=Chooser.choices, default=Chooser.ROUND_ROBIN
    )


class TransactionType(BilingualName):
    """A service an agency offers in its catalogue (R-3, R-9)."""

    description_ar = models.TextField(_("description in Arabic"), blank=True)
    description_en = models.TextField(_("description in English"), blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.TRANSACTION
    )
    required_documents_ar = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        verbose_name=_("required documents (Arabic)"),
    )
    required_documents_en = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        verbose_name=_("required documents (English)"),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="types",
    )
    expected_duration_hours = models.PositiveIntegerField(
        _("expected duration (hours)"), default=72
    )
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    distribution_rule = models.ForeignKey(
        DistributionRule,
        verbose_name=_("distribution rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="types",
    )
    is_active = models.BooleanField(_("active"), default=True)

    @property
    def description(self) -> str:
        from django.utils.translation import get_language

        return self.description_en if get_language() == "en" else self.description_ar


class EmployeeProfile(models.Model):
    """What distribution needs to know about an employee."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="profile")
    skills = ArrayField(
        models.CharField(max_length=50), default=list, blank=True, verbose_name=_("skills")
    )
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    max_open = models.PositiveIntegerField(_("own cap of open requests"), null=True, blank=True)
    is_out_of_office = models.BooleanField(_("out of office"), default=False)
    # {"0": [["08:00", "16:00"]], ...}: weekday (Monday=0) -> working ranges; empty: any time.
    work_schedule = models.JSONField(_("work schedule"), default=dict, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_total = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"profile:{self.membership_id}"


class Leave(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="leaves")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="leave_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"leave:{self.membership_id}:{self.starts_on}"


class Request(models.Model):
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    transaction_type = models.ForeignKey(
        TransactionType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="requests"
    )
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.NEW
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    assignee = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_requests",
    )
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    postponed_until = models.DateTimeField(_("postponed until"), null=True, blank=True)
    # SLA state, maintained by requests_app.services.sla.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    is_late = models.BooleanField(_("late"), default=False)
    late_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # How many times a closed or rejected request was opened again (statistics count it).
    reopened_count = models.PositiveSmallIntegerField(default=0)
    # The agency's open question while awaiting the beneficiary (the text of the ask, also a
    # comment of the timeline) and the date the reply is expected by, in working days of the
    # agency's calendar. Set by the ask, cleared when the beneficiary answers or an employee
    # moves the request on; shown only while the status is awaiting the beneficiary.
    awaiting_question = models.TextField(blank=True)
    reply_by = models.DateField(_("reply by"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["assignee", "status", "-created_at"], name="request_queue_idx"),
            models.Index(fields=["department", "status"], name="request_department_idx"),
            models.Index(fields=["beneficiary", "-created_at"], name="request_beneficiary_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        from requests_app.constants import OPEN_STATUSES

        return self.status in OPEN_STATUSES

    @property
    def is_awaiting_reply(self) -> bool:
        return self.status == Status.AWAITING_BENEFICIARY

    @property
    def is_reply_late(self) -> bool:
        """The reply-by date has passed and the beneficiary has not answered yet (nothing
        happens by itself: the employee sees it and decides)."""
        return (
            self.is_awaiting_reply
            and self.reply_by is not None
            and self.reply_by < timezone.localdate()
        )


class Assignment(models.Model):
    """Every assignment with the engine's explanation (who was considered and why)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="assignments")
    assignee = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"assignment:{self.request_id}:{self.assignee_id}"


class Comment(models.Model):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment:{self.pk}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return private_key("requests", instance.request_id)


class Attachment(PrivateFile):
    """A file of a request (or of one of its comments); the file fields and their checks are
    core.files'."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    file = models.FileField(
        storage=select_private_storage, upload_to=attachment_path, max_length=300
    )
    is_voice = models.BooleanField(default=False)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta(PrivateFile.Meta):
        pass


class PendingUpload(PrivateFile):
    """A file a person chose on a form that is not sent yet ("files uploaded first"): checked
    and stored in the agency's private storage as soon as the form is posted, whatever else
    the form lacks, listed on the form with "remove", and taken by the request (or comment)
    the form finally creates: its stored file becomes the attachment's, without a copy. The
    owner alone may list, remove or use it; a periodic job deletes those left unused
    (requests_app.services.uploads.PENDING_UPLOAD_TTL)."""

    class Meta(PrivateFile.Meta):
        indexes = [models.Index(fields=["uploaded_by", "created_at"], name="pending_owner_idx")]


class TimelineEvent(models.Model):
    """Each step of a request. External events are what the beneficiary's timeline shows."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    COMMENTED = "commented"
    ATTACHED = "attached"
    INFO_REQUESTED = "info_requested"
    INFO_PROVIDED = "info_provided"
    STARTED = "started"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    REOPENED = "reopened"
    REASSIGNED = "reassigned"
    POSTPONED = "postponed"
    POSTPONE_REASON = "postpone_reason"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_DECIDED = "approval_decided"
    RESUMED = "resumed"
    LATE = "late"
    ESCALATED = "escalated"
    # The declared set: a transition (core.transitions) may only write one of these.
    KINDS = frozenset(
        {
            SUBMITTED,
            ASSIGNED,
            UNASSIGNED,
            COMMENTED,
            ATTACHED,
            INFO_REQUESTED,
            INFO_PROVIDED,
            STARTED,
            RESOLVED,
            REJECTED,
            REOPENED,
            REASSIGNED,
            POSTPONED,
            POSTPONE_REASON,
            APPROVAL_REQUESTED,
            APPROVAL_DECIDED,
            RESUMED,
            LATE,
            ESCALATED,
        }
    )

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=30)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["request", "visibility", "created_at"], name="timeline_request_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.request_id}"


class StatusPause(models.Model):
    """A period in which the SLA clock stood still (awaiting the beneficiary, postponed)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="pauses")
    status = models.CharField(max_length=24)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_pause_per_request",
            )
        ]

    def __str__(self) -> str:
        return f"pause:{self.request_id}:{self.status}"


class ApprovalRequest(models.Model):
    """A reassignment or postponement asked for by someone without the permission (R-13)."""

    REASSIGN = "reassign"
    POSTPONE = "postpone"
    KINDS = [(REASSIGN, _("Reassignment")), (POSTPONE, _("Postponement"))]
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    STATUSES = [(PENDING, _("Pending")), (APPROVED, _("Approved")), (REFUSED, _("Refused"))]

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(_("kind"), max_length=10, choices=KINDS)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    new_assignee = models.ForeignKey(
        Membership,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("new assignee"),
    )
    postpone_until = models.DateTimeField(_("postpone until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=STATUSES, default=PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.request_id}:{self.status}"


class SlaPolicy(models.Model):
    """First-response and resolution targets of a type at one priority, in working hours."""

    transaction_type = models.ForeignKey(
        TransactionType, on_delete=models.CASCADE, related_name="sla_policies"
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_hours = models.PositiveIntegerField(_("first response (working hours)"))
    resolution_hours = models.PositiveIntegerField(_("resolution (working hours)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["transaction_type", "priority"], name="one_sla_per_type_priority"
            )
        ]

    def __str__(self) -> str:
        return f"sla:{self.transaction_type_id}:{self.priority}"


class AgencyCalendar(models.Model):
    """The agency's working week and hours, and its warning/escalation delays (one row)."""

    workdays = ArrayField(
        models.PositiveSmallIntegerField(),
        default=list,
        verbose_name=_("working days (Monday=0 … Sunday=6)"),
    )
    day_start = models.TimeField(_("working day starts"), default="08:00")
    day_end = models.TimeField(_("working day ends"), default="16:00")
    warn_before_hours = models.PositiveIntegerField(
        _("warn the assignee before (hours)"), default=2
    )
    escalate_after_hours = models.PositiveIntegerField(
        _("escalate to the supervisor after being late (working hours)"), default=4
    )

    def __str__(self) -> str:
        return "calendar"


class Holiday(models.Model):
    day = models.DateField(_("day"), unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class SurveySettings(models.Model):
    """Which satisfaction form the agency's beneficiaries answer (one row; none = the short
    form). Chosen on the employee evaluation settings page."""

    form = models.CharField(
        _("satisfaction survey form"),
        max_length=10,
        choices=SurveyKind.choices,
        default=SurveyKind.SHORT,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(form__in=SurveyKind.values), name="surveysettings_form_known"
            ),
        ]

    def __str__(self) -> str:
        return f"survey-settings:{self.form}"


def _rating(name: str) -> models.Q:
    return models.Q(**{f"{name}__gte": 1, f"{name}__lte": 5})


class SurveyResponse(models.Model):
    """The beneficiary's satisfaction survey of a closed request (R-8): once per request.

    ``form`` says which form was answered. The short form fills ``overall`` (required) and
    optionally ``ease``, ``speed`` and ``suggestion``; ``answers`` stays empty. The extended form
    fills the eleven ``answers``; its first statement ("Overall, I am satisfied…") is also kept
    as ``overall``. ``score`` is what the satisfaction figures average: the overall rating of a
    short answer, the mean of the eleven answers of an extended one (as it always was)."""

    request = models.OneToOneField(Request, on_delete=models.CASCADE, related_name="survey")
    transaction_type = models.ForeignKey(
        TransactionType, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form = models.CharField(max_length=10, choices=SurveyKind.choices)
    overall = models.PositiveSmallIntegerField()
    ease = models.PositiveSmallIntegerField(null=True, blank=True)
    speed = models.PositiveSmallIntegerField(null=True, blank=True)
    answers = ArrayField(models.PositiveSmallIntegerField(), size=11, default=list, blank=True)
    score = models.FloatField()
    suggestion = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(form=SurveyKind.SHORT, answers__len=0)
                    | models.Q(
                        form=SurveyKind.EXTENDED,
                        answers__len=11,
                        ease__isnull=True,
                        speed__isnull=True,
                    )
                ),
                name="survey_answers_match_form",
            ),
            models.CheckConstraint(
                condition=(
                    _rating("overall")
                    & (models.Q(ease__isnull=True) | _rating("ease"))
                    & (models.Q(speed__isnull=True) | _rating("speed"))
                    & _rating("score")
                ),
                name="survey_ratings_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"survey:{self.request_id}"
