"""Helpers of the finance tests: employees holding finance permissions, a department, accounts
of the default chart, vouchers entered (and posted) through the real services. Call them with
the agency; they switch to its schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db.models import F
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from finance.constants import VoucherStatus, VoucherType
from finance.models import Account, Voucher
from finance.models_review import LevelKind, ReviewAction, ReviewDecision, ReviewStep, StepOutcome
from finance.services import ledger, vouchers
from tenants.models import Agency
from tenants.staff.models import Department, Membership
from tests.factories import make_employee

ALL_PERMISSIONS = (
    "finance.enter",
    "finance.review",
    "finance.approve",
    "finance.configure",
    "finance.reports",
    "finance.close_periods",
)
# A simple payment: office supplies paid from the bank.
PAYMENT_LINES = (("5204", "1250.50", ""), ("1102", "", "1250.50"))


def finance_employee(agency: Agency, *permissions: str) -> User:
    """An employee of ``agency`` (the employee role) granted ``permissions`` besides."""
    user = make_employee(agency)
    with schema_context(agency.schema_name):
        Membership.objects.filter(user=user).update(granted_permissions=list(permissions))
    return user


def department_of(agency: Agency, name_en: str = "Finance") -> Department:
    with schema_context(agency.schema_name):
        department, _created = Department.objects.get_or_create(
            name_en=name_en, defaults={"name_ar": "الإدارة المالية"}
        )
        return department


def account(code: str) -> Account:
    """An account of the default chart (the connection on the agency's schema)."""
    return Account.objects.get(code=code)


def lines_of(spec: Sequence[tuple[str, str, str]]) -> list[dict]:
    return [
        {"account": account(code), "debit": debit, "credit": credit, "description": ""}
        for code, debit, credit in spec
    ]


def today() -> date:
    return timezone.localdate()


def make_voucher(
    agency: Agency,
    maker: User,
    *,
    lines: Sequence[tuple[str, str, str]] = PAYMENT_LINES,
    type: str = VoucherType.PAYMENT,
    day: date | None = None,
    department: Department | None = None,
    files=(),
) -> Voucher:
    """A draft voucher of ``maker`` entered through voucher_create."""
    department = department or department_of(agency)
    with schema_context(agency.schema_name):
        return vouchers.voucher_create(
            by=maker,
            type=type,
            date=day or today(),
            department=department,
            counterparty="مؤسسة التوريد",
            description="شراء لوازم مكتبية",
            lines=lines_of(lines),
            files=files,
        )


def final_approval(voucher: Voucher, *, approver: User) -> Voucher:
    """What the review chain records up to a final approval, written straight (no configured
    chain needed): the voucher in review in a new round of one final level where ``approver``
    is eligible, the maker's submission, the approver's decision (the database checks both:
    never the maker) and the level completed. ``ledger.voucher_post`` may then post it. The
    connection on the agency's schema."""
    now = timezone.now()
    Voucher.objects.filter(pk=voucher.pk).update(
        status=VoucherStatus.IN_REVIEW, review_round=F("review_round") + 1, submitted_at=now
    )
    voucher.refresh_from_db()
    step = ReviewStep.objects.create(
        voucher=voucher,
        round=voucher.review_round,
        position=1,
        kind=LevelKind.NAMED,
        eligible_ids=[approver.pk],
        is_final=True,
        started_at=now,
    )
    common = {"voucher": voucher, "round": voucher.review_round}
    ReviewDecision.objects.create(
        **common, action=ReviewAction.SUBMIT, actor_id=voucher.maker_id, member_id=voucher.maker_id
    )
    ReviewDecision.objects.create(
        **common, step=step, action=ReviewAction.APPROVE, actor=approver, member=approver
    )
    step.completed_at, step.outcome = now, StepOutcome.APPROVED
    step.save(update_fields=["completed_at", "outcome"])
    return voucher


def make_posted(agency: Agency, maker: User, *, by: User | None = None, **kwargs) -> Voucher:
    """A voucher of ``maker`` finally approved by ``by`` (a new approver when none, or when
    it is the maker: a maker never approves) and posted."""
    voucher = make_voucher(agency, maker, **kwargs)
    if by is None or by.pk == maker.pk:
        by = finance_employee(agency, "finance.approve")
    with schema_context(agency.schema_name):
        final_approval(voucher, approver=by)
        ledger.voucher_post(voucher, by=by)
        voucher.refresh_from_db()
    return voucher


def total(values: Sequence[str]) -> Decimal:
    return sum((Decimal(v or "0") for v in values), Decimal("0"))
