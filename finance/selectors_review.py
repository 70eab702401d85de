"""Reads of the review chain (R-41) for the pages: the inbox of vouchers waiting for a person,
a voucher's review history and frozen chain, the configured chains and delegations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from finance.constants import VoucherStatus
from finance.models import Voucher
from finance.models_review import (
    ReviewAction,
    ReviewChain,
    ReviewDecision,
    ReviewDelegation,
    ReviewStep,
)
from finance.module import Perm
from finance.policies_review import delegators_of, still_holding


def waiting_for(*, user: User) -> QuerySet[ReviewStep]:
    """The levels where a voucher waits for ``user`` (for themselves or for someone who
    delegated to them): not their own vouchers, not vouchers whose earlier level they approved,
    not levels they already approved, and only levels whose permission they hold now (final
    approval: ``finance.approve``; the others: ``finance.review``), for themselves or for a
    delegator who still holds it too. Longest waiting first; a fixed number of queries."""
    delegators = delegators_of(user)
    levels = Q()
    for perm, is_final in ((Perm.REVIEW, False), (Perm.APPROVE, True)):
        if not (user.is_authenticated and user.has_perm(perm.perm)):
            continue
        people = [user.pk, *(still_holding(delegators, perm) if delegators else ())]
        levels |= Q(is_final=is_final, eligible_ids__overlap=people)
    if not levels:
        return ReviewStep.objects.none()
    acted = ReviewDecision.objects.filter(
        voucher_id=OuterRef("voucher_id"),
        round=OuterRef("round"),
        action=ReviewAction.APPROVE,
    ).filter(Q(actor_id=user.pk) | Q(member_id=user.pk))
    return (
        ReviewStep.objects.filter(
            levels,
            started_at__isnull=False,
            completed_at__isnull=True,
            voucher__status=VoucherStatus.IN_REVIEW,
            round=F("voucher__review_round"),
        )
        .exclude(voucher__maker_id=user.pk)
        .exclude(Exists(acted))
        .select_related("voucher", "voucher__department", "voucher__maker")
        .order_by("started_at", "id")
    )


@dataclass(frozen=True)
class InboxCounts:
    total: int
    by_type: dict[str, int]


def inbox_counts(steps: list[ReviewStep]) -> InboxCounts:
    by_type: dict[str, int] = {}
    for step in steps:
        by_type[step.voucher.type] = by_type.get(step.voucher.type, 0) + 1
    return InboxCounts(total=len(steps), by_type=by_type)


def waiting_count(*, user: User) -> int:
    return waiting_for(user=user).count()


@dataclass(frozen=True)
class StepView:
    step: ReviewStep
    decisions: list[ReviewDecision]
    waited: object  # timedelta: how long the voucher waited (or has waited) at this level


def voucher_review(voucher: Voucher) -> dict:
    """A voucher's review: every round's frozen steps (with how long each waited) and the
    full history (who, when, what, reason, on behalf of whom), in fixed queries."""
    now = timezone.now()
    steps = list(ReviewStep.objects.filter(voucher=voucher).order_by("round", "position"))
    decisions = list(
        ReviewDecision.objects.filter(voucher=voucher)
        .select_related("actor", "on_behalf_of", "step")
        .order_by("at", "id")
    )
    by_step: dict[int, list[ReviewDecision]] = {}
    for decision in decisions:
        if decision.step_id is not None:
            by_step.setdefault(decision.step_id, []).append(decision)
    rounds: dict[int, list[StepView]] = {}
    for step in steps:
        waited = None
        if step.started_at is not None:
            waited = (step.completed_at or now) - step.started_at
        rounds.setdefault(step.round, []).append(
            StepView(step=step, decisions=by_step.get(step.pk, []), waited=waited)
        )
    return {
        "rounds": sorted(rounds.items(), reverse=True),
        "history": decisions,
        "current_round": voucher.review_round,
    }


def stuck_vouchers() -> list[tuple[Voucher, ReviewStep]]:
    """Vouchers in review whose current level can no longer gather its approvals: too few of
    the people frozen on it are still active employees holding the level's permission, once
    the maker, earlier approvers and those who already approved it are left out. Shown to the
    finance administrators (the remedy: give the permission back to one of them, who approves
    or returns the voucher). Four queries whatever the number of vouchers."""
    steps = list(
        ReviewStep.objects.filter(
            started_at__isnull=False,
            completed_at__isnull=True,
            voucher__status=VoucherStatus.IN_REVIEW,
            round=F("voucher__review_round"),
        )
        .select_related("voucher", "voucher__department")
        .order_by("started_at", "id")
    )
    if not steps:
        return []
    approvals = ReviewDecision.objects.filter(
        voucher_id__in={step.voucher_id for step in steps}, action=ReviewAction.APPROVE
    ).values_list("voucher_id", "round", "step__position", "actor_id", "member_id")
    everyone = {person for step in steps for person in step.eligible_ids}
    holding = {perm: still_holding(everyone, perm) for perm in (Perm.REVIEW, Perm.APPROVE)}
    rows = list(approvals)
    stuck = []
    for step in steps:
        voucher = step.voucher
        excluded, done = {voucher.maker_id}, 0
        for voucher_id, round_, position, actor, member in rows:
            if voucher_id == voucher.pk and round_ == step.round and position <= step.position:
                excluded |= {actor, member}
                done += position == step.position
        perm = Perm.APPROVE if step.is_final else Perm.REVIEW
        able = [p for p in step.eligible_ids if p not in excluded and p in holding[perm]]
        if len(able) < step.required - done:
            stuck.append((voucher, step))
    return stuck


def chain_list() -> QuerySet[ReviewChain]:
    return ReviewChain.objects.select_related("department").prefetch_related("levels__role")


def delegation_list(*, user: User | None = None) -> QuerySet[ReviewDelegation]:
    """Delegations in force or to come (of ``user`` as delegator or delegate; every one when
    None)."""
    qs = ReviewDelegation.objects.filter(
        ended_at__isnull=True, ends_on__gte=timezone.localdate()
    ).select_related("delegator", "delegate")
    if user is not None:
        qs = qs.filter(Q(delegator_id=user.pk) | Q(delegate_id=user.pk))
    return qs


def waited_since(started_at: datetime | None):
    return None if started_at is None else timezone.now() - started_at
