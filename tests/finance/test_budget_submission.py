"""A voucher that would exceed its budget line at submission (R-43): the agency's setting
decides between a warning (the voucher goes to review, the overrun is named) and a refusal
(nothing changes: still a draft, no round, no decision)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_tenants.utils import schema_context

from finance.constants import BudgetControl, VoucherStatus
from finance.models import Account, BudgetLine, FinanceSettings
from finance.models_review import ReviewDecision, ReviewStep
from finance.services import review
from tests.finance.factories_review import (
    department,
    finance_employee,
    make_chain,
    make_voucher,
    named,
)


@pytest.fixture
def setup(agency_a):
    admin = finance_employee(agency_a, "configure")
    maker = finance_employee(agency_a, "enter")
    reviewer = finance_employee(agency_a, "approve", "review")
    with schema_context(agency_a.schema_name):
        dept = department()
        make_chain(actor=admin, levels=[named(reviewer)])
        # the budget of the expense line make_voucher debits: 600 for the year
        draft = make_voucher(maker=maker, dept=dept, amount="100.00")
        BudgetLine.objects.create(
            fiscal_year=draft.fiscal_year,
            account=Account.objects.get(code="R-5101"),
            department=dept,
            amount=Decimal("600.00"),
        )
    return {"maker": maker, "dept": dept, "draft": draft}


def _control(value):
    FinanceSettings.objects.update_or_create(pk=1, defaults={"budget_control": value})


def test_within_budget_no_warning(agency_a, setup):
    with schema_context(agency_a.schema_name):
        _control(BudgetControl.BLOCK)
        voucher = review.voucher_submit(setup["draft"], by=setup["maker"])
        assert voucher.status == VoucherStatus.IN_REVIEW and voucher.budget_overruns == []


def test_warn_sends_for_review_and_names_the_overrun(agency_a, setup):
    with schema_context(agency_a.schema_name):
        _control(BudgetControl.WARN)
        big = make_voucher(maker=setup["maker"], dept=setup["dept"], amount="750.00")
        voucher = review.voucher_submit(big, by=setup["maker"])
        assert voucher.status == VoucherStatus.IN_REVIEW
        assert len(voucher.budget_overruns) == 1
        assert voucher.budget_overruns[0].excess == Decimal("150.00")


def test_block_refuses_and_changes_nothing(agency_a, setup):
    with schema_context(agency_a.schema_name), translation.override("en"):
        _control(BudgetControl.BLOCK)
        big = make_voucher(maker=setup["maker"], dept=setup["dept"], amount="750.00")
        with pytest.raises(ValidationError) as caught:
            review.voucher_submit(big, by=setup["maker"])
        assert "lines" in caught.value.message_dict
        assert "exceeds its budget" in caught.value.message_dict["lines"][0]
        big.refresh_from_db()
        assert big.status == VoucherStatus.DRAFT and big.review_round == 0
        assert not ReviewStep.objects.filter(voucher=big).exists()
        assert not ReviewDecision.objects.filter(voucher=big).exists()
