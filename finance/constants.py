"""Choices of the finance app (R-40..R-43)."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

# Amounts are SAR with halalas: Decimal, two places, never float.
AMOUNT_DIGITS = 14
AMOUNT_PLACES = 2
HALALA = Decimal("0.01")


class AccountKind(models.TextChoices):
    ASSET = "asset", _("Assets")
    LIABILITY = "liability", _("Liabilities")
    EQUITY = "equity", _("Equity")
    REVENUE = "revenue", _("Revenue")
    EXPENSE = "expense", _("Expenses")


class VoucherType(models.TextChoices):
    RECEIPT = "receipt", _("Receipt voucher")
    PAYMENT = "payment", _("Payment voucher")
    JOURNAL = "journal", _("Journal voucher")


class VoucherStatus(models.TextChoices):
    # Entered by the maker, not yet submitted (or returned and being corrected).
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    RETURNED = "returned", _("Returned for correction")
    REJECTED = "rejected", _("Rejected")
    # Final approval given: posted to the general ledger in the same transaction.
    POSTED = "posted", _("Approved and posted")
    CANCELLED = "cancelled", _("Cancelled")


# The maker may edit the voucher's lines only in these states.
EDITABLE_STATUSES = (VoucherStatus.DRAFT, VoucherStatus.RETURNED)


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class BudgetControl(models.TextChoices):
    WARN = "warn", _("Warn the maker")
    BLOCK = "block", _("Refuse the submission")
