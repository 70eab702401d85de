"""Public-schema statistics: daily rollups of the request index, maintained by difference in
the same transaction as each index row (insights.rollups) and rebuildable from the index."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from insights.rollups import FIRST_RESPONSE_BUCKETS, RESOLUTION_BUCKETS


class Metrics(models.Model):
    """The additive figures of a cohort of requests received on ``day`` (the request's
    creation date in the platform's time zone): how many are open, completed, rejected, late or
    were reopened now, and sums from which means are taken."""

    day = models.DateField()
    received = models.IntegerField(default=0)
    open = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    first_response_count = models.IntegerField(default=0)
    first_response_seconds = models.BigIntegerField(default=0)
    resolution_count = models.IntegerField(default=0)
    resolution_seconds = models.BigIntegerField(default=0)
    satisfaction_count = models.IntegerField(default=0)
    satisfaction_sum = models.FloatField(default=0)
    # How many first responses and resolutions fell in each histogram bucket (rollups.RUNGS).
    for _name in FIRST_RESPONSE_BUCKETS + RESOLUTION_BUCKETS:
        locals()[_name] = models.IntegerField(default=0)
    del _name

    class Meta:
        abstract = True


class DetailMetrics(Metrics):
    """Metrics per agency, department, assignee and transaction type (0 = none)."""

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")
    department_id = models.BigIntegerField(default=0)
    assignee_user_id = models.BigIntegerField(default=0)
    type_id = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.agency_id}:{self.day}"


def _detail_key(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["agency", "day", "department_id", "assignee_user_id", "type_id"], name=name
    )


class AgencyMetrics(Metrics):
    """Metrics per agency."""

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.agency_id}:{self.day}"


class DailyStat(DetailMetrics):
    """Per agency, day, department, assignee and transaction type: what the agency's own
    statistics and the oversight drill-down read."""

    class Meta:
        constraints = [_detail_key("dailystat_key")]


class MonthlyStat(DetailMetrics):
    """DailyStat summed per month (``day`` is the month's first day): periods of many months
    read a dozen rows per combination instead of hundreds."""

    class Meta:
        constraints = [_detail_key("monthlystat_key")]


class AgencyDailyStat(AgencyMetrics):
    """Per agency and day: what the platform-wide table of agencies reads."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "agency"], name="agencydailystat_key")
        ]


class AgencyMonthlyStat(AgencyMetrics):
    """AgencyDailyStat summed per month (``day`` is the month's first day)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "agency"], name="agencymonthlystat_key")
        ]


class PlatformDailyStat(Metrics):
    """Every agency together per day, in 16 shards (agency id modulo 16) so that changes in
    different agencies rarely wait on the same row: what the platform totals and trend read
    (16 rows a day)."""

    shard = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "shard"], name="platformstat_key")]

    def __str__(self) -> str:
        return f"{self.day}:{self.shard}"


class AgencyBeneficiary(models.Model):
    """Who has brought requests to an agency, and since when: written when an index row is
    first created, so counting an agency's beneficiaries (new in a period, in all) does not
    scan its whole history."""

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")
    beneficiary = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    first_request_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "beneficiary"], name="agencybeneficiary_key")
        ]
        indexes = [
            models.Index(fields=["agency", "first_request_at"], name="agencybeneficiary_first")
        ]

    def __str__(self) -> str:
        return f"{self.beneficiary_id}@{self.agency_id}"


class Presence(models.Model):
    """Time an employee spent working in an agency's workspace on a day: the gaps between
    their requests while signed in, up to an idle limit, counted from login to logout."""

    agency = models.ForeignKey("tenants.Agency", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    seconds = models.IntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "user", "day"], name="presence_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}:{self.day}"


def _weight(label):
    return models.PositiveSmallIntegerField(label, default=25, validators=[MaxValueValidator(100)])


class EvaluationSettings(models.Model):
    """How an agency scores its employees (R-19): four components, each 0-100, weighted."""

    agency = models.OneToOneField(
        "tenants.Agency", on_delete=models.CASCADE, related_name="evaluation_settings"
    )
    weight_response = _weight(_("weight of response speed"))
    weight_resolution = _weight(_("weight of resolution speed"))
    weight_lateness = _weight(_("weight of punctuality (requests not late)"))
    weight_satisfaction = _weight(_("weight of beneficiary satisfaction"))
    response_target_hours = models.PositiveIntegerField(
        _("target first response (hours)"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text=_("Responding in this time scores 50; at once 100; twice this or later 0."),
    )
    resolution_target_hours = models.PositiveIntegerField(
        _("target resolution (hours)"),
        default=72,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 365)],
        help_text=_("Resolving in this time scores 50; at once 100; twice this or later 0."),
    )
    min_requests = models.PositiveIntegerField(
        _("fewest requests for an evaluation"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"evaluation:{self.agency_id}"
