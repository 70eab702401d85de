"""Findings of the finance audit (issue 14), each with the test that shows it fixed: chains
whose levels nobody can satisfy, delegations that outlive the delegator's permission,
reversing vouchers that could be edited, bad input that gave a 500 or slipped through, the
ledger posting without a completed final approval (now refused by the database), and
privilege escalations through forged positions, ids of another agency or missing permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from finance.constants import VoucherStatus
from finance.models import Account, BudgetLine, LedgerLine, Voucher, VoucherLine
from finance.models_review import ReviewChain, ReviewDecision, ReviewDelegation, ReviewStep
from finance.services import ledger, review
from finance.services.review_config import (
    LevelInput,
    review_chain_save,
    review_delegation_create,
)
from tenants.staff.models import Membership, Role
from tests.factories import make_employee
from tests.finance import factories as ledger_factories
from tests.finance.factories_review import (
    committee,
    department,
    finance_employee,
    finance_people,
    make_chain,
    make_voucher,
    named,
    role_level,
)

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def people(agency_a):
    p = finance_people(
        agency_a,
        admin=("configure",),
        maker=("enter",),
        r1=("review",),
        r2=("review",),
        boss=("approve",),
        boss2=("approve",),
        plain=(),
    )
    with schema_context(agency_a.schema_name):
        p["dept"] = department()
    return p


def _w(agency, name, **kwargs):
    return reverse(f"workspace:{name}", kwargs={"agency_slug": agency.slug, **kwargs})


def _levels_error(exc: ValidationError) -> str:
    return " ".join(m for key, ms in exc.message_dict.items() for m in ms)


def _revoke(agency, user, *perms):
    with schema_context(agency.schema_name):
        membership = Membership.objects.get(user_id=user.pk)
        membership.granted_permissions = [
            p for p in membership.granted_permissions if p not in perms
        ]
        membership.save(update_fields=["granted_permissions"])
    for attribute in ("_agency_permission_cache", "_agency_membership_cache"):
        if hasattr(user, attribute):
            delattr(user, attribute)


# --- 1. every level reachable ----------------------------------------------------------------


def test_a_chain_whose_levels_need_the_same_only_person_is_refused(agency_a, people):
    """Level 1 and level 2 both name r1 alone: once r1 approves level 1 they are excluded at
    level 2, so no voucher could ever pass."""
    with schema_context(agency_a.schema_name):
        both = finance_employee(agency_a, "review", "approve")
        with pytest.raises(ValidationError) as caught:
            make_chain(actor=people["admin"], levels=[named(both), named(both)])
        assert "level_2" in caught.value.message_dict
        assert "different people" in _levels_error(caught.value)
        assert not ReviewChain.objects.exists()


def test_a_committee_without_enough_distinct_people_after_earlier_levels_is_refused(
    agency_a, people
):
    with schema_context(agency_a.schema_name):
        a = finance_employee(agency_a, "review", "approve")
        b = finance_employee(agency_a, "review", "approve")
        # level 1: a or b; level 2: a committee needing both: whoever approves level 1 is
        # excluded at level 2, so the committee can never gather two approvals.
        with pytest.raises(ValidationError) as caught:
            make_chain(actor=people["admin"], levels=[named(a, b), committee(2, a, b)])
        assert "level_2" in caught.value.message_dict
        assert not ReviewChain.objects.exists()


def test_a_role_level_nobody_holding_the_permission_is_refused(agency_a, people):
    with schema_context(agency_a.schema_name):
        role = Role.objects.create(name_ar="مدققون", name_en="Auditors", permissions=[])
        with pytest.raises(ValidationError) as caught:
            make_chain(actor=people["admin"], levels=[role_level(role), named(people["boss"])])
        assert "level_1" in caught.value.message_dict


def test_named_people_who_left_or_lack_the_permission_are_refused(agency_a, people):
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=people["r2"].pk).update(is_active=False)
        for level in (named(people["r2"]), named(people["plain"])):
            with pytest.raises(ValidationError) as caught:
                make_chain(actor=people["admin"], levels=[level, named(people["boss"])])
            assert "level_1" in caught.value.message_dict
        assert not ReviewChain.objects.exists()


def test_a_committee_needing_more_than_its_members_is_refused(agency_a, people):
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            make_chain(
                actor=people["admin"],
                levels=[committee(3, people["r1"], people["r2"]), named(people["boss"])],
            )
        assert "level_1" in caught.value.message_dict


def test_submission_names_a_frozen_level_nobody_can_reach(agency_a, people):
    """The chain was fine when saved; since then the only approver left: the maker is told
    which level cannot be reached, and the voucher stays a draft (nothing frozen)."""
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        Membership.objects.filter(user_id=people["boss"].pk).update(is_active=False)
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        with pytest.raises(ValidationError) as caught:
            review.voucher_submit(voucher, by=people["maker"])
        assert "Level 2" in " ".join(caught.value.messages)
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.DRAFT
        assert not ReviewStep.objects.filter(voucher=voucher).exists()


def test_submission_refuses_a_chain_whose_levels_need_the_same_person(agency_a, people):
    """Saved as r1 then (r1 or boss); r1 approves level 1 and boss is the maker: level 2
    could never be reached. Submission says so instead of leaving the voucher stuck."""
    with schema_context(agency_a.schema_name):
        both = finance_employee(agency_a, "enter", "review", "approve")
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(both, people["boss"])])
        Membership.objects.filter(user_id=people["boss"].pk).update(is_active=False)
        voucher = make_voucher(maker=both, dept=people["dept"])
        with pytest.raises(ValidationError) as caught:
            review.voucher_submit(voucher, by=both)
        assert "Level 2" in " ".join(caught.value.messages)


def test_a_reviewer_who_lost_the_permission_neither_sees_nor_acts(client, agency_a, people):
    """Decision: the eligible people are frozen at submission, but acting (and the inbox) needs
    the level's permission now; a voucher left with nobody able to act is listed for the
    finance administrators on the chains page."""
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
    _revoke(agency_a, people["r1"], "finance.review")
    client.force_login(people["r1"])
    assert client.get(_w(agency_a, "finance_review_inbox")).status_code == 403
    with schema_context(agency_a.schema_name):
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["r1"])
        assert not ReviewDecision.objects.filter(voucher=voucher, action="approve").exists()
    # Nobody else was eligible at level 1: the finance administrator sees the voucher stuck.
    client.force_login(people["admin"])
    page = client.get(_w(agency_a, "finance_review_chains"))
    assert page.status_code == 200
    assert [v.pk for v, _step in page.context["stuck"]] == [voucher.pk]


def test_the_inbox_leaves_out_final_levels_for_someone_who_lost_approval(client, agency_a, people):
    with schema_context(agency_a.schema_name):
        both = finance_employee(agency_a, "review", "approve")
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(both)])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        review.voucher_approve(voucher, by=people["r1"])
    client.force_login(both)
    assert client.get(_w(agency_a, "finance_review_inbox")).context["counts"].total == 1
    _revoke(agency_a, both, "finance.approve")
    client.force_login(both)
    assert client.get(_w(agency_a, "finance_review_inbox")).context["counts"].total == 0


# --- 2. delegation -----------------------------------------------------------------------------


def _delegate(agency, people, delegator, delegate):
    today = timezone.localdate()
    with schema_context(agency.schema_name):
        return review_delegation_create(
            actor=people["admin"],
            delegator=delegator,
            delegate=delegate,
            starts_on=today,
            ends_on=today + timedelta(days=3),
        )


def test_a_delegate_cannot_act_once_the_delegator_lost_the_permission(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
    _delegate(agency_a, people, people["r1"], people["r2"])
    _revoke(agency_a, people["r1"], "finance.review")
    with schema_context(agency_a.schema_name):
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["r2"])
        assert not ReviewDecision.objects.filter(voucher=voucher, action="approve").exists()


def test_a_delegate_cannot_act_for_a_delegator_who_left(client, agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
    _delegate(agency_a, people, people["r1"], people["r2"])
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=people["r1"].pk).update(is_active=False)
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["r2"])
    client.force_login(people["r2"])
    assert client.get(_w(agency_a, "finance_review_inbox")).context["counts"].total == 0


def test_delegation_to_the_maker_or_to_someone_not_reviewing_is_refused(agency_a, people):
    maker_reviewer = finance_employee(agency_a, "enter", "review")
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=maker_reviewer, dept=people["dept"])
        review.voucher_submit(voucher, by=maker_reviewer)
    for delegate in (maker_reviewer, people["plain"], people["r1"]):
        with pytest.raises(ValidationError) as caught:
            _delegate(agency_a, people, people["r1"], delegate)
        assert "delegate" in caught.value.message_dict
    # A delegation made before the voucher existed still never lets its maker act on it.
    with schema_context(agency_a.schema_name):
        other = make_voucher(maker=people["r2"], dept=people["dept"])
    _delegate(agency_a, people, people["r1"], people["r2"])
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=people["r2"].pk).update(
            granted_permissions=["finance.enter", "finance.review"]
        )
        review.voucher_submit(other, by=people["r2"])
        with pytest.raises(PermissionDenied):
            review.voucher_approve(other, by=people["r2"])


# --- 3. reversing vouchers -----------------------------------------------------------------


@pytest.fixture
def reversal(agency_a, people):
    """A posted payment (through the chain) and its reversing voucher, a draft of the clerk."""
    clerk = ledger_factories.finance_employee(agency_a, "finance.enter")
    with schema_context(agency_a.schema_name):
        for voucher_type in ("payment", "journal"):
            make_chain(
                actor=people["admin"],
                voucher_type=voucher_type,
                levels=[named(people["r1"]), named(people["boss"])],
            )
    original = ledger_factories.make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        review.voucher_submit(original, by=clerk)
        review.voucher_approve(original, by=people["r1"])
        review.voucher_approve(original, by=people["boss"])
        original.refresh_from_db()
        assert original.status == VoucherStatus.POSTED
        reversing = ledger.voucher_reverse(
            original, by=clerk, date=timezone.localdate(), reason="خطأ في المبلغ"
        )
    return {"clerk": clerk, "original": original, "reversal": reversing}


def _mirror(voucher):
    return list(voucher.lines.values_list("account_id", "department_id", "debit", "credit"))


def test_a_reversing_voucher_lines_cannot_be_changed_by_the_service(agency_a, reversal):
    clerk, voucher = reversal["clerk"], reversal["reversal"]
    with schema_context(agency_a.schema_name):
        before = _mirror(voucher)
        other_account = Account.objects.get(code="5201")
        lines = [
            {"account": other_account, "debit": "99", "credit": ""},
            {"account": Account.objects.get(code="1102"), "debit": "", "credit": "99"},
        ]
        with pytest.raises(ValidationError) as caught:
            from finance.services import vouchers

            vouchers.voucher_update(
                by=clerk,
                voucher=voucher,
                date=voucher.date,
                department=voucher.department,
                description="تعديل",
                lines=lines,
            )
        assert "lines" in caught.value.message_dict
        assert _mirror(voucher) == before


def test_a_reversing_voucher_form_keeps_the_mirrored_lines(client, agency_a, reversal):
    clerk, voucher = reversal["clerk"], reversal["reversal"]
    with schema_context(agency_a.schema_name):
        before = _mirror(voucher)
        other_department = department("أخرى")
        account = Account.objects.get(code="5201")
    client.force_login(clerk)
    data = {
        "date": timezone.localdate().isoformat(),
        "department": other_department.pk,
        "description": "وصف جديد",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-account": account.pk,
        "lines-0-debit": "5",
        "lines-1-account": account.pk,
        "lines-1-credit": "5",
    }
    response = client.post(_w(agency_a, "finance_voucher_edit", voucher_id=voucher.pk), data)
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        voucher.refresh_from_db()
        assert _mirror(voucher) == before
        assert voucher.department_id == reversal["original"].department_id
        assert voucher.description == "وصف جديد"


def test_a_reversing_voucher_goes_through_review_and_posts(agency_a, people, reversal):
    clerk, voucher = reversal["clerk"], reversal["reversal"]
    with schema_context(agency_a.schema_name):
        review.voucher_submit(voucher, by=clerk)
        review.voucher_approve(voucher, by=people["r1"])
        review.voucher_approve(voucher, by=people["boss"])
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.POSTED
        by_account: dict[int, object] = {}
        for line in LedgerLine.objects.filter(voucher__in=[voucher, reversal["original"]]):
            by_account[line.account_id] = (
                by_account.get(line.account_id, 0) + line.debit - line.credit
            )
        assert all(value == 0 for value in by_account.values())


# --- 4. bad input never gives a 500 and saves nothing ---------------------------------------

BAD_AMOUNTS = [
    "1e20",
    "99999999999999999.99",
    "123456789012345678901234567890.123",
    "1e3",
    "1E+3",
    "NaN",
    "Infinity",
    "-Infinity",
    "1.234",
    "-5",
    "12abc",
    "١e٣",
]


@pytest.fixture
def clerk_page(client, agency_a):
    clerk = ledger_factories.finance_employee(agency_a, "finance.enter")
    client.force_login(clerk)
    department_id = ledger_factories.department_of(agency_a).pk
    with schema_context(agency_a.schema_name):
        accounts = (Account.objects.get(code="5204").pk, Account.objects.get(code="1102").pk)

    def data(**extra):
        values = {
            "type": "payment",
            "date": timezone.localdate().isoformat(),
            "department": department_id,
            "counterparty": "مؤسسة",
            "description": "سند صرف",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-account": accounts[0],
            "lines-0-debit": "100",
            "lines-0-credit": "",
            "lines-1-account": accounts[1],
            "lines-1-debit": "",
            "lines-1-credit": "100",
        }
        values.update(extra)
        return values

    return {"clerk": clerk, "data": data, "url": _w(agency_a, "finance_voucher_new")}


def _voucher_count(agency):
    with schema_context(agency.schema_name):
        return Voucher.objects.count()


def test_bad_amounts_on_a_voucher_line_are_refused_on_the_field(client, agency_a, clerk_page):
    before = _voucher_count(agency_a)
    for amount in BAD_AMOUNTS:
        response = client.post(
            clerk_page["url"],
            clerk_page["data"](**{"lines-0-debit": amount, "lines-1-credit": amount}),
        )
        assert response.status_code in (200, 400), amount
        line = response.context["formset"].forms[0]
        assert line.errors.get("debit"), (amount, line.errors)
    assert _voucher_count(agency_a) == before


def test_bad_dates_ids_and_management_values_are_refused(client, agency_a, clerk_page):
    before = _voucher_count(agency_a)
    cases = [
        ({"date": "2026-02-30"}, "date"),
        ({"date": "99999-01-01"}, "date"),
        ({"department": "abc"}, "department"),
        ({"department": "99999999999999999999"}, "department"),
        ({"department": "987654"}, "department"),
        ({"type": "bonus"}, "type"),
    ]
    for extra, field in cases:
        response = client.post(clerk_page["url"], clerk_page["data"](**extra))
        assert response.status_code in (200, 400), extra
        assert response.context["form"].errors.get(field), extra
    for extra in (
        {"lines-0-account": "abc"},
        {"lines-0-account": "99999999999999999999"},
        {"lines-0-account": "987654"},
        {"lines-0-department": "xyz"},
    ):
        response = client.post(clerk_page["url"], clerk_page["data"](**extra))
        assert response.status_code in (200, 400), extra
        assert response.context["formset"].forms[0].errors, extra
    for total in ("abc", "100000", "-1", "", "1e3"):
        for add_line in (False, True):
            data = clerk_page["data"](**{"lines-TOTAL_FORMS": total})
            if add_line:
                data["add_line"] = "1"
            response = client.post(clerk_page["url"], data)
            assert response.status_code in (200, 400), total
            assert len(response.context["formset"].forms) <= 200
    assert _voucher_count(agency_a) == before


def test_bad_input_on_the_edit_page_changes_nothing(client, agency_a, clerk_page):
    voucher = ledger_factories.make_voucher(agency_a, clerk_page["clerk"])
    url = _w(agency_a, "finance_voucher_edit", voucher_id=voucher.pk)
    with schema_context(agency_a.schema_name):
        before = _mirror(voucher)
    for extra in (
        {"lines-0-debit": "1e20", "lines-1-credit": "1e20"},
        {"date": "2026-02-30"},
        {"lines-TOTAL_FORMS": "abc"},
    ):
        response = client.post(url, clerk_page["data"](**extra))
        assert response.status_code in (200, 400), extra
    with schema_context(agency_a.schema_name):
        assert _mirror(voucher) == before


@pytest.fixture
def admin_client(client, agency_a, people):
    client.force_login(people["admin"])
    return client


def test_bad_chain_configuration_input_is_refused_on_the_field(admin_client, agency_a, people):
    url = _w(agency_a, "finance_review_chain_new")
    base = {
        "voucher_type": "payment",
        "department": "",
        "min_amount": "0",
        "max_amount": "",
        "level_1_kind": "named",
        "level_1_users": [people["boss"].pk],
    }
    cases = [
        ({"min_amount": amount}, "min_amount")
        for amount in ("1e20", "1e3", "NaN", "Infinity", "-5", "1.234", "abc")
    ] + [
        ({"max_amount": "99999999999999999.99"}, "max_amount"),
        ({"department": "abc"}, "department"),
        ({"department": "99999999999999999999"}, "department"),
        ({"level_1_users": ["abc"]}, "level_1_users"),
        ({"level_1_users": ["99999999999999999999"]}, "level_1_users"),
        ({"level_1_kind": "committee", "level_1_required": "1e3"}, "level_1_required"),
        ({"level_1_kind": "committee", "level_1_required": "99999999999"}, "level_1_required"),
        ({"level_1_kind": "role", "level_1_role": "abc"}, "level_1_role"),
        ({"level_1_kind": "role", "level_1_role": "987654"}, "level_1_role"),
    ]
    for extra, field in cases:
        response = admin_client.post(url, {**base, **extra})
        assert response.status_code == 400, extra
        errors = response.context["form"].errors
        # a level's rules are told on its first field (who reviews)
        assert errors.get(field) or errors.get(field.rsplit("_", 1)[0] + "_kind"), (extra, errors)
    with schema_context(agency_a.schema_name):
        assert not ReviewChain.objects.exists()


def test_bad_delegation_input_is_refused_on_the_field(client, agency_a, people):
    client.force_login(people["admin"])
    url = _w(agency_a, "finance_review_delegations")
    today = timezone.localdate()
    base = {
        "delegator": people["r1"].pk,
        "delegate": people["r2"].pk,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=2)).isoformat(),
    }
    cases = [
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"ends_on": "garbage"}, "ends_on"),
        ({"delegate": "abc"}, "delegate"),
        ({"delegate": "99999999999999999999"}, "delegate"),
        ({"delegator": "987654"}, "delegator"),
        ({"delegate": people["plain"].pk}, "delegate"),
    ]
    for extra, field in cases:
        response = client.post(url, {**base, **extra})
        assert response.status_code == 400, extra
        assert response.context["form"].errors.get(field), extra
    with schema_context(agency_a.schema_name):
        assert not ReviewDelegation.objects.exists()


def test_bad_budget_input_is_refused_on_the_field(client, agency_a):
    from tests.finance import builders_reports as b

    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        accounts = b.make_chart()
        year = b.make_year(2026)
        dept = b.make_department()
    client.force_login(admin)
    url = _w(agency_a, "finance_budget_new")
    base = {
        "fiscal_year": year.pk,
        "account": accounts["5102"].pk,
        "department": dept.pk,
        "month": "",
        "amount": "100",
    }
    cases = [({"amount": amount}, "amount") for amount in BAD_AMOUNTS] + [
        ({"fiscal_year": "abc"}, "fiscal_year"),
        ({"account": "99999999999999999999"}, "account"),
        ({"department": "987654"}, "department"),
        ({"month": "13"}, "month"),
        ({"month": "abc"}, "month"),
    ]
    for extra, field in cases:
        response = client.post(url, {**base, **extra})
        assert response.status_code == 400, extra
        assert response.context["form"].errors.get(field), (extra, response.context["form"].errors)
    with schema_context(agency_a.schema_name):
        assert not BudgetLine.objects.exists()
        line = BudgetLine.objects.create(
            fiscal_year=year, account=accounts["5102"], department=dept, amount=100
        )
    for amount in BAD_AMOUNTS:
        response = client.post(
            _w(agency_a, "finance_budget", line_id=line.pk), {"amount": amount, "reason": "سبب"}
        )
        assert response.status_code == 400, amount
        assert response.context["form"].errors.get("amount"), amount
    with schema_context(agency_a.schema_name):
        line.refresh_from_db()
        assert line.amount == 100 and not line.revisions.exists()


REPORTS = (
    "finance_report_vouchers",
    "finance_report_statement",
    "finance_report_ledger",
    "finance_report_trial_balance",
    "finance_report_budget",
    "finance_report_waiting",
)


def test_reports_answer_bad_filters_with_a_form_error(client, agency_a):
    reader = ledger_factories.finance_employee(agency_a, "finance.reports")
    client.force_login(reader)
    queries = [
        {"fiscal_year": "abc"},
        {"fiscal_year": "99999999999999999999"},
        {"fiscal_year": "987654"},
        {"period_from": "13"},
        {"period_from": "abc", "period_to": "-1"},
        {"date_from": "2026-02-30"},
        {"date_to": "99999-12-31"},
        {"department": "abc"},
        {"department": "99999999999999999999"},
        {"account": "xyz"},
        {"account": "987654"},
        {"by": "nonsense"},
        {"page": "abc"},
        {"page": "99999999999999999999"},
        {"export": "exe"},
    ]
    for name in REPORTS:
        for query in queries:
            response = client.get(_w(agency_a, name), query)
            assert response.status_code in (200, 400), (name, query)
    response = client.get(_w(agency_a, "finance_report_trial_balance"), {"date_from": "x"})
    assert response.status_code in (200, 400)
    list_page = client.get(_w(agency_a, "finance_vouchers"), {"period": "abc", "page": "x"})
    assert list_page.status_code == 200


# --- 5. the database refuses a posting without a completed final approval ------------------


def _savepoint_refuses(callable_):
    with pytest.raises((DatabaseError, IntegrityError)):
        with transaction.atomic():
            callable_()
            # the deferred checks run at the end of the transaction: force them here
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_database_refuses_to_post_a_draft(agency_a):
    clerk = ledger_factories.finance_employee(agency_a, "finance.enter")
    voucher = ledger_factories.make_voucher(agency_a, clerk)
    with schema_context(agency_a.schema_name):
        _savepoint_refuses(
            lambda: Voucher.objects.filter(pk=voucher.pk).update(
                status=VoucherStatus.POSTED, posted_at=timezone.now()
            )
        )
        # The service itself says so: a draft has no approved final level.
        with pytest.raises(ValidationError):
            ledger.voucher_post(voucher, by=clerk)
        assert not LedgerLine.objects.filter(voucher=voucher).exists()
        assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.DRAFT


def test_the_database_refuses_to_post_before_the_final_level_is_approved(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        review.voucher_approve(voucher, by=people["r1"])
        with pytest.raises(ValidationError) as caught:
            ledger.voucher_post(voucher, by=people["r1"])
        assert "final approval" in " ".join(caught.value.messages)
        # Nor can the status be set by hand.
        _savepoint_refuses(
            lambda: Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.POSTED)
        )
        # Marking the final step approved without its approval is refused too.
        final = ReviewStep.objects.get(voucher=voucher, position=2)

        def forge():
            ReviewStep.objects.filter(pk=final.pk).update(
                completed_at=timezone.now(), outcome="approved"
            )
            Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.POSTED)

        _savepoint_refuses(forge)
        # A voucher inserted as posted is refused.
        _savepoint_refuses(
            lambda: Voucher.objects.create(
                type=voucher.type,
                fiscal_year_id=voucher.fiscal_year_id,
                number=999999,
                date=voucher.date,
                period_id=voucher.period_id,
                department_id=voucher.department_id,
                description="x",
                status=VoucherStatus.POSTED,
                maker=people["maker"],
            )
        )
        # An earlier round's approval does not count for the current round.
        review.voucher_approve(voucher, by=people["boss"])
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.POSTED


def test_a_committee_final_level_posts_only_with_its_approvals(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(
            actor=people["admin"],
            levels=[named(people["r1"]), committee(2, people["boss"], people["boss2"])],
        )
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        review.voucher_approve(voucher, by=people["r1"])
        review.voucher_approve(voucher, by=people["boss"])
        with pytest.raises(ValidationError):
            ledger.voucher_post(voucher, by=people["boss"])
        _savepoint_refuses(
            lambda: Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.POSTED)
        )
        review.voucher_approve(voucher, by=people["boss2"])
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.POSTED
        assert LedgerLine.objects.filter(voucher=voucher).count() == 2


# --- 6. privilege escalations ----------------------------------------------------------------


def test_a_forged_position_does_not_let_a_reviewer_act_at_another_level(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        # boss (final level) says "position 1": refused, nothing recorded.
        with pytest.raises((PermissionDenied, ValidationError)):
            review.voucher_approve(voucher, by=people["boss"], position=1)
        with pytest.raises(ValidationError):
            review.voucher_approve(voucher, by=people["boss"], position=2)
        assert not ReviewDecision.objects.filter(voucher=voucher, action="approve").exists()


def test_a_maker_cannot_approve_their_own_voucher_through_a_delegation(agency_a, people):
    maker = finance_employee(agency_a, "enter", "review")
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
    _delegate(agency_a, people, people["r1"], maker)
    with schema_context(agency_a.schema_name):
        voucher = make_voucher(maker=maker, dept=people["dept"])
        review.voucher_submit(voucher, by=maker)
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=maker)
        # The database refuses the decision whatever the code says.
        step = ReviewStep.objects.get(voucher=voucher, position=1)
        _savepoint_refuses(
            lambda: ReviewDecision.objects.create(
                voucher=voucher,
                round=voucher.review_round,
                step=step,
                action="approve",
                actor=maker,
                member=people["r1"],
                on_behalf_of=people["r1"],
            )
        )


def test_an_employee_of_another_agency_cannot_act_on_vouchers_by_id(
    client, agency_a, agency_b, people
):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
    stranger = make_employee(agency_b, roles=("admin",))
    client.force_login(stranger)
    for name in ("approve", "return", "reject"):
        # the id of A's voucher in B's workspace
        url = f"/a/{agency_b.slug}/finance/review/vouchers/{voucher.pk}/{name}/"
        response = client.post(url, {"position": 1, "reason": "x"})
        assert response.status_code in (403, 404), name
        url = f"/a/{agency_a.slug}/finance/review/vouchers/{voucher.pk}/{name}/"
        response = client.post(url, {"position": 1, "reason": "x"})
        assert response.status_code in (302, 403, 404), name
    with schema_context(agency_a.schema_name):
        assert ReviewDecision.objects.filter(voucher=voucher).count() == 1  # the submission


def test_an_enter_only_clerk_reaches_no_configuration_or_period_page(client, agency_a):
    clerk = ledger_factories.finance_employee(agency_a, "finance.enter")
    client.force_login(clerk)
    with schema_context(agency_a.schema_name):
        from finance.models import Period

        period = Period.objects.order_by("start").first()
        period_status = period.status
    gets = [
        "finance_review_chains",
        "finance_review_chain_new",
        "finance_budget_new",
        "finance_budget_control",
        "finance_accounts",
        "finance_account_new",
        "finance_fiscal_years",
        "finance_fiscal_year_new",
        "finance_reports",
        "finance_review_inbox",
        "finance_review_delegations",
    ]
    for name in gets:
        assert client.get(_w(agency_a, name)).status_code in (403, 404), name
    for name in ("finance_period_close", "finance_period_reopen"):
        response = client.post(_w(agency_a, name, period_id=period.pk), {"reason": "x"})
        assert response.status_code in (403, 404), name
    with schema_context(agency_a.schema_name):
        assert Period.objects.get(pk=period.pk).status == period_status


def test_reopening_a_period_needs_its_permission(client, agency_a):
    closer = ledger_factories.finance_employee(agency_a, "finance.close_periods")
    configurer = ledger_factories.finance_employee(agency_a, "finance.configure")
    with schema_context(agency_a.schema_name):
        from finance.models import Period
        from finance.services import chart

        period = Period.objects.order_by("start").first()
        chart.period_close(period=period, by=closer)
    client.force_login(configurer)
    response = client.post(
        _w(agency_a, "finance_period_reopen", period_id=period.pk), {"reason": "خطأ"}
    )
    assert response.status_code in (403, 404)
    with schema_context(agency_a.schema_name):
        assert Period.objects.get(pk=period.pk).status == "closed"


def test_a_voucher_in_review_cannot_be_edited(client, agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(actor=people["admin"], levels=[named(people["r1"]), named(people["boss"])])
        voucher = make_voucher(maker=people["maker"], dept=people["dept"])
        review.voucher_submit(voucher, by=people["maker"])
        before = _mirror(voucher)
        with pytest.raises(PermissionDenied):
            from finance.services import vouchers

            vouchers.voucher_update(
                by=people["maker"],
                voucher=voucher,
                date=voucher.date,
                department=voucher.department,
                description="x",
                lines=[],
            )
        # Nor by SQL: the lines of a voucher in review are frozen like a posted one's.
        line = VoucherLine.objects.filter(voucher=voucher).first()
        _savepoint_refuses(
            lambda: VoucherLine.objects.filter(pk=line.pk).update(debit=line.debit + 1)
        )
        assert _mirror(voucher) == before
    client.force_login(people["maker"])
    response = client.get(_w(agency_a, "finance_voucher_edit", voucher_id=voucher.pk))
    assert response.status_code in (403, 404)


def test_levels_of_a_chain_are_checked_for_the_level_permission(agency_a, people):
    """A reviewer (finance.review only) named on the final level is refused at save: final
    approval needs finance.approve."""
    with schema_context(agency_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            review_chain_save(
                actor=people["admin"],
                voucher_type="payment",
                department_id=None,
                min_amount="0",
                max_amount=None,
                levels=[LevelInput(kind="named", user_ids=[people["r1"].pk])],
            )
        assert "level_1" in caught.value.message_dict
