"""The review chain of vouchers (R-41): levels the agency configures, the chain frozen on a
voucher when it is submitted, the decisions taken at each level, delegations.

Configuration (``ReviewChain`` with its ``ReviewLevel`` rows) is only read at submission: the
chain is then copied into ``ReviewStep`` rows of the voucher's round, with the ids of the people
eligible at that moment, and nothing reads the configuration for that voucher again. Database
triggers (migration 0002_review) keep steps frozen, keep decisions append-only and refuse an
approval by the maker, by someone who approved an earlier level of the same round, by someone
not eligible at the level, or beyond the level's required count."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finance.constants import AMOUNT_DIGITS, AMOUNT_PLACES, VoucherType
from tenants.staff.models import Department, Role

__all__ = [
    "LevelKind",
    "ReviewAction",
    "ReviewChain",
    "ReviewDecision",
    "ReviewDelegation",
    "ReviewLevel",
    "ReviewStep",
    "StepOutcome",
]


class LevelKind(models.TextChoices):
    ROLE = "role", _("Anyone holding a role")
    NAMED = "named", _("One of named people")
    COMMITTEE = "committee", _("A committee (N approvals out of M people)")


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("Submitted for review")
    APPROVE = "approve", _("Approved")
    RETURN = "return", _("Returned for correction")
    REJECT = "reject", _("Rejected")


class StepOutcome(models.TextChoices):
    PENDING = "", _("Waiting")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for correction")
    REJECTED = "rejected", _("Rejected")


def _amount(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs
    )


class ReviewChain(models.Model):
    """The levels a voucher of ``voucher_type`` from ``department`` (empty: any department
    without a chain of its own) goes through when its amount is in [min_amount, max_amount)
    (no maximum: open above)."""

    voucher_type = models.CharField(_("voucher type"), max_length=10, choices=VoucherType.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    min_amount = _amount(_("from amount (included)"), default=0)
    max_amount = _amount(_("up to amount (not included)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["voucher_type", "department_id", "min_amount"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__gte=0), name="finance_reviewchain_min_pos"
            ),
            models.CheckConstraint(
                condition=Q(max_amount__isnull=True) | Q(max_amount__gt=models.F("min_amount")),
                name="finance_reviewchain_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_type}/{self.department_id or '*'}/{self.min_amount}"


class ReviewLevel(models.Model):
    """One level of a chain: a role, named people (any one approves) or a committee of named
    people needing ``required`` approvals. The last position is final approval."""

    chain = models.ForeignKey(ReviewChain, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField(_("level"))
    kind = models.CharField(_("who reviews"), max_length=10, choices=LevelKind.choices)
    role = models.ForeignKey(
        Role,
        verbose_name=_("role"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Public user ids of the named people (employees of the agency).
    user_ids = ArrayField(models.BigIntegerField(), verbose_name=_("people"), default=list)
    required = models.PositiveSmallIntegerField(_("approvals needed"), default=1)

    class Meta:
        ordering = ["chain_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "position"], name="finance_reviewlevel_position"
            ),
            models.CheckConstraint(condition=Q(required__gte=1), name="finance_reviewlevel_req"),
            models.CheckConstraint(
                condition=~Q(kind="role") | Q(role__isnull=False),
                name="finance_reviewlevel_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain_id}/{self.position}"


class ReviewStep(models.Model):
    """One level of a voucher's chain, frozen at submission for one round: who was eligible
    then (``eligible_ids``), how many approvals it needs, whether it is final approval. Only
    ``started_at``, ``completed_at`` and ``outcome`` ever change (database trigger)."""

    voucher = models.ForeignKey(
        "finance.Voucher", on_delete=models.PROTECT, related_name="review_steps"
    )
    round = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=LevelKind.choices)
    # What the level was called at submission (the role's or the committee's description),
    # in both languages: the role may be renamed later.
    label_ar = models.CharField(max_length=300, blank=True)
    label_en = models.CharField(max_length=300, blank=True)
    eligible_ids = ArrayField(models.BigIntegerField(), default=list)
    required = models.PositiveSmallIntegerField(default=1)
    is_final = models.BooleanField(default=False)
    # When the voucher reached this level (None: an earlier level is not done yet).
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=StepOutcome.choices, default=StepOutcome.PENDING, blank=True
    )

    class Meta:
        ordering = ["voucher_id", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["voucher", "round", "position"], name="finance_reviewstep_position"
            ),
            models.CheckConstraint(condition=Q(required__gte=1), name="finance_reviewstep_req"),
        ]
        indexes = [
            models.Index(
                fields=["voucher", "round"],
                name="finance_reviewstep_waiting",
                condition=Q(completed_at__isnull=True, started_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.voucher_id}/{self.round}/{self.position}"

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return (self.label_en if get_language() == "en" else self.label_ar) or self.label_ar


class ReviewDecision(models.Model):
    """One entry of a voucher's review history, never changed or deleted (database trigger):
    a submission (no step) or a decision at a step. ``member`` is whom an approval counts for:
    the actor, or the absent person they act on behalf of (``on_behalf_of``)."""

    voucher = models.ForeignKey(
        "finance.Voucher", on_delete=models.PROTECT, related_name="review_decisions"
    )
    round = models.PositiveSmallIntegerField()
    step = models.ForeignKey(
        ReviewStep, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    action = models.CharField(max_length=10, choices=ReviewAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), max_length=2000, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # A person approves a level once, for themselves or for someone else.
            models.UniqueConstraint(
                fields=["step", "member"],
                condition=Q(action="approve"),
                name="finance_reviewdecision_once_member",
            ),
            models.UniqueConstraint(
                fields=["step", "actor"],
                condition=Q(action="approve"),
                name="finance_reviewdecision_once_actor",
            ),
            models.CheckConstraint(
                condition=Q(action="submit", step__isnull=True)
                | (~Q(action="submit") & Q(step__isnull=False)),
                name="finance_reviewdecision_step",
            ),
            models.CheckConstraint(
                condition=~Q(action__in=["return", "reject"]) | ~Q(reason=""),
                name="finance_reviewdecision_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_id}/{self.round}:{self.action}"


class ReviewDelegation(models.Model):
    """While ``delegator`` is absent (``starts_on``..``ends_on``, both included), ``delegate``
    may act on their behalf at the levels they are eligible at."""

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("absent reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delegate"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="finance_delegation_order"
            ),
            models.CheckConstraint(
                condition=~Q(delegator=models.F("delegate")), name="finance_delegation_other"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delegator_id}->{self.delegate_id}"
