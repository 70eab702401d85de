"""Configuring review chains (R-41) and delegating one's reviews while absent.

A chain covers a voucher type, a department (or every department without chains of its own)
and an amount range [from, up to); the ranges of one type and department neither overlap nor
leave gaps. Its levels, in order, are a role, named people or a committee (N approvals out of
M named people); the last is final approval. Every change is audited; vouchers already in
review keep the chain frozen on them at submission."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.actions import require, use_case
from finance import policies_review as policies
from finance.constants import VoucherStatus, VoucherType
from finance.models_review import LevelKind, ReviewChain, ReviewDelegation, ReviewLevel, ReviewStep
from finance.module import Perm
from finance.services.vouchers import amount_clean
from tenants.selectors import memberships_holding
from tenants.staff.models import Department, Membership, Role

MAX_LEVELS = 6


def first_unreachable_level(levels: list[tuple[set[int], int]]) -> int | None:
    """The first level (1-based) that no voucher could ever get past, or None: each level is
    (the people who may act there, the approvals it needs), and nobody approves two levels of
    the same voucher, so every level needs its own distinct people. A matching of people to
    approval slots (augmenting paths, levels added in order: the first that cannot be filled
    is the one named). Chains are small: six levels of a few dozen people."""
    owner: dict[int, tuple[int, int]] = {}  # person -> the slot (level, n) they fill

    def place(slot: tuple[int, int], seen: set[int]) -> bool:
        for person in levels[slot[0]][0]:
            if person in seen:
                continue
            seen.add(person)
            if person not in owner or place(owner[person], seen):
                owner[person] = slot
                return True
        return False

    for index, (_people, required) in enumerate(levels):
        for n in range(required):
            if not place((index, n), set()):
                return index + 1
    return None


@dataclass
class LevelInput:
    """One level as entered: ``kind`` (LevelKind), ``role_id`` (a role level), ``user_ids``
    (named people or committee members), ``required`` (a committee's N)."""

    kind: str
    role_id: int | None = None
    user_ids: list[int] = field(default_factory=list)
    required: int = 1


def _amount(value: Any, name: str, errors: dict, *, optional: bool = False) -> Decimal | None:
    if value in (None, ""):
        if optional:
            return None
        errors[name] = [_("Enter an amount.")]
        return None
    try:
        return amount_clean(value)
    except ValidationError as error:
        errors[name] = error.messages
        return None


def _levels_clean(levels: list[LevelInput], errors: dict) -> tuple[list[LevelInput], list[str]]:
    """The levels checked (a translated error per level, ``levels`` or ``level_<n>``), and
    warnings that do not block saving."""
    warnings: list[str] = []
    if not levels:
        errors["levels"] = [_("Add at least one review level.")]
        return [], warnings
    if len(levels) > MAX_LEVELS:
        errors["levels"] = [_("A chain has at most %(n)s levels.") % {"n": MAX_LEVELS}]
        return [], warnings
    roles = {role.pk: role for role in Role.objects.all()}
    members = set(Membership.objects.filter(is_active=True).values_list("user_id", flat=True))
    cleaned = []
    reachable: list[tuple[set[int], int]] = []
    for position, level in enumerate(levels, start=1):
        key = f"level_{position}"
        final = position == len(levels)
        perm = Perm.APPROVE if final else Perm.REVIEW
        holders = set(memberships_holding(perm.value).values_list("user_id", flat=True))
        user_ids = sorted({int(u) for u in level.user_ids or []})
        if level.kind not in LevelKind.values:
            errors[key] = [_("Choose who reviews at this level.")]
            continue
        if level.kind == LevelKind.ROLE:
            role = roles.get(level.role_id)
            if role is None:
                errors[key] = [_("Choose the role whose holders review at this level.")]
                continue
            eligible = set(
                memberships_holding(perm.value).filter(roles=role).values_list("user_id", flat=True)
            )
            if not eligible:
                errors[key] = [
                    _(
                        "Nobody holding the role %(role)s may act at this level: it needs the "
                        "permission '%(perm)s'."
                    )
                    % {"role": role.name, "perm": perm.label}
                ]
                continue
            if len(eligible) == 1:
                warnings.append(
                    _(
                        "Level %(n)s: only one person may act; their own vouchers will wait "
                        "until someone else holds the role."
                    )
                    % {"n": position}
                )
            cleaned.append(LevelInput(kind=level.kind, role_id=role.pk, required=1))
            reachable.append((eligible, 1))
            continue
        if not user_ids:
            errors[key] = [_("Choose the people who review at this level.")]
            continue
        strangers = [u for u in user_ids if u not in members]
        if strangers:
            errors[key] = [_("Choose employees of the agency only.")]
            continue
        lacking = [u for u in user_ids if u not in holders]
        if lacking:
            names = ", ".join(u.display_name for u in User.objects.filter(pk__in=lacking))
            errors[key] = [
                _("These people lack the permission '%(perm)s' this level needs: %(names)s.")
                % {"perm": perm.label, "names": names}
            ]
            continue
        if level.kind == LevelKind.NAMED:
            required = 1
        else:
            try:
                required = int(level.required)
            except (TypeError, ValueError):
                required = 0
            if required < 1 or required > len(user_ids):
                errors[key] = [
                    _(
                        "A committee needs between 1 and %(m)s approvals (the number of its "
                        "members)."
                    )
                    % {"m": len(user_ids)}
                ]
                continue
            if required == len(user_ids):
                warnings.append(
                    _(
                        "Level %(n)s: every member must approve; a member's own voucher will "
                        "wait at this level."
                    )
                    % {"n": position}
                )
        if len(user_ids) == 1:
            warnings.append(
                _(
                    "Level %(n)s: only one person may act; their own vouchers will wait until "
                    "someone else is named."
                )
                % {"n": position}
            )
        cleaned.append(LevelInput(kind=level.kind, user_ids=user_ids, required=required))
        reachable.append((set(user_ids), required))
    if len(reachable) == len(levels):
        stuck = first_unreachable_level(reachable)
        if stuck is not None:
            errors[f"level_{stuck}"] = [
                _(
                    "No voucher could pass level %(n)s: nobody approves two levels of the same "
                    "voucher, and the people who may act there would be needed at earlier "
                    "levels. Each level needs different people."
                )
                % {"n": stuck}
            ]
    return cleaned, warnings


def _ranges_check(
    *, chain: ReviewChain | None, voucher_type: str, department_id, low, high, errors
) -> None:
    """No overlap with the type and department's other chains, and no gap left between them
    (the ranges run from 0 without a hole; the top one may be open)."""
    others = ReviewChain.objects.filter(voucher_type=voucher_type, department_id=department_id)
    if chain is not None:
        others = others.exclude(pk=chain.pk)
    ranges = sorted(
        [(c.min_amount, c.max_amount) for c in others] + [(low, high)],
        key=lambda r: r[0],
    )
    for (_low_a, high_a), (low_b, _high_b) in zip(ranges, ranges[1:], strict=False):
        if high_a is None or high_a > low_b:
            errors["min_amount"] = [
                _("This range overlaps another chain of the same type and department.")
            ]
            return
        if high_a < low_b:
            errors["min_amount"] = [
                _("Amounts from %(low)s up to %(high)s would have no chain: close the gap.")
                % {"low": high_a, "high": low_b}
            ]
            return
    if ranges[0][0] != 0:
        errors["min_amount"] = [
            _("Amounts below %(low)s would have no chain: the lowest range starts at 0.")
            % {"low": ranges[0][0]}
        ]


def chain_dump(chain: ReviewChain) -> dict[str, Any]:
    return {
        "voucher_type": chain.voucher_type,
        "department": chain.department_id,
        "min_amount": str(chain.min_amount),
        "max_amount": None if chain.max_amount is None else str(chain.max_amount),
        "levels": [
            {
                "position": level.position,
                "kind": level.kind,
                "role": level.role_id,
                "users": list(level.user_ids),
                "required": level.required,
            }
            for level in chain.levels.order_by("position")
        ],
    }


@use_case
def review_chain_save(
    *,
    actor: User,
    chain: ReviewChain | None = None,
    voucher_type: str,
    department_id: int | None,
    min_amount: Any,
    max_amount: Any,
    levels: list[LevelInput],
) -> tuple[ReviewChain, list[str]]:
    """Create (``chain`` None) or change a review chain and its levels; returns it with the
    warnings worth showing (a level only one person can act at). Audited with before/after."""
    require(policies.can_configure(actor))
    errors: dict[str, list[str]] = {}
    if voucher_type not in VoucherType.values:
        errors["voucher_type"] = [_("Choose the type of voucher.")]
    if (
        department_id is not None
        and not Department.objects.filter(pk=department_id, is_active=True).exists()
    ):
        errors["department"] = [_("Choose an active department.")]
    low = _amount(min_amount, "min_amount", errors)
    high = _amount(max_amount, "max_amount", errors, optional=True)
    if low is not None and high is not None and high <= low:
        errors["max_amount"] = [_("The upper limit must be above the lower limit.")]
    cleaned, warnings = _levels_clean(levels, errors)
    if not errors:
        # One writer of a type's chains at a time: the ranges are checked against committed rows.
        list(ReviewChain.objects.select_for_update().filter(voucher_type=voucher_type))
        _ranges_check(
            chain=chain,
            voucher_type=voucher_type,
            department_id=department_id,
            low=low,
            high=high,
            errors=errors,
        )
    if errors:
        raise ValidationError(errors)
    before = None
    if chain is None:
        chain = ReviewChain()
    else:
        chain = ReviewChain.objects.select_for_update().get(pk=chain.pk)
        before = chain_dump(chain)
        chain.levels.all().delete()
    chain.voucher_type, chain.department_id = voucher_type, department_id
    chain.min_amount, chain.max_amount = low, high
    chain.save()
    ReviewLevel.objects.bulk_create(
        ReviewLevel(
            chain=chain,
            position=position,
            kind=level.kind,
            role_id=level.role_id,
            user_ids=level.user_ids,
            required=level.required,
        )
        for position, level in enumerate(cleaned, start=1)
    )
    audit.agency_record(
        actor=actor,
        action="finance.review_chain_save",
        obj=chain,
        before=before,
        after=chain_dump(chain),
    )
    return chain, warnings


@use_case
def review_chain_delete(*, actor: User, chain: ReviewChain) -> None:
    """Remove a chain, unless that would leave a gap between the ranges of its type and
    department (the top range may go). Vouchers in review keep their frozen chain."""
    require(policies.can_configure(actor))
    chain = ReviewChain.objects.select_for_update().get(pk=chain.pk)
    higher = ReviewChain.objects.filter(
        voucher_type=chain.voucher_type,
        department_id=chain.department_id,
        min_amount__gt=chain.min_amount,
    )
    if higher.exists():
        raise ValidationError(
            _("Removing this range would leave a gap: remove or change the ranges above it first.")
        )
    before = chain_dump(chain)
    audit.agency_record(actor=actor, action="finance.review_chain_delete", obj=chain, before=before)
    chain.levels.all().delete()
    chain.delete()


# --- delegation --------------------------------------------------------------------------


def _own_vouchers_waiting_on(delegator: User, delegate: User) -> bool:
    """Whether ``delegate`` entered a voucher now waiting at a level ``delegator`` sits on."""
    return ReviewStep.objects.filter(
        voucher__status=VoucherStatus.IN_REVIEW,
        voucher__maker_id=delegate.pk,
        eligible_ids__contains=[delegator.pk],
        completed_at__isnull=True,
    ).exists()


@use_case
def review_delegation_create(
    *,
    actor: User,
    delegator: User,
    delegate: User | None,
    starts_on: date | None,
    ends_on: date | None,
    reason: str = "",
) -> ReviewDelegation:
    """While ``delegator`` is away (dates included), ``delegate`` acts for them at the levels
    they are eligible at. A reviewer delegates their own reviews; a finance administrator
    anyone's. The delegate must be an active employee holding the permission the levels need,
    and never the maker of a voucher waiting for the delegator (checked again at each action)."""
    require(
        (actor.pk == delegator.pk and policies.is_reviewer(actor)) or policies.can_configure(actor)
    )
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if starts_on is None:
        errors["starts_on"] = [_("Enter the first day of the absence.")]
    elif starts_on < today:
        errors["starts_on"] = [_("The absence cannot start in the past.")]
    if ends_on is None:
        errors["ends_on"] = [_("Enter the last day of the absence.")]
    elif starts_on is not None and ends_on < starts_on:
        errors["ends_on"] = [_("The last day is on or after the first day.")]
    elif starts_on is not None and (ends_on - starts_on).days > 366:
        errors["ends_on"] = [_("A delegation lasts a year at most.")]
    if delegate is None:
        errors["delegate"] = [_("Choose the delegate.")]
    elif delegate.pk == delegator.pk:
        errors["delegate"] = [_("Choose someone other than the absent reviewer.")]
    else:
        reviewers = memberships_holding(Perm.REVIEW.value) | memberships_holding(Perm.APPROVE.value)
        if not reviewers.filter(user_id=delegate.pk).exists():
            errors["delegate"] = [_("The delegate must be an employee who reviews vouchers.")]
        elif _own_vouchers_waiting_on(delegator, delegate):
            errors["delegate"] = [
                _(
                    "This person entered a voucher that waits for the absent reviewer: a "
                    "delegate never reviews their own voucher. Choose someone else."
                )
            ]
    reason = (reason or "").strip()
    if len(reason) > 300:
        errors["reason"] = [_("Keep the reason under 300 characters.")]
    if errors:
        raise ValidationError(errors)
    overlapping = ReviewDelegation.objects.filter(
        Q(starts_on__lte=ends_on) & Q(ends_on__gte=starts_on),
        delegator=delegator,
        ended_at__isnull=True,
    )
    if overlapping.exists():
        raise ValidationError(
            {"starts_on": [_("These dates overlap another delegation of the same reviewer.")]}
        )
    delegation = ReviewDelegation.objects.create(
        delegator=delegator,
        delegate=delegate,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by=actor,
    )
    audit.agency_record(
        actor=actor,
        action="finance.review_delegation_create",
        obj=delegation,
        after={
            "delegator": delegator.pk,
            "delegate": delegate.pk,
            "starts_on": str(starts_on),
            "ends_on": str(ends_on),
        },
    )
    return delegation


@use_case
def review_delegation_end(*, actor: User, delegation: ReviewDelegation) -> ReviewDelegation:
    """End a delegation now (its delegator, its delegate, or a finance administrator)."""
    require(
        actor.pk in (delegation.delegator_id, delegation.delegate_id)
        or policies.can_configure(actor)
    )
    delegation = ReviewDelegation.objects.select_for_update().get(pk=delegation.pk)
    if delegation.ended_at is not None:
        raise ValidationError(_("This delegation has already ended."))
    delegation.ended_at = timezone.now()
    delegation.save(update_fields=["ended_at"])
    audit.agency_record(
        actor=actor,
        action="finance.review_delegation_end",
        obj=delegation,
        after={"ended_at": delegation.ended_at.isoformat()},
    )
    return delegation
