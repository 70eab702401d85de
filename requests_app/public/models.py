"""Public-schema mirrors written in the same transaction as the agency-side change, so the
portal ("My requests", the guidance catalogue, statistics) never visits agency schemas."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language

from requests_app.constants import OPEN_STATUSES, Category, Priority, Status


class CatalogueEntry(models.Model):
    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="catalogue")
    type_id = models.BigIntegerField()
    name_ar = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description_ar = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    required_documents_ar = ArrayField(models.CharField(max_length=200), default=list)
    required_documents_en = ArrayField(models.CharField(max_length=200), default=list)
    expected_duration_hours = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    # Normalised Arabic + English text (see requests_app.search.normalize) for searching.
    search_text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "type_id"], name="catalogue_type_unique")
        ]
        indexes = [
            GinIndex(
                name="catalogue_search_trgm", fields=["search_text"], opclasses=["gin_trgm_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" else self.name_ar

    @property
    def description(self) -> str:
        return self.description_en if get_language() == "en" else self.description_ar

    @property
    def required_documents(self) -> list[str]:
        return self.required_documents_en if get_language() == "en" else self.required_documents_ar


class RequestIndex(models.Model):
    """One row per request of every agency: what the beneficiary's inbox and the oversight
    statistics read. Holds metadata only, never comments or attachments, with one exception:
    while the request awaits the beneficiary, an excerpt of the agency's question to them and
    the reply-by date, which the beneficiary's home page lists ("waiting for you") without
    visiting agency schemas. Both are emptied as soon as the request stops waiting."""

    agency = models.ForeignKey(
        "tenants.Agency", on_delete=models.PROTECT, related_name="request_index"
    )
    request_id = models.BigIntegerField()
    reference = models.CharField(max_length=40)
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="request_index"
    )
    type_id = models.BigIntegerField()
    type_name_ar = models.CharField(max_length=200)
    type_name_en = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=24, choices=Status.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    assignee_name_ar = models.CharField(max_length=200, blank=True)
    assignee_name_en = models.CharField(max_length=200, blank=True)
    department_id = models.BigIntegerField(null=True)
    assignee_user_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True)
    first_response_at = models.DateTimeField(null=True)
    closed_at = models.DateTimeField(null=True)
    is_late = models.BooleanField(default=False)
    # Only while awaiting the beneficiary (see the docstring).
    question_excerpt = models.CharField(max_length=300, blank=True)
    reply_by = models.DateField(null=True)
    # Figures the statistics read (insights.rollups derives the daily rollups from these).
    reopened_count = models.PositiveSmallIntegerField(default=0)
    paused_seconds = models.PositiveIntegerField(default=0)
    first_response_seconds = models.PositiveIntegerField(null=True)
    # Closing minus creation, less the time paused waiting on the beneficiary or postponed.
    resolution_seconds = models.PositiveIntegerField(null=True)
    # The satisfaction survey's score (1-5), once answered: the overall rating of the short
    # form, the mean of the eleven statements of the extended form.
    satisfaction = models.FloatField(null=True)
    search_text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "request_id"], name="index_request_unique"),
            models.UniqueConstraint(fields=["agency", "reference"], name="index_reference_unique"),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "-created_at"], name="index_inbox_idx"),
            models.Index(fields=["agency", "status", "-created_at"], name="index_agency_status"),
            # The oversight drill-down's list of an agency's late open requests.
            models.Index(
                fields=["agency", "due_at"],
                name="index_late_open",
                condition=models.Q(is_late=True, status__in=OPEN_STATUSES),
            ),
            # Percentiles over a period for the whole platform, and within one agency.
            models.Index(
                fields=["created_at"],
                name="index_created_stats",
                include=["agency", "first_response_seconds", "resolution_seconds"],
            ),
            models.Index(
                fields=["agency", "created_at"],
                name="index_agency_created_stats",
                include=[
                    "department_id",
                    "assignee_user_id",
                    "type_id",
                    "beneficiary",
                    "first_response_seconds",
                    "resolution_seconds",
                ],
            ),
            GinIndex(name="index_search_trgm", fields=["search_text"], opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def type_name(self) -> str:
        return self.type_name_en if get_language() == "en" else self.type_name_ar

    @property
    def is_reply_late(self) -> bool:
        return (
            self.status == Status.AWAITING_BENEFICIARY
            and self.reply_by is not None
            and self.reply_by < timezone.localdate()
        )

    @property
    def assignee_name(self) -> str:
        return self.assignee_name_en if get_language() == "en" else self.assignee_name_ar


class DocumentIndex(models.Model):
    """The beneficiary-visible attachments of every agency (R-21), so a person's documents
    across all agencies are listed from the public schema. Metadata only; the file stays in the
    agency's private storage behind the permission-checked download."""

    agency = models.ForeignKey("tenants.Agency", on_delete=models.PROTECT, related_name="+")
    request_id = models.BigIntegerField()
    reference = models.CharField(max_length=40)
    attachment_id = models.BigIntegerField()
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    type_name_ar = models.CharField(max_length=200)
    type_name_en = models.CharField(max_length=200)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by_agency = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "attachment_id"], name="document_index_unique"
            )
        ]
        indexes = [
            models.Index(fields=["beneficiary", "-created_at"], name="document_index_owner_idx")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def type_name(self) -> str:
        return self.type_name_en if get_language() == "en" else self.type_name_ar
