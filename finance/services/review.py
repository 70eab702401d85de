"""The review chain of a voucher (R-41): submission (the chain resolved and frozen for a new
round), approval level by level (final approval posts to the ledger in the same transaction),
return for correction and rejection.

Each use case locks the voucher row first (``select_for_update``), so two people acting on the
same voucher at once are served one after the other: the second finds the voucher moved on and
is told so. The rules are also enforced by the database (triggers of migration 0002_review)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from core.realtime import publish_on_commit
from finance import policies_review as policies
from finance.constants import VoucherStatus
from finance.models import Voucher
from finance.models_review import (
    LevelKind,
    ReviewAction,
    ReviewChain,
    ReviewDecision,
    ReviewDelegation,
    ReviewLevel,
    ReviewStep,
    StepOutcome,
)
from finance.module import Perm
from finance.services import budgets
from finance.services.review_config import first_unreachable_level
from tenants.models import Agency
from tenants.selectors import memberships_holding

REASON_MAX = 2000


def _current_agency() -> Agency:
    """The agency of the connection's schema: the one the request's middleware set, else
    loaded (a job, a test)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Agency) and tenant.schema_name == connection.schema_name:
        return tenant
    return Agency.objects.get(schema_name=connection.schema_name)


def _locked(voucher: Voucher) -> Voucher:
    return Voucher.objects.select_for_update().get(pk=voucher.pk)


# --- resolving and freezing the chain ------------------------------------------------------


def voucher_balance_check(voucher: Voucher) -> Decimal:
    """The voucher's total when its lines balance (debit = credit, more than zero); else a
    translated error on ``lines``."""
    sums = voucher.lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    debit, credit = sums["debit"] or Decimal("0"), sums["credit"] or Decimal("0")
    if debit <= 0:
        raise ValidationError({"lines": [_("Enter the voucher's lines before submitting it.")]})
    if debit != credit:
        raise ValidationError(
            {
                "lines": [
                    _("The voucher does not balance: debit %(debit)s, credit %(credit)s.")
                    % {"debit": debit, "credit": credit}
                ]
            }
        )
    return debit


def chain_for(*, voucher_type: str, department_id: int | None, amount: Decimal):
    """The configured chain for a voucher: its department's own chains first, else the chains
    for every department; the one whose range holds ``amount`` (None: none configured)."""
    in_range = Q(min_amount__lte=amount) & (Q(max_amount__isnull=True) | Q(max_amount__gt=amount))
    chains = ReviewChain.objects.filter(voucher_type=voucher_type)
    for department in (department_id, None):
        if department is not None and not chains.filter(department_id=department).exists():
            continue
        chain = (
            chains.filter(in_range, department_id=department)
            .prefetch_related("levels__role")
            .first()
        )
        return chain
    return None


def level_eligible_ids(level: ReviewLevel, *, is_final: bool) -> list[int]:
    """Who may act at ``level`` now: active employees holding the level's permission and its
    role (or among its named people)."""
    perm = Perm.APPROVE if is_final else Perm.REVIEW
    holders = memberships_holding(perm.value)
    if level.kind == LevelKind.ROLE:
        holders = holders.filter(roles=level.role_id)
    else:
        holders = holders.filter(user_id__in=level.user_ids)
    return sorted(set(holders.values_list("user_id", flat=True)))


def level_labels(level: ReviewLevel) -> tuple[str, str]:
    """What a level is called, in Arabic and English (frozen on the step)."""
    labels = []
    for language in ("ar", "en"):
        with translation.override(language):
            if level.kind == LevelKind.ROLE:
                labels.append(level.role.name_en if language == "en" else level.role.name_ar)
            elif level.kind == LevelKind.COMMITTEE:
                labels.append(
                    _("Committee: %(n)s of %(m)s") % {"n": level.required, "m": len(level.user_ids)}
                )
            else:
                labels.append(_("Named reviewers"))
    return labels[0], labels[1]


def _freeze(voucher: Voucher, chain: ReviewChain, now) -> list[ReviewStep]:
    """The chain's levels frozen as the steps of the voucher's new round, with the people
    eligible at each now. Refused, naming the level, when some level could never be passed:
    too few people besides the maker, or only people who would be needed at an earlier level
    (nobody approves two levels of the same voucher)."""
    levels = list(chain.levels.all())
    eligible_of = [
        level_eligible_ids(level, is_final=index == len(levels) - 1)
        for index, level in enumerate(levels)
    ]
    stuck = first_unreachable_level(
        [
            ({person for person in eligible if person != voucher.maker_id}, level.required)
            for level, eligible in zip(levels, eligible_of, strict=True)
        ]
    )
    if stuck is not None:
        raise ValidationError(
            _(
                "Level %(n)s of the review chain has not enough people who may review your "
                "voucher. Ask the finance administrator to complete it."
            )
            % {"n": levels[stuck - 1].position}
        )
    steps = []
    for index, (level, eligible) in enumerate(zip(levels, eligible_of, strict=True)):
        label_ar, label_en = level_labels(level)
        steps.append(
            ReviewStep(
                voucher=voucher,
                round=voucher.review_round,
                position=level.position,
                kind=level.kind,
                label_ar=label_ar,
                label_en=label_en,
                eligible_ids=eligible,
                required=level.required,
                is_final=index == len(levels) - 1,
                started_at=now if index == 0 else None,
            )
        )
    return ReviewStep.objects.bulk_create(steps)


@use_case
def voucher_submit(voucher: Voucher, *, by: User) -> Voucher:
    """The maker sends a draft or returned voucher for review: its lines must balance, and stay
    within their budget lines when the agency blocks overruns (when it warns, the overruns are
    returned as ``voucher.budget_overruns``); the chain configured for its type, department and
    total is frozen on it as a new round (the people eligible at each level now), and the
    first level's reviewers are told."""
    voucher = _locked(voucher)
    require(
        voucher.maker_id == by.pk,
        _("Only the employee who entered this voucher may submit it."),
    )
    require(by.has_perm(Perm.ENTER.perm))
    if not policies.can_submit(by, voucher):
        raise ValidationError(_("Only a draft or returned voucher can be submitted."))
    total = voucher_balance_check(voucher)
    chain = chain_for(voucher_type=voucher.type, department_id=voucher.department_id, amount=total)
    if chain is None or not chain.levels.exists():
        raise ValidationError(
            _(
                "No review chain is configured for this type of voucher, department and amount."
                " Ask the finance administrator to configure one."
            )
        )
    # The agency's budget rule: refused here when it blocks; the overruns it only warns of are
    # kept on the voucher object for the page and in the audit record.
    overruns = budgets.budget_check_enforce(voucher)
    now = timezone.now()
    voucher.total = total
    voucher.review_round += 1
    voucher.status = VoucherStatus.IN_REVIEW
    voucher.submitted_at = now
    voucher.save(update_fields=["total", "review_round", "status", "submitted_at", "updated_at"])
    steps = _freeze(voucher, chain, now)
    ReviewDecision.objects.create(
        voucher=voucher,
        round=voucher.review_round,
        action=ReviewAction.SUBMIT,
        actor=by,
        member=by,
    )
    audit.agency_record(
        actor=by,
        action="finance.voucher_submit",
        obj=voucher,
        after={
            "round": voucher.review_round,
            "total": str(total),
            "chain": chain.pk,
            "budget_overruns": [o.message() for o in overruns],
            "steps": [
                {"position": s.position, "eligible": s.eligible_ids, "required": s.required}
                for s in steps
            ],
        },
    )
    _tell_waiting(voucher, steps[0])
    voucher.budget_overruns = overruns
    return voucher


# --- decisions ---------------------------------------------------------------------------


def _acting(voucher: Voucher, by: User, position: int | None):
    """The voucher (locked) and how ``by`` may act at its current level, or a clear refusal."""
    voucher = _locked(voucher)
    step = policies.current_step(voucher)
    if position is not None and (step is None or step.position != position):
        raise ValidationError(
            _(
                "Someone else acted on this voucher first: it is no longer waiting at level "
                "%(n)s. Look at its history below."
            )
            % {"n": position}
        )
    if step is not None and by.pk in policies.step_approvers(voucher, step):
        raise ValidationError(_("You have already approved this level of the voucher."))
    reason = policies.refusal(by, voucher, step)
    if reason is not None:
        if step is None:
            raise ValidationError(reason)
        raise PermissionDenied(reason)
    capacity = policies.capacity(by, voucher, step)
    assert capacity is not None  # refusal() said why otherwise
    return voucher, capacity


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason: the maker will read it.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {"reason": [_("Keep the reason under %(n)s characters.") % {"n": REASON_MAX}]}
        )
    return reason


def _decide(voucher: Voucher, capacity, *, by: User, action: str, reason: str = ""):
    decision = ReviewDecision.objects.create(
        voucher=voucher,
        round=voucher.review_round,
        step=capacity.step,
        action=action,
        actor=by,
        member_id=capacity.member_id,
        on_behalf_of_id=capacity.on_behalf_of,
        reason=reason,
    )
    if action == ReviewAction.APPROVE:
        policies.approval_noted(voucher, decision, capacity.step)
    return decision


def _audit_after(voucher: Voucher, capacity, *, reason: str = "") -> dict:
    return {
        "round": voucher.review_round,
        "level": capacity.step.position,
        "on_behalf_of": capacity.on_behalf_of,
        "reason": reason,
        "status": voucher.status,
    }


@use_case
def voucher_approve(voucher: Voucher, *, by: User, position: int | None = None) -> Voucher:
    """Approve the voucher at the level it waits at (``position``: the level the approver saw;
    if the voucher has moved on since, nothing is done and they are told). A level is done
    when it has its approvals (a committee: N distinct members); then the next level's
    reviewers are told, or, at final approval, the voucher is posted to the ledger in this
    transaction and its maker is told."""
    voucher, capacity = _acting(voucher, by, position)
    step = capacity.step
    _decide(voucher, capacity, by=by, action=ReviewAction.APPROVE)
    # the round's approvals were read under the voucher's lock, this one added (no count query)
    approvals = sum(
        1
        for level, *_people in policies.round_approvals(voucher, step.round)
        if level == step.position
    )
    now = timezone.now()
    following = None
    if approvals >= step.required:
        step.completed_at, step.outcome = now, StepOutcome.APPROVED
        step.save(update_fields=["completed_at", "outcome"])
        if step.is_final:
            from finance.services import ledger

            post = getattr(ledger.voucher_post, "within", ledger.voucher_post)
            post(voucher, by=by)  # sets the voucher's status and posted_at
        else:
            following = (
                ReviewStep.objects.filter(
                    voucher=voucher, round=voucher.review_round, position__gt=step.position
                )
                .order_by("position")
                .first()
            )
            following.started_at = now
            following.save(update_fields=["started_at"])
    audit.agency_record(
        actor=by,
        action="finance.voucher_approve",
        obj=voucher,
        after=_audit_after(voucher, capacity),
    )
    _inbox_changed(step.eligible_ids)
    if following is not None:
        _tell_waiting(voucher, following)
    elif step.completed_at is not None:
        _tell_maker(voucher, "finance.voucher_approved")
    return voucher


def _close(voucher: Voucher, capacity, *, by: User, action: str, reason: str) -> Voucher:
    step = capacity.step
    _decide(voucher, capacity, by=by, action=action, reason=reason)
    step.completed_at = timezone.now()
    step.outcome = StepOutcome.RETURNED if action == ReviewAction.RETURN else StepOutcome.REJECTED
    step.save(update_fields=["completed_at", "outcome"])
    voucher.status = (
        VoucherStatus.RETURNED if action == ReviewAction.RETURN else VoucherStatus.REJECTED
    )
    voucher.save(update_fields=["status", "updated_at"])
    audit.agency_record(
        actor=by,
        action=f"finance.voucher_{action}",
        obj=voucher,
        after=_audit_after(voucher, capacity, reason=reason),
    )
    _inbox_changed(step.eligible_ids)
    event = (
        "finance.voucher_returned" if action == ReviewAction.RETURN else "finance.voucher_rejected"
    )
    _tell_maker(voucher, event, reason=reason)
    return voucher


@use_case
def voucher_return(
    voucher: Voucher, *, by: User, reason: str, position: int | None = None
) -> Voucher:
    """Send the voucher back to its maker for correction (reason required). Resubmitting it
    starts the chain again, frozen anew."""
    reason = _reason_clean(reason)
    voucher, capacity = _acting(voucher, by, position)
    return _close(voucher, capacity, by=by, action=ReviewAction.RETURN, reason=reason)


@use_case
def voucher_reject(
    voucher: Voucher, *, by: User, reason: str, position: int | None = None
) -> Voucher:
    """Refuse the voucher for good (reason required); its maker is told."""
    reason = _reason_clean(reason)
    voucher, capacity = _acting(voucher, by, position)
    return _close(voucher, capacity, by=by, action=ReviewAction.REJECT, reason=reason)


# --- telling people ----------------------------------------------------------------------


def _voucher_path(agency: Agency, voucher: Voucher) -> str:
    from django.urls import reverse

    return reverse(
        "workspace:finance_voucher",
        kwargs={"agency_slug": agency.slug, "voucher_id": voucher.pk},
    )


def _notice_context(voucher: Voucher, recipient: User, reason: str = "") -> dict:
    with translation.override(recipient.preferred_language or "ar"):
        label = str(voucher)
    return {"voucher_label": label, "total": str(voucher.total), "reason": reason}


def _waiting_people(voucher: Voucher, step: ReviewStep) -> list[int]:
    """Who may act at ``step``: its eligible people not excluded, and their delegates today."""
    excluded = policies.earlier_approvers(voucher, step) | {voucher.maker_id}
    people = [person for person in step.eligible_ids if person not in excluded]
    today = timezone.localdate()
    delegates = ReviewDelegation.objects.filter(
        delegator_id__in=people, starts_on__lte=today, ends_on__gte=today, ended_at__isnull=True
    ).values_list("delegate_id", flat=True)
    return sorted(set(people) | {d for d in delegates if d not in excluded})


def _tell_waiting(voucher: Voucher, step: ReviewStep) -> None:
    from notifications.services import notification_send

    agency = _current_agency()
    link = _voucher_path(agency, voucher)
    people = _waiting_people(voucher, step)
    for recipient in User.objects.filter(pk__in=people):
        notification_send(
            recipient=recipient,
            event="finance.review_waiting",
            agency=agency,
            context=_notice_context(voucher, recipient),
            link=link,
            idempotency_key=f"finance.review_waiting:{agency.pk}:{voucher.pk}:"
            f"{voucher.review_round}:{step.position}:{recipient.pk}",
        )
    _inbox_changed(people)


def _tell_maker(voucher: Voucher, event: str, *, reason: str = "") -> None:
    from notifications.services import notification_send

    agency = _current_agency()
    maker = User.objects.get(pk=voucher.maker_id)
    notification_send(
        recipient=maker,
        event=event,
        agency=agency,
        context=_notice_context(voucher, maker, reason),
        link=_voucher_path(agency, voucher),
        idempotency_key=f"{event}:{agency.pk}:{voucher.pk}:{voucher.review_round}",
    )


def _inbox_changed(user_ids) -> None:
    """After commit, each person's open pages learn that their review inbox changed (the
    inbox page then fetches its fresh rows and counts)."""
    schema = connection.schema_name
    for user_id in set(user_ids):
        publish_on_commit(
            "user",
            schema,
            user_id,
            {"type": "user.event", "payload": {"type": "finance.review_inbox"}},
        )
