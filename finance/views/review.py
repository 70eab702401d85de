"""Pages of the review chain (R-41): the inbox of vouchers waiting for me, a voucher's review
page (its panel is also included in the voucher page), the decisions, the configuration of
chains and delegations. Thin: the services and policies decide."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from finance import policies_review as policies
from finance import selectors_review as selectors
from finance.constants import VoucherStatus, VoucherType
from finance.forms_review import ChainForm, DelegationForm, ReasonForm
from finance.models import Voucher
from finance.models_review import ReviewChain, ReviewDelegation
from finance.module import Perm
from finance.services import review as services
from finance.services import review_config
from finance.views.vouchers import voucher_page_render
from tenants.decorators import workspace_view
from tenants.selectors import memberships_holding
from tenants.staff.models import Department, Role
from tenants.urls_helpers import workspace_reverse

# --- the panel and the voucher's review page ----------------------------------------------


def review_panel_context(request, voucher: Voucher, *, reason_form=None, action="") -> dict:
    """What the review panel shows ``request.user``: the history and frozen chain, and the
    actions they may take now (submit; approve, return, reject at the current level)."""
    user = request.user
    step = policies.current_step(voucher)
    capacity = policies.capacity(user, voucher, step) if step is not None else None
    on_behalf = None
    if capacity is not None and capacity.on_behalf_of is not None:
        on_behalf = User.objects.filter(pk=capacity.on_behalf_of).first()
    return {
        "voucher": voucher,
        "review": selectors.voucher_review(voucher),
        "step": step,
        "capacity": capacity,
        "on_behalf": on_behalf,
        "can_submit": policies.can_submit(user, voucher),
        "reason_form": reason_form or ReasonForm(),
        "failed_action": action,
    }


def _voucher(request, voucher_id: int) -> Voucher:
    voucher = Voucher.objects.select_related("department", "maker").filter(pk=voucher_id).first()
    if voucher is None or not policies.can_see_voucher(request.user, voucher):
        raise Http404
    return voucher


def _voucher_page(request, voucher, *, reason_form=None, action="", status=200):
    """The voucher's page (finance.views.vouchers) with this panel: a refused action shows its
    errors there."""
    panel = review_panel_context(request, voucher, reason_form=reason_form, action=action)
    return voucher_page_render(request, voucher, panel=panel, status=status)


@workspace_view()
def voucher_page(request, voucher_id: int):
    return _voucher_page(request, _voucher(request, voucher_id))


def _back(request, voucher):
    return redirect(workspace_reverse(request, "workspace:finance_voucher", voucher_id=voucher.pk))


def _position(request) -> int | None:
    try:
        return int(request.POST.get("position", ""))
    except ValueError:
        return None


@workspace_view(Perm.ENTER)
@require_POST
def voucher_submit(request, voucher_id: int):
    voucher = _voucher(request, voucher_id)
    try:
        submitted = services.voucher_submit(voucher, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The voucher was sent for review."))
        for overrun in submitted.budget_overruns:
            messages.warning(request, overrun.message())
    return _back(request, voucher)


def _decide(request, voucher_id: int, action: str):
    voucher = _voucher(request, voucher_id)
    position = _position(request)
    form = None
    try:
        if action == "approve":
            approved = services.voucher_approve(voucher, by=request.user, position=position)
            done = (
                _("Final approval given: the voucher is posted to the ledger.")
                if approved.status == VoucherStatus.POSTED
                else _("The voucher was approved at this level.")
            )
        else:
            form = ReasonForm(request.POST)
            call = services.voucher_return if action == "return" else services.voucher_reject
            call(voucher, by=request.user, reason=request.POST.get("reason", ""), position=position)
            done = (
                _("The voucher was returned to its maker.")
                if action == "return"
                else _("The voucher was rejected.")
            )
    except ValidationError as exc:
        if form is not None and hasattr(exc, "error_dict") and "reason" in exc.error_dict:
            form.is_valid()
            form.errors.pop("reason", None)
            form.add_error("reason", exc.error_dict["reason"])
            voucher.refresh_from_db()
            return _voucher_page(request, voucher, reason_form=form, action=action, status=400)
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You do not have permission to do this."))
        voucher.refresh_from_db()
        return _voucher_page(request, voucher, status=403)
    else:
        messages.success(request, done)
    return _back(request, voucher)


@workspace_view()
@require_POST
def voucher_approve(request, voucher_id: int):
    return _decide(request, voucher_id, "approve")


@workspace_view()
@require_POST
def voucher_return(request, voucher_id: int):
    return _decide(request, voucher_id, "return")


@workspace_view()
@require_POST
def voucher_reject(request, voucher_id: int):
    return _decide(request, voucher_id, "reject")


# --- the inbox ------------------------------------------------------------------------------


@workspace_view()
def inbox(request):
    """Vouchers waiting for me, longest waiting first, with how long each has waited at its
    level; ``?partial=1`` is the rows and counts alone (live refresh)."""
    if not policies.is_reviewer(request.user):
        raise PermissionDenied(_("You do not review vouchers."))
    steps = list(selectors.waiting_for(user=request.user))
    counts = selectors.inbox_counts(steps)
    rows = [(step, selectors.waited_since(step.started_at)) for step in steps]
    template = (
        "finance/review/inbox_rows.html"
        if request.GET.get("partial")
        else "finance/review/inbox.html"
    )
    return render(
        request,
        template,
        {
            "rows": rows,
            "counts": counts,
            "type_counts": [
                (label, counts.by_type.get(value, 0)) for value, label in VoucherType.choices
            ],
        },
    )


# --- configuration --------------------------------------------------------------------------


@workspace_view(Perm.CONFIGURE)
def chain_list(request):
    return render(
        request,
        "finance/review/chains.html",
        {"chains": list(selectors.chain_list()), "stuck": selectors.stuck_vouchers()},
    )


def _reviewers():
    return (
        memberships_holding(Perm.REVIEW.value) | memberships_holding(Perm.APPROVE.value)
    ).select_related("user")


def _chain_form(data=None, initial=None) -> ChainForm:
    return ChainForm(
        data,
        initial=initial,
        departments=Department.objects.filter(is_active=True),
        roles=Role.objects.all(),
        people=_reviewers(),
    )


def _chain_initial(chain: ReviewChain) -> dict:
    initial = {
        "voucher_type": chain.voucher_type,
        "department": chain.department_id,
        "min_amount": chain.min_amount,
        "max_amount": chain.max_amount if chain.max_amount is not None else "",
    }
    for level in chain.levels.order_by("position"):
        n = level.position
        initial[f"level_{n}_kind"] = level.kind
        initial[f"level_{n}_role"] = level.role_id
        initial[f"level_{n}_users"] = list(level.user_ids)
        initial[f"level_{n}_required"] = level.required
    return initial


@workspace_view(Perm.CONFIGURE)
def chain_edit(request, chain_id: int | None = None):
    chain = get_object_or_404(ReviewChain, pk=chain_id) if chain_id else None
    initial = _chain_initial(chain) if chain else None
    form = _chain_form(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            chain, warnings = review_config.review_chain_save(
                actor=request.user,
                chain=chain,
                voucher_type=data["voucher_type"],
                department_id=data["department"],
                min_amount=data["min_amount"],
                max_amount=data["max_amount"],
                levels=form.levels(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The review chain was saved."))
            for warning in warnings:
                messages.warning(request, warning)
            return redirect(workspace_reverse(request, "workspace:finance_review_chains"))
    return render(
        request,
        "finance/review/chain_form.html",
        {"form": form, "chain": chain},
        status=400 if request.method == "POST" else 200,
    )


@workspace_view(Perm.CONFIGURE)
@require_POST
def chain_delete(request, chain_id: int):
    chain = get_object_or_404(ReviewChain, pk=chain_id)
    try:
        review_config.review_chain_delete(actor=request.user, chain=chain)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The review chain was deleted."))
    return redirect(workspace_reverse(request, "workspace:finance_review_chains"))


# --- delegations ----------------------------------------------------------------------------


@workspace_view()
def delegations(request):
    """My delegations (a finance administrator: everyone's), and a form to add one."""
    configurer = policies.can_configure(request.user)
    if not (configurer or policies.is_reviewer(request.user)):
        raise PermissionDenied(_("You do not review vouchers."))
    reviewers = list(_reviewers())
    delegators = reviewers if configurer else [request.membership]
    form = DelegationForm(
        request.POST or None,
        initial={"delegator": request.user.pk},
        delegators=delegators,
        delegates=reviewers,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            review_config.review_delegation_create(
                actor=request.user,
                delegator=User.objects.get(pk=data["delegator"]),
                delegate=User.objects.filter(pk=data["delegate"]).first(),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            from frontend.forms import apply_service_errors

            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The delegation was recorded."))
            return redirect(workspace_reverse(request, "workspace:finance_review_delegations"))
    return render(
        request,
        "finance/review/delegations.html",
        {
            "form": form,
            "delegations": list(
                selectors.delegation_list(user=None if configurer else request.user)
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@workspace_view()
@require_POST
def delegation_end(request, delegation_id: int):
    delegation = get_object_or_404(ReviewDelegation, pk=delegation_id)
    try:
        review_config.review_delegation_end(actor=request.user, delegation=delegation)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The delegation has ended."))
    return redirect(workspace_reverse(request, "workspace:finance_review_delegations"))
