"""Property-based (hypothesis, stateful): random sequences of enter / submit / approve /
return / reject / delegate / configuration change by random people never let a maker or an
earlier approver approve, never post a voucher that is not fully approved, never alter a
frozen chain, and always leave complete history (in the review and in the audit trail)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from finance.constants import VoucherStatus
from finance.models import Voucher
from finance.models_review import ReviewChain, ReviewDecision, ReviewStep
from finance.services import review
from finance.services.review_config import review_chain_save, review_delegation_create
from tenants.staff.models import AuditEvent
from tests.finance.factories_review import (
    committee,
    department,
    finance_employee,
    make_voucher,
    named,
)

REFUSED = (ValidationError, PermissionDenied)


def _machine(people, dept):
    everyone = [people[k] for k in ("m1", "m2", "r1", "r2", "r3", "b1", "b2")]
    makers = [people["m1"], people["m2"]]
    configs = [
        lambda: [
            named(people["r1"], people["r2"], people["m1"]),
            named(people["b1"], people["b2"]),
        ],
        lambda: [
            committee(2, people["r1"], people["r2"], people["r3"], people["m2"]),
            named(people["b1"]),
        ],
        lambda: [
            named(people["r1"], people["m1"], people["m2"]),
            named(people["r2"], people["r1"], people["r3"]),
            named(people["b2"], people["b1"]),
        ],
        lambda: [named(people["b1"], people["b2"])],
    ]

    class ReviewMachine(RuleBasedStateMachine):
        vouchers = Bundle("vouchers")

        def __init__(self):
            super().__init__()
            self.frozen: dict[int, tuple] = {}
            self.mine: list[int] = []

        @initialize(config=st.integers(0, len(configs) - 1))
        def configure(self, config):
            self._configure(config)

        def _configure(self, config):
            chain = ReviewChain.objects.filter(voucher_type="payment", department=None).first()
            review_chain_save(
                actor=people["admin"],
                chain=chain,
                voucher_type="payment",
                department_id=None,
                min_amount="0",
                max_amount=None,
                levels=configs[config](),
            )

        @rule(target=vouchers, maker=st.sampled_from(makers))
        def enter(self, maker):
            voucher = make_voucher(maker=maker, dept=dept)
            self.mine.append(voucher.pk)
            return voucher.pk

        @rule(voucher_id=vouchers, who=st.sampled_from(everyone))
        def submit(self, voucher_id, who):
            voucher = Voucher.objects.get(pk=voucher_id)
            try:
                review.voucher_submit(voucher, by=who)
            except REFUSED:
                return
            assert who.pk == voucher.maker_id

        @rule(voucher_id=vouchers, who=st.sampled_from(everyone))
        def approve(self, voucher_id, who):
            voucher = Voucher.objects.get(pk=voucher_id)
            try:
                review.voucher_approve(voucher, by=who)
            except REFUSED:
                return
            assert who.pk != voucher.maker_id

        @rule(
            voucher_id=vouchers,
            who=st.sampled_from(everyone),
            reject=st.booleans(),
            reason=st.sampled_from(["", "  ", "ينقص المرفق"]),
        )
        def send_back(self, voucher_id, who, reject, reason):
            voucher = Voucher.objects.get(pk=voucher_id)
            call = review.voucher_reject if reject else review.voucher_return
            try:
                call(voucher, by=who, reason=reason)
            except REFUSED:
                return
            assert reason.strip()

        @rule(delegator=st.sampled_from(everyone), delegate=st.sampled_from(everyone))
        def delegate(self, delegator, delegate):
            today = timezone.localdate()
            try:
                review_delegation_create(
                    actor=delegator,
                    delegator=delegator,
                    delegate=delegate,
                    starts_on=today,
                    ends_on=today + timedelta(days=1),
                )
            except REFUSED:
                return

        @rule(config=st.integers(0, len(configs) - 1))
        def change_configuration(self, config):
            self._configure(config)

        @invariant()
        def chains_stay_frozen(self):
            for step in ReviewStep.objects.filter(voucher_id__in=self.mine):
                shape = (step.eligible_ids, step.required, step.is_final, step.position)
                assert self.frozen.setdefault(step.pk, shape) == shape

        @invariant()
        def rules_hold_and_history_is_complete(self):
            for voucher in Voucher.objects.filter(pk__in=self.mine):
                decisions = list(ReviewDecision.objects.filter(voucher=voucher).order_by("id"))
                submits = [d for d in decisions if d.action == "submit"]
                assert len(submits) == voucher.review_round
                approvals: dict[int, set[int]] = {}
                for d in decisions:
                    if d.action == "approve":
                        assert voucher.maker_id not in (d.actor_id, d.member_id)
                        earlier = {
                            person
                            for e in decisions
                            if e.action == "approve"
                            and e.round == d.round
                            and e.step.position < d.step.position
                            for person in (e.actor_id, e.member_id)
                        }
                        assert d.actor_id not in earlier and d.member_id not in earlier
                        approvals.setdefault(d.step_id, set()).add(d.member_id)
                    if d.action in ("return", "reject"):
                        assert d.reason.strip()
                steps = list(ReviewStep.objects.filter(voucher=voucher, round=voucher.review_round))
                if voucher.status == VoucherStatus.POSTED:
                    assert steps and all(
                        s.outcome == "approved" and len(approvals.get(s.pk, ())) >= s.required
                        for s in steps
                    )
                    assert decisions[-1].action == "approve"
                if voucher.status == VoucherStatus.RETURNED:
                    assert decisions[-1].action == "return"
                if voucher.status == VoucherStatus.REJECTED:
                    assert decisions[-1].action == "reject"
                audited = AuditEvent.objects.filter(
                    object_type="finance.voucher",
                    object_id=str(voucher.pk),
                    action__startswith="finance.voucher_",
                ).count()
                assert audited == len(decisions)

    return ReviewMachine


@pytest.mark.django_db
def test_random_review_sequences_keep_the_rules(agency_a):
    people = {
        "admin": finance_employee(agency_a, "configure"),
        "m1": finance_employee(agency_a, "enter", "review"),
        "m2": finance_employee(agency_a, "enter", "review"),
        "r1": finance_employee(agency_a, "review"),
        "r2": finance_employee(agency_a, "review"),
        "r3": finance_employee(agency_a, "review"),
        "b1": finance_employee(agency_a, "approve", "review"),
        "b2": finance_employee(agency_a, "approve", "review"),
    }
    with schema_context(agency_a.schema_name):
        dept = department()
        run_state_machine_as_test(
            _machine(people, dept),
            settings=settings(
                max_examples=12,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                derandomize=True,
                database=None,
            ),
        )
