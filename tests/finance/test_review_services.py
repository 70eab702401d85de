"""The review chain's rules (R-41) through its services, and the database's own guard."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from finance.constants import VoucherStatus
from finance.models_review import ReviewDecision, ReviewStep
from finance.services import review
from finance.services.review_config import review_delegation_create
from notifications.models import Notification
from tenants.staff.models import AuditEvent
from tests.finance.factories_review import (
    committee,
    department,
    finance_employee,
    finance_people,
    make_chain,
    make_voucher,
    named,
)

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def people(agency_a):
    p = finance_people(
        agency_a,
        admin=("configure",),
        maker=("enter", "review"),
        r1=("review",),
        r2=("review",),
        boss=("approve", "review"),
        boss2=("approve",),
        nobody=(),
    )
    with schema_context(agency_a.schema_name):
        p["dept"] = department()
    return p


@pytest.fixture
def chain(agency_a, people):
    with schema_context(agency_a.schema_name):
        return make_chain(
            actor=people["admin"],
            levels=[named(people["r1"], people["r2"], people["maker"]), named(people["boss"])],
        )


def _submitted(agency, people, amount="1000.00"):
    voucher = make_voucher(maker=people["maker"], dept=people["dept"], amount=amount)
    return review.voucher_submit(voucher, by=people["maker"])


def test_full_chain_posts_once_fully_approved_and_tells_people(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        assert voucher.status == VoucherStatus.IN_REVIEW and voucher.review_round == 1
        steps = list(ReviewStep.objects.filter(voucher=voucher).order_by("position"))
        # Frozen: who was eligible at submission; the maker is named but excluded from acting.
        assert steps[0].eligible_ids == sorted(
            [people["r1"].pk, people["r2"].pk, people["maker"].pk]
        )
        assert [s.is_final for s in steps] == [False, True]
        waiting = set(
            Notification.objects.filter(event="finance.review_waiting").values_list(
                "recipient_id", flat=True
            )
        )
        assert waiting == {people["r1"].pk, people["r2"].pk}
        voucher = review.voucher_approve(voucher, by=people["r1"], position=1)
        assert voucher.status == VoucherStatus.IN_REVIEW
        voucher = review.voucher_approve(voucher, by=people["boss"], position=2)
        assert voucher.status == VoucherStatus.POSTED and voucher.posted_at is not None
        assert Notification.objects.filter(
            event="finance.voucher_approved", recipient_id=people["maker"].pk
        ).exists()
        actions = list(
            AuditEvent.objects.filter(
                object_id=str(voucher.pk), action__startswith="finance.voucher"
            )
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == [
            "finance.voucher_submit",
            "finance.voucher_approve",
            "finance.voucher_post",  # the ledger's own record, in the final approval
            "finance.voucher_approve",
        ]


def test_maker_never_approves_even_when_named(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        with pytest.raises(PermissionDenied, match="entered this voucher"):
            review.voucher_approve(voucher, by=people["maker"], position=1)
        assert not ReviewDecision.objects.filter(voucher=voucher, action="approve").exists()


def test_earlier_approver_is_excluded_at_later_levels(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(
            actor=people["admin"],
            levels=[named(people["boss"], people["r1"]), named(people["boss"], people["boss2"])],
        )
        voucher = _submitted(agency_a, people)
        review.voucher_approve(voucher, by=people["boss"], position=1)
        with pytest.raises(PermissionDenied, match="earlier level"):
            review.voucher_approve(voucher, by=people["boss"], position=2)
        voucher = review.voucher_approve(voucher, by=people["boss2"], position=2)
        assert voucher.status == VoucherStatus.POSTED


def test_wrong_level_and_twice_and_outsider_are_refused(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        with pytest.raises(PermissionDenied, match="not a reviewer of the level"):
            review.voucher_approve(voucher, by=people["boss"], position=1)
        with pytest.raises(ValidationError, match="no longer waiting at level 2"):
            review.voucher_approve(voucher, by=people["boss"], position=2)
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["nobody"])
        review.voucher_approve(voucher, by=people["r1"], position=1)
        with pytest.raises(ValidationError, match="Someone else acted"):
            review.voucher_approve(voucher, by=people["r2"], position=1)
        with pytest.raises(PermissionDenied, match="earlier level"):
            review.voucher_approve(voucher, by=people["r1"])


def test_return_needs_a_reason_and_resubmission_freezes_a_new_round(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        for reason in ("", "   "):
            with pytest.raises(ValidationError) as caught:
                review.voucher_return(voucher, by=people["r1"], reason=reason)
            assert "reason" in caught.value.message_dict
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.IN_REVIEW
        voucher = review.voucher_return(voucher, by=people["r1"], reason="أرفق الفاتورة")
        assert voucher.status == VoucherStatus.RETURNED
        assert Notification.objects.filter(
            event="finance.voucher_returned", recipient_id=people["maker"].pk
        ).exists()
        voucher = review.voucher_submit(voucher, by=people["maker"])
        assert voucher.review_round == 2
        assert ReviewStep.objects.filter(voucher=voucher, round=2).count() == 2
        # r1 approved nothing in round 2 yet: may approve level 1 again.
        review.voucher_approve(voucher, by=people["r1"], position=1)


def test_reject_needs_a_reason_and_is_final(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        with pytest.raises(ValidationError):
            review.voucher_reject(voucher, by=people["r2"], reason="")
        voucher = review.voucher_reject(voucher, by=people["r2"], reason="مكرر")
        assert voucher.status == VoucherStatus.REJECTED
        with pytest.raises(ValidationError):
            review.voucher_submit(voucher, by=people["maker"])
        with pytest.raises(ValidationError, match="not waiting"):
            review.voucher_approve(voucher, by=people["r1"])


def test_submit_only_by_the_maker_and_only_balanced(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = make_voucher(maker=people["maker"], dept=people["dept"], balanced=False)
        with pytest.raises(PermissionDenied):
            review.voucher_submit(voucher, by=people["r1"])
        with pytest.raises(ValidationError) as caught:
            review.voucher_submit(voucher, by=people["maker"])
        assert "lines" in caught.value.message_dict
        voucher.refresh_from_db()
        assert voucher.status == VoucherStatus.DRAFT and voucher.review_round == 0


def test_committee_needs_n_distinct_members(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(
            actor=people["admin"],
            levels=[
                committee(2, people["r1"], people["r2"], people["boss"]),
                named(people["boss2"]),
            ],
        )
        voucher = _submitted(agency_a, people)
        review.voucher_approve(voucher, by=people["r1"], position=1)
        with pytest.raises(ValidationError, match="already approved"):
            review.voucher_approve(voucher, by=people["r1"], position=1)
        voucher.refresh_from_db()
        step = ReviewStep.objects.get(voucher=voucher, position=1)
        assert step.completed_at is None
        review.voucher_approve(voucher, by=people["r2"], position=1)
        step.refresh_from_db()
        assert step.outcome == "approved"
        voucher = review.voucher_approve(voucher, by=people["boss2"], position=2)
        assert voucher.status == VoucherStatus.POSTED


def test_configuration_changes_never_alter_a_frozen_chain(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        before = list(
            ReviewStep.objects.filter(voucher=voucher).values_list("eligible_ids", "required")
        )
        from finance.services.review_config import review_chain_save

        review_chain_save(
            actor=people["admin"],
            chain=chain,
            voucher_type=chain.voucher_type,
            department_id=None,
            min_amount="0",
            max_amount=None,
            levels=[named(people["r2"]), named(people["boss2"])],
        )
        after = list(
            ReviewStep.objects.filter(voucher=voucher).values_list("eligible_ids", "required")
        )
        assert after == before
        review.voucher_approve(voucher, by=people["r1"], position=1)  # r1 still eligible
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["boss2"], position=2)
        assert review.voucher_approve(voucher, by=people["boss"], position=2).status == "posted"


def test_delegate_acts_on_behalf_and_never_for_their_own_voucher(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        delegate = finance_employee(agency_a, "review")
        today = timezone.localdate()
        # The maker is refused as a delegate of a reviewer their voucher waits for.
        voucher = _submitted(agency_a, people)
        with pytest.raises(ValidationError) as caught:
            review_delegation_create(
                actor=people["r1"],
                delegator=people["r1"],
                delegate=people["maker"],
                starts_on=today,
                ends_on=today + timedelta(days=3),
            )
        assert "delegate" in caught.value.message_dict
        review_delegation_create(
            actor=people["r1"],
            delegator=people["r1"],
            delegate=delegate,
            starts_on=today,
            ends_on=today + timedelta(days=3),
        )
        review.voucher_approve(voucher, by=delegate, position=1)
        decision = ReviewDecision.objects.get(voucher=voucher, action="approve")
        assert decision.actor_id == delegate.pk
        assert decision.on_behalf_of_id == people["r1"].pk == decision.member_id
        # r1 counts as having approved level 1 (through the delegate).
        with pytest.raises(PermissionDenied):
            review.voucher_approve(voucher, by=people["r1"])


def test_delegation_to_the_maker_is_refused_at_action_time_too(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        today = timezone.localdate()
        review_delegation_create(
            actor=people["r1"],
            delegator=people["r1"],
            delegate=people["maker"],
            starts_on=today,
            ends_on=today,
        )
        voucher = _submitted(agency_a, people)
        with pytest.raises(PermissionDenied, match="entered this voucher"):
            review.voucher_approve(voucher, by=people["maker"], position=1)


def _raw_insert(voucher, step, actor_id, action="approve", member_id=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO finance_reviewdecision (voucher_id, round, step_id, action, actor_id,"
            " member_id, reason, at) VALUES (%s, %s, %s, %s, %s, %s, '', now())",
            [voucher.pk, voucher.review_round, step.pk, action, actor_id, member_id or actor_id],
        )


def test_database_refuses_maker_earlier_approver_and_edits(agency_a, people, chain):
    with schema_context(agency_a.schema_name):
        voucher = _submitted(agency_a, people)
        first = ReviewStep.objects.get(voucher=voucher, position=1)
        with pytest.raises(DatabaseError, match="maker"):
            _raw_insert(voucher, first, people["maker"].pk)
        with pytest.raises(DatabaseError, match="not eligible"):
            _raw_insert(voucher, first, people["nobody"].pk)
        _raw_insert(voucher, first, people["r1"].pk)
        with pytest.raises(DatabaseError, match="approvals already"):
            _raw_insert(voucher, first, people["r2"].pk)
        second = ReviewStep.objects.get(voucher=voucher, position=2)
        with pytest.raises(DatabaseError, match="frozen"):
            with transaction.atomic():
                ReviewStep.objects.filter(pk=second.pk).update(required=2)
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic():
                ReviewDecision.objects.filter(voucher=voucher).update(reason="x")
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic():
                ReviewDecision.objects.filter(voucher=voucher).delete()


def test_database_refuses_an_earlier_approver(agency_a, people):
    with schema_context(agency_a.schema_name):
        make_chain(
            actor=people["admin"],
            levels=[named(people["r1"]), named(people["r1"], people["r2"]), named(people["boss"])],
        )
        voucher = _submitted(agency_a, people)
        first = ReviewStep.objects.get(voucher=voucher, position=1)
        _raw_insert(voucher, first, people["r1"].pk)
        # The service's bookkeeping, by hand: level 1 done, level 2 started.
        ReviewStep.objects.filter(pk=first.pk).update(
            completed_at=timezone.now(), outcome="approved"
        )
        second = ReviewStep.objects.get(voucher=voucher, position=2)
        ReviewStep.objects.filter(pk=second.pk).update(started_at=timezone.now())
        with pytest.raises(DatabaseError, match="earlier level"):
            _raw_insert(voucher, second, people["r1"].pk)
        with pytest.raises(DatabaseError, match="earlier level"):
            _raw_insert(voucher, second, people["r2"].pk, member_id=people["r1"].pk)
        _raw_insert(voucher, second, people["r2"].pk)
