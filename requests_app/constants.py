from django.db import models
from django.utils.translation import gettext_lazy as _

# core.numbering's sequence of request references (<CODE>-<year>-<number>): gapless, per year,
# in each agency's schema.
REFERENCE_NUMBERING = "requests_reference"


class Category(models.TextChoices):
    TRANSACTION = "transaction", _("Transaction")
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    SUGGESTION = "suggestion", _("Suggestion")


class Priority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_BENEFICIARY = "awaiting_beneficiary", _("Awaiting the beneficiary")
    POSTPONED = "postponed", _("Postponed")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.AWAITING_BENEFICIARY, Status.POSTPONED)
# While waiting on the beneficiary or postponed, SLA clocks stop.
PAUSED_STATUSES = (Status.AWAITING_BENEFICIARY, Status.POSTPONED)
# The beneficiary's reply-by date when the agency asks for information: this many working days
# of the agency's calendar after the day of asking, by default; the employee may choose within
# the bounds.
REPLY_WORKING_DAYS = 5
REPLY_WORKING_DAYS_MIN, REPLY_WORKING_DAYS_MAX = 1, 30
PRIORITY_RANK = {Priority.URGENT: 0, Priority.IMPORTANT: 1, Priority.NORMAL: 2}


class Visibility(models.TextChoices):
    EXTERNAL = "external", _("Visible to the beneficiary")
    INTERNAL = "internal", _("Internal (team only)")


class Chooser(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin (whoever was assigned longest ago)")
    LEAST_LOAD = "least_load", _("Least open requests")
    WEIGHTED = "weighted", _("Weighted by employee weight")
