"""Who may do what in the review chain of vouchers (R-41): one answer for the services (which
refuse through ``core.actions.require`` or a translated error), the views and the templates.

Every function runs with the connection on the voucher's agency schema."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from finance.constants import EDITABLE_STATUSES, VoucherStatus
from finance.models import Voucher
from finance.models_review import ReviewAction, ReviewDecision, ReviewDelegation, ReviewStep
from finance.module import Perm
from tenants.selectors import memberships_holding


def _holds(actor: User, perm: Perm) -> bool:
    return actor.is_authenticated and actor.has_perm(perm.perm)


def can_configure(actor: User) -> bool:
    """Review chains of the agency (and delegations for anyone)."""
    return _holds(actor, Perm.CONFIGURE)


def is_reviewer(actor: User) -> bool:
    """Sits (or may sit) on review levels: the inbox and delegation pages."""
    return _holds(actor, Perm.REVIEW) or _holds(actor, Perm.APPROVE)


def step_permission(step: ReviewStep) -> Perm:
    """What acting at a level needs: final approval ``finance.approve``, else ``finance.review``."""
    return Perm.APPROVE if step.is_final else Perm.REVIEW


def can_see_voucher(actor: User, voucher: Voucher) -> bool:
    """Its review page and history: its maker, reviewers, configurers and report readers."""
    if not actor.is_authenticated:
        return False
    return (
        voucher.maker_id == actor.pk
        or is_reviewer(actor)
        or can_configure(actor)
        or _holds(actor, Perm.REPORTS)
    )


def can_submit(actor: User, voucher: Voucher) -> bool:
    """The maker, holding ``finance.enter``, of a draft or returned voucher."""
    return (
        actor.is_authenticated
        and voucher.maker_id == actor.pk
        and voucher.status in EDITABLE_STATUSES
        and _holds(actor, Perm.ENTER)
    )


def current_step(voucher: Voucher) -> ReviewStep | None:
    """The level the voucher waits at (None: not in review). Cached on the voucher object."""
    if "_current_step" not in voucher.__dict__:
        step = None
        if voucher.status == VoucherStatus.IN_REVIEW:
            step = (
                ReviewStep.objects.filter(
                    voucher=voucher,
                    round=voucher.review_round,
                    started_at__isnull=False,
                    completed_at__isnull=True,
                )
                .order_by("position")
                .first()
            )
        voucher.__dict__["_current_step"] = step
    return voucher.__dict__["_current_step"]


def round_approvals(voucher: Voucher, round: int) -> list[tuple[int, int, int]]:
    """(level, actor, member) of every approval of the voucher's round ``round``: one query,
    cached on the voucher object (the services lock the voucher row before asking, and
    ``approval_noted`` adds the approval they record, so the cache cannot go stale)."""
    cache = voucher.__dict__.setdefault("_round_approvals", {})
    if round not in cache:
        cache[round] = list(
            ReviewDecision.objects.filter(
                voucher=voucher, round=round, action=ReviewAction.APPROVE
            ).values_list("step__position", "actor_id", "member_id")
        )
    return cache[round]


def approval_noted(voucher: Voucher, decision: ReviewDecision, step: ReviewStep) -> None:
    """Count an approval just recorded in the voucher object's cache (see round_approvals)."""
    cache = voucher.__dict__.get("_round_approvals", {})
    if decision.round in cache:
        cache[decision.round].append((step.position, decision.actor_id, decision.member_id))


def earlier_approvers(voucher: Voucher, step: ReviewStep) -> set[int]:
    """Everyone who approved (or for whom someone approved) an earlier level of this round."""
    return {
        person
        for position, actor, member in round_approvals(voucher, step.round)
        if position < step.position
        for person in (actor, member)
    }


def step_approvers(voucher: Voucher, step: ReviewStep) -> set[int]:
    """Everyone who approved ``step`` (for themselves, or as the member approved for)."""
    return {
        person
        for position, actor, member in round_approvals(voucher, step.round)
        if position == step.position
        for person in (actor, member)
    }


def delegators_of(actor: User, *, on=None) -> list[int]:
    """Whom ``actor`` stands in for today (their delegations in force)."""
    on = on or timezone.localdate()
    return list(
        ReviewDelegation.objects.filter(
            delegate_id=actor.pk, starts_on__lte=on, ends_on__gte=on, ended_at__isnull=True
        ).values_list("delegator_id", flat=True)
    )


@dataclass(frozen=True)
class Capacity:
    """How ``actor`` may act at ``step``: for themselves (``on_behalf_of`` None) or for an
    absent eligible person who delegated to them."""

    step: ReviewStep
    member_id: int
    on_behalf_of: int | None


def refusal(actor: User, voucher: Voucher, step: ReviewStep | None) -> str | None:
    """Why ``actor`` may not act at ``step`` now (a translated sentence), or None."""
    from django.utils.translation import gettext as _

    if step is None:
        return _("This voucher is not waiting for review.")
    if voucher.maker_id == actor.pk:
        return _("You entered this voucher: someone else must review it.")
    if actor.pk in earlier_approvers(voucher, step):
        return _("You approved an earlier level of this voucher: someone else must act now.")
    if actor.pk in step_approvers(voucher, step):
        return _("You have already approved this level of the voucher.")
    if not _holds(actor, step_permission(step)):
        return _("You do not have the permission this level needs.")
    if capacity(actor, voucher, step) is None:
        return _("You are not a reviewer of the level this voucher is waiting at.")
    return None


def capacity(actor: User, voucher: Voucher, step: ReviewStep | None = None) -> Capacity | None:
    """Whether ``actor`` may act at the level the voucher waits at, and for whom: never the
    maker, nobody who approved an earlier level of the round (for themselves or for someone),
    nobody twice at a level; a delegate only for a delegator eligible there and not excluded."""
    step = step or current_step(voucher)
    if step is None or not actor.is_authenticated or voucher.maker_id == actor.pk:
        return None
    if not _holds(actor, step_permission(step)):
        return None
    excluded = earlier_approvers(voucher, step) | step_approvers(voucher, step) | {voucher.maker_id}
    if actor.pk in excluded:
        return None
    if actor.pk in step.eligible_ids:
        return Capacity(step=step, member_id=actor.pk, on_behalf_of=None)
    candidates = [
        delegator
        for delegator in delegators_of(actor)
        if delegator in step.eligible_ids and delegator not in excluded
    ]
    # A delegate acts only for someone who could act themselves today: still an active
    # employee holding the level's permission (the frozen step only says who could then).
    holding = still_holding(candidates, step_permission(step)) if candidates else set()
    for delegator in candidates:
        if delegator in holding:
            return Capacity(step=step, member_id=delegator, on_behalf_of=delegator)
    return None


def still_holding(user_ids, perm: Perm) -> set[int]:
    """Which of ``user_ids`` are active employees of the agency holding ``perm`` now."""
    return set(
        memberships_holding(perm.value)
        .filter(user_id__in=list(user_ids))
        .values_list("user_id", flat=True)
    )
