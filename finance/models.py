"""Agency-schema models of finance (R-40..R-43): the chart of accounts, fiscal years and their
monthly periods, vouchers and their lines, the general ledger, budgets.

The review chain (R-41: configured levels, the chain frozen on a submitted voucher, decisions,
delegations) keeps its models in ``models_review``, imported at the end so Django finds them.

Amounts are ``Decimal`` with two places (SAR and halalas), never float. The database enforces
what must never be wrong (see the triggers in the migrations): a posted voucher balances, posted
ledger lines never change, a closed period takes no posting.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.files.models import PrivateFile
from finance.constants import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    AccountKind,
    BudgetControl,
    PeriodStatus,
    VoucherStatus,
    VoucherType,
)
from tenants.staff.models import BilingualName, Department


def amount_field(verbose_name, **kwargs) -> models.DecimalField:
    kwargs.setdefault("default", 0)
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs
    )


class FinanceSettings(models.Model):
    """One row per agency schema (pk=1): the agency's finance choices."""

    budget_control = models.CharField(
        _("when a voucher would exceed its budget"),
        max_length=10,
        choices=BudgetControl.choices,
        default=BudgetControl.WARN,
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="finance_settings_single")]

    def __str__(self) -> str:
        return "finance settings"


class Account(BilingualName):
    """An account of the chart (a tree). Only a leaf (``is_postable``) takes voucher lines."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=AccountKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_postable = models.BooleanField(_("takes entries"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="finance_account_not_own_parent"
            )
        ]


class FiscalYear(models.Model):
    """A fiscal year; its twelve monthly periods are created with it."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="finance_fy_order")
        ]

    def __str__(self) -> str:
        return self.name


class Period(models.Model):
    """A month of a fiscal year. A closed period refuses postings (database trigger);
    reopening it needs its own permission and is audited."""

    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveSmallIntegerField(_("month"))
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    status = models.CharField(
        _("status"), max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "number"], name="finance_period_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="finance_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year_id}/{self.number:02d}"


class NumberCounter(models.Model):
    """Gapless numbers: the next number of a key (a voucher type, the ledger) in a fiscal
    year, taken under a row lock in the transaction that uses it (a rollback gives it back)."""

    key = models.CharField(max_length=20)
    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="+")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "fiscal_year"], name="finance_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}/{self.fiscal_year_id}:{self.last}"


class Voucher(models.Model):
    """A receipt, payment or journal voucher. Numbered per type and fiscal year without gaps
    when entered; never deleted (a draft is cancelled instead, keeping its number)."""

    type = models.CharField(_("type"), max_length=10, choices=VoucherType.choices)
    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="vouchers")
    number = models.PositiveIntegerField(_("number"))
    date = models.DateField(_("date"))
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="vouchers")
    # The department whose review chain applies (the maker's by default).
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    counterparty = models.CharField(_("payee or payer"), max_length=200, blank=True)
    description = models.TextField(_("description"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=12, choices=VoucherStatus.choices, default=VoucherStatus.DRAFT
    )
    # Total of the debit side (equal to the credit side once balanced): what amount ranges of
    # the review configuration are matched against.
    total = amount_field(_("amount"))
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A reversing voucher names the posted voucher it corrects.
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversals",
    )
    # Each submission starts a new round of the review chain (see models_review).
    review_round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "fiscal_year", "number"], name="finance_voucher_unique_number"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="finance_voucher_total_pos"),
        ]
        indexes = [models.Index(fields=["status", "department"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.number}/{self.fiscal_year_id}"


class VoucherLine(models.Model):
    """One line: an account (a postable leaf), a cost centre (department), a debit or a credit."""

    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("cost centre"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    debit = amount_field(_("debit"))
    credit = amount_field(_("credit"))
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["voucher", "position"], name="finance_line_position"),
            # One side only, never negative, never both zero.
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="finance_line_one_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_id}/{self.position}"


class VoucherAttachment(PrivateFile):
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="attachments")


class LedgerLine(models.Model):
    """The general ledger: the lines of posted vouchers, written once at final approval in the
    same transaction, never changed or deleted (database trigger). ``entry_number`` is the
    journal's gapless number in the fiscal year."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="ledger_lines")
    entry_number = models.PositiveIntegerField()
    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    debit = amount_field(_("debit"))
    credit = amount_field(_("credit"))
    description = models.CharField(max_length=300, blank=True)
    posted_at = models.DateTimeField()

    class Meta:
        ordering = ["date", "entry_number", "id"]
        indexes = [
            models.Index(fields=["account", "date"]),
            models.Index(fields=["fiscal_year", "account", "department"]),
        ]

    def __str__(self) -> str:
        return f"{self.entry_number}/{self.fiscal_year_id}"


class OpeningBalance(models.Model):
    """The balance an account (per cost centre) starts a fiscal year with."""

    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.PROTECT, related_name="opening_balances"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    debit = amount_field(_("debit"))
    credit = amount_field(_("credit"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "account", "department"],
                nulls_distinct=False,
                name="finance_opening_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year_id}/{self.account_id}"


class BudgetLine(models.Model):
    """A budget for a fiscal year, account and department: annual (``period`` empty) or for one
    month. Every change is a ``BudgetRevision``."""

    fiscal_year = models.ForeignKey(FiscalYear, on_delete=models.PROTECT, related_name="budget")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    period = models.ForeignKey(
        Period, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = amount_field(_("amount"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "account", "department", "period"],
                nulls_distinct=False,
                name="finance_budget_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="finance_budget_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year_id}/{self.account_id}/{self.department_id}"


class BudgetRevision(models.Model):
    line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="revisions")
    previous = amount_field(_("before"))
    amount = amount_field(_("after"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.line_id}@{self.at}"


from finance.models_review import *  # noqa: E402, F403  (Django finds the review models)
