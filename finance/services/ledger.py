"""The general ledger: posting a finally approved voucher, and the reversing voucher that
corrects a posted one (posted entries are never changed: the database refuses it, see
migration 0002_ledger_rules)."""

from __future__ import annotations

from datetime import date as Date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require
from finance import policies
from finance.constants import PeriodStatus, VoucherStatus, VoucherType
from finance.models import LedgerLine, Voucher, VoucherLine
from finance.models_review import ReviewAction, ReviewStep, StepOutcome
from finance.services.numbers import LEDGER, number_next
from finance.services.vouchers import period_for

# What the review chain may post: a voucher in review whose current round has every level
# approved (the database refuses anything else: migration 0006_posting_needs_final_approval).
POSTABLE_STATUSES = (VoucherStatus.IN_REVIEW,)
# A reversing voucher still counts while it may yet be posted.
LIVE_STATUSES = (
    VoucherStatus.DRAFT,
    VoucherStatus.IN_REVIEW,
    VoucherStatus.RETURNED,
    VoucherStatus.POSTED,
)


def voucher_post(voucher: Voucher, *, by: User) -> None:
    """Post ``voucher`` to the general ledger: its lines become ledger lines under the next
    journal entry number of its fiscal year, its status becomes posted.

    Called by the review chain inside its final-approval transaction (the chain has checked
    that ``by`` may approve); runs in the caller's transaction (a savepoint when alone). Locks
    the voucher and the ledger counter (the database's trigger takes a share lock on the period, so
    a close at the same moment waits). Refuses (ValidationError) a
    voucher not in review, without every level of its current round approved, unbalanced, or
    in a closed period; the database checks the same."""
    with transaction.atomic():
        locked = (
            Voucher.objects.select_for_update(of=("self",))
            .select_related("period", "fiscal_year")
            .get(pk=voucher.pk)
        )
        if locked.status not in POSTABLE_STATUSES:
            raise ValidationError(
                _("This voucher cannot be posted (%(status)s).")
                % {"status": locked.get_status_display()}
            )
        if not _round_approved(locked):
            raise ValidationError(_("This voucher has not received its final approval."))
        if locked.period.status != PeriodStatus.OPEN:
            raise ValidationError({"date": [_("The accounting period of this voucher is closed.")]})
        lines = list(locked.lines.select_related("account"))
        debit = sum((line.debit for line in lines), Decimal("0.00"))
        credit = sum((line.credit for line in lines), Decimal("0.00"))
        if len(lines) < 2 or debit != credit or debit != locked.total:
            raise ValidationError({"lines": [_("The voucher does not balance.")]})
        for line in lines:
            if not (line.account.is_active and line.account.is_postable):
                raise ValidationError(
                    {
                        "lines": [
                            _("Account %(code)s no longer takes entries.")
                            % {"code": line.account.code}
                        ]
                    }
                )
        entry = number_next(key=LEDGER, fiscal_year=locked.fiscal_year)
        now = timezone.now()
        LedgerLine.objects.bulk_create(
            [
                LedgerLine(
                    voucher=locked,
                    entry_number=entry,
                    fiscal_year_id=locked.fiscal_year_id,
                    period_id=locked.period_id,
                    date=locked.date,
                    account_id=line.account_id,
                    department_id=line.department_id or locked.department_id,
                    debit=line.debit,
                    credit=line.credit,
                    description=line.description or locked.description[:300],
                    posted_at=now,
                )
                for line in lines
            ]
        )
        locked.status = VoucherStatus.POSTED
        locked.posted_at = now
        locked.save(update_fields=["status", "posted_at", "updated_at"])
        audit.agency_record(
            actor=by,
            action="finance.voucher_post",
            obj=locked,
            after={"entry_number": entry, "total": str(locked.total)},
        )
    voucher.status = locked.status
    voucher.posted_at = locked.posted_at


def _round_approved(voucher: Voucher) -> bool:
    """Whether every level of the voucher's current round is done with its approvals, the
    final one included (what the database checks again when the voucher becomes posted)."""
    steps = list(
        ReviewStep.objects.filter(voucher=voucher, round=voucher.review_round).annotate(
            approvals=Count("decisions", filter=Q(decisions__action=ReviewAction.APPROVE))
        )
    )
    return (
        bool(steps)
        and sum(step.is_final for step in steps) == 1
        and all(
            step.completed_at is not None
            and step.outcome == StepOutcome.APPROVED
            and step.approvals >= step.required
            for step in steps
        )
    )


def voucher_reverse(voucher: Voucher, *, by: User, date: Date, reason: str) -> Voucher:
    """Enter the reversing voucher of a posted one: a draft journal voucher of ``by`` with the
    lines swapped (debits become credits), ``reverses`` naming the original; it then goes
    through the review chain like any voucher. One live reversal per voucher."""
    require(policies.can_enter(by))
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Say why the voucher is reversed.")]
    with transaction.atomic():
        original = Voucher.objects.select_for_update().get(pk=voucher.pk)
        if original.status != VoucherStatus.POSTED:
            raise ValidationError(_("Only a posted voucher can be reversed."))
        if original.reverses_id is not None:
            raise ValidationError(_("A reversing voucher is not reversed; enter a new voucher."))
        if original.reversals.filter(status__in=LIVE_STATUSES).exists():
            raise ValidationError(_("This voucher already has a reversing voucher."))
        period = period_for(date, errors)
        if errors:
            raise ValidationError(errors)
        number = number_next(key=VoucherType.JOURNAL, fiscal_year=period.fiscal_year)
        reversal = Voucher.objects.create(
            type=VoucherType.JOURNAL,
            fiscal_year=period.fiscal_year,
            number=number,
            date=date,
            period=period,
            department_id=original.department_id,
            counterparty=original.counterparty,
            description=(
                _("Reversal of %(voucher)s: %(reason)s") % {"voucher": original, "reason": reason}
            )[:2000],
            status=VoucherStatus.DRAFT,
            total=original.total,
            maker=by,
            reverses=original,
        )
        VoucherLine.objects.bulk_create(
            [
                VoucherLine(
                    voucher=reversal,
                    position=line.position,
                    account_id=line.account_id,
                    department_id=line.department_id,
                    debit=line.credit,
                    credit=line.debit,
                    description=line.description,
                )
                for line in original.lines.all()
            ]
        )
        audit.agency_record(
            actor=by,
            action="finance.voucher_reverse",
            obj=reversal,
            after={"reverses": original.pk, "reason": reason[:500]},
        )
    return reversal
