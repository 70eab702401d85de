"""Agency-side views: queue, request page and actions, catalogue, distribution."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from core.converters import parse_id
from core.files.downloads import private_file_response
from frontend.forms import apply_service_errors
from requests_app import policies, selectors, services
from requests_app.constants import REPLY_WORKING_DAYS, Priority, Status, Visibility
from requests_app.forms import (
    AskForm,
    DistributionRuleForm,
    EmployeeProfileForm,
    LeaveForm,
    PostponeForm,
    ReasonForm,
    ReassignForm,
    StaffCommentForm,
    TransactionTypeForm,
)
from requests_app.models import Attachment, DistributionRule, EmployeeProfile, TransactionType
from requests_app.module import Perm
from requests_app.services import uploads
from requests_app.services.live import request_version
from requests_app.views_files import PENDING_FIELD, files_first
from tenants.decorators import workspace_view
from tenants.selectors import department_scope
from tenants.staff.models import Membership
from tenants.urls_helpers import workspace_reverse


def _may_work(request) -> None:
    if not policies.uses_workspace(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))


def _request_or_404(request, request_id: int):
    _may_work(request)
    item = selectors.workspace_request(
        membership=request.membership, user=request.user, request_id=request_id
    )
    if item is None:
        raise Http404
    return item


@workspace_view()
def queue(request):
    _may_work(request)
    state = request.GET.get("state", "")
    state = state if state in Status.values or state in (selectors.LATE, selectors.DUE_SOON) else ""
    priority = request.GET.get("priority", "")
    priority = priority if priority in Priority.values else ""
    sort = request.GET.get("sort", "newest")
    sort = sort if sort in selectors.QUEUE_SORTS else "newest"
    scope = request.GET.get("scope", "mine")
    scope = scope if scope in ("mine", "all", "unassigned") else "mine"
    query = request.GET.get("q", "").strip()[:100]
    rows = selectors.queue(
        membership=request.membership,
        user=request.user,
        state=state,
        query=query,
        sort=sort,
        priority=priority,
        scope=scope,
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "state": state,
        "priority": priority,
        "sort": sort,
        "scope": scope,
        "q": query,
        "statuses": [
            *Status.choices,
            (selectors.LATE, _("Late")),
            # reached from the overview's count: shown as the current filter
            *([(selectors.DUE_SOON, _("Due soon"))] if state == selectors.DUE_SOON else []),
        ],
        "priorities": Priority.choices,
        "counts": selectors.queue_counts(
            membership=request.membership, user=request.user, scope=scope
        ),
        "can_see_all": policies.sees_all(request.user),
    }
    template = (
        "requests_app/workspace/partials/queue_rows.html"
        if request.GET.get("partial")
        else "requests_app/workspace/queue.html"
    )
    return render(request, template, context)


@workspace_view()
def request_detail(request, request_id: int):
    _may_work(request)
    item = selectors.workspace_request(
        membership=request.membership, user=request.user, request_id=request_id
    )
    if item is None:
        # Someone it was taken from is told where it went; anyone else: not found.
        moved = selectors.reassigned_away(membership=request.membership, request_id=request_id)
        if moved is None:
            raise Http404
        return render(request, "requests_app/workspace/reassigned_away.html", {"moved": moved})
    timeline, files = selectors.request_history(request_obj=item, external_only=False)
    return render(
        request,
        "requests_app/workspace/request_detail.html",
        {
            "item": item,
            # the socket's hello tells the page of a change made before it joined
            "live_version": request_version(item.updated_at),
            "timeline": timeline,
            "files": files,
            **_comment_draft(request, item),
            "sla": selectors.sla_clock(item=item),
            "reason_form": ReasonForm(),
            "reply_days": REPLY_WORKING_DAYS,
            # Both forms have a "reason" field: distinct ids, so each label names its own box.
            "reassign_form": ReassignForm(
                item=item, actor=request.user, prefix=None, auto_id="id_reassign_%s"
            ),
            "postpone_form": PostponeForm(auto_id="id_postpone_%s"),
            "can_reassign": policies.reassigns_directly(request.user),
            "can_reopen": policies.reopens(request.user),
            "can_postpone": policies.postpones_directly(request.user),
            # Shown with the reassign and postpone forms, on an open request only.
            "approvals": list(item.approvals.select_related("requested_by")[:10])
            if item.is_open
            else [],
            "decisions": list(item.assignments.all()[:5])
            if policies.sees_all(request.user)
            else [],
        },
    )


def _back(request, item):
    return redirect(workspace_reverse(request, "workspace:request_detail", request_id=item.pk))


def _flash_errors(request, errors) -> None:
    for messages_list in errors:
        for message in messages_list:
            messages.error(request, message)


def _action(request, request_id: int, run):
    item = _request_or_404(request, request_id)
    try:
        run(item)
    except ValidationError as exc:
        _flash_errors(request, [exc.messages])
    return _back(request, item)


COMMENT_DRAFT_KEY = "workspace:comment:{agency_id}:{request_id}"


def _comment_draft(request, item) -> dict:
    """The comment form of the request page: empty, or as the employee left it when it came
    back with an error (text, visibility and the files kept as pending uploads, listed with
    "remove"). Kept in the session until the comment is sent, so that neither the redirect
    nor a reload (the page reloads itself on live updates) loses it."""
    draft = request.session.get(
        COMMENT_DRAFT_KEY.format(agency_id=request.agency.pk, request_id=item.pk)
    )
    if not isinstance(draft, dict):
        return {"comment_form": StaffCommentForm(), "comment_pending": []}
    initial = {"body": str(draft.get("body") or "")}
    if draft.get("visibility") in Visibility.values:
        initial["visibility"] = draft["visibility"]
    return {
        "comment_form": StaffCommentForm(initial=initial),
        "comment_pending": uploads.pending_uploads_owned(
            user=request.user, ids=draft.get("pending") or []
        ),
        "pending_field": PENDING_FIELD,
    }


@workspace_view()
@require_POST
def request_comment(request, request_id: int):
    """The employee's comment, with files uploaded first: the chosen files are stored as
    pending uploads whatever else fails, and the form comes back (after the redirect) with the
    text as typed and the files listed with "remove"; the comment takes them when sent."""
    item = _request_or_404(request, request_id)
    key = COMMENT_DRAFT_KEY.format(agency_id=request.agency.pk, request_id=item.pk)
    if not item.is_open:
        request.session.pop(key, None)
        messages.error(request, _("This request is closed."))
        return _back(request, item)
    files = files_first(request, request.agency)
    pending = files["pending"]
    errors = [files["errors"]]
    if not files["changed_only"]:
        form = StaffCommentForm(request.POST, request.FILES)
        if not form.is_valid():
            errors.append([m for field in form.errors.values() for m in field])
        elif not files["errors"]:
            try:
                services.comment_add(
                    agency=request.agency,
                    request_obj=item,
                    author=request.user,
                    body=form.cleaned_data["body"],
                    visibility=form.cleaned_data["visibility"],
                    pending_upload_ids=[p.pk for p in pending],
                    voice=form.cleaned_data.get("voice"),
                    voice_duration=form.cleaned_data.get("voice_duration"),
                )
            except ValidationError as exc:
                errors.append(exc.messages)
            else:
                request.session.pop(key, None)
                messages.success(request, _("The comment was added."))
                return _back(request, item)
    request.session[key] = {
        "body": request.POST.get("body", "")[:10_000],
        "visibility": request.POST.get("visibility", ""),
        "pending": [p.pk for p in pending],
    }
    _flash_errors(request, errors)
    return _back(request, item)


def _text(request) -> str:
    form = ReasonForm(request.POST)
    return form.cleaned_data["text"] if form.is_valid() else ""


@workspace_view()
@require_POST
def request_start(request, request_id: int):
    return _action(
        request,
        request_id,
        lambda item: services.request_start(
            agency=request.agency, request_obj=item, actor=request.user
        ),
    )


@workspace_view()
@require_POST
def request_ask(request, request_id: int):
    item = _request_or_404(request, request_id)
    form = AskForm(request.POST)
    if not form.is_valid():
        _flash_errors(request, form.errors.values())
        return _back(request, item)
    try:
        services.request_ask_information(
            agency=request.agency,
            request_obj=item,
            actor=request.user,
            question=form.cleaned_data["text"],
            reply_within_days=form.cleaned_data["reply_within_days"] or REPLY_WORKING_DAYS,
        )
    except ValidationError as exc:
        _flash_errors(request, [exc.messages])
    return _back(request, item)


# Resolve and reject end the request for the beneficiary: the button leads to a confirmation
# step that says what will happen, with the text still editable; only a POST with confirm=1
# applies it (no JavaScript needed).
CLOSING_STEPS = {
    "resolve": {
        "title": _lazy("Resolve this request?"),
        "consequence": _lazy(
            "The request will be closed as completed. The beneficiary will be told, with your "
            "note if you wrote one, and invited to rate the service."
        ),
        "label": _lazy("Closing note to the beneficiary (optional)"),
        "button": _lazy("Yes, resolve the request"),
        "button_class": "btn-primary",
        "url_name": "workspace:request_resolve",
    },
    "reject": {
        "title": _lazy("Reject this request?"),
        "consequence": _lazy(
            "The beneficiary will be told the request is rejected with your reason. The request "
            "will be closed."
        ),
        "label": _lazy("Reason for rejecting"),
        "button": _lazy("Yes, reject the request"),
        "button_class": "btn-danger",
        "url_name": "workspace:request_reject",
    },
}


def _closing_step(request, request_id: int, step: str, run):
    """First POST: the confirmation page (nothing changes); a POST with confirm=1: the action.
    An error of the action shows the page again with what was typed."""
    item = _request_or_404(request, request_id)
    text = _text(request)
    if not item.is_open:
        messages.error(request, _("This request is already closed."))
        return _back(request, item)
    errors: list[str] = []
    if request.POST.get("confirm") == "1":
        try:
            run(item, text)
        except ValidationError as exc:
            errors = exc.messages
        else:
            return _back(request, item)
    elif step == "reject" and not text.strip():
        # nothing to confirm yet: back to the form, as the service would answer
        messages.error(request, _("Give the reason for rejecting the request."))
        return _back(request, item)
    return render(
        request,
        "requests_app/workspace/confirm_closing.html",
        {"item": item, "step": CLOSING_STEPS[step], "text": text, "errors": errors},
    )


@workspace_view()
@require_POST
def request_resolve(request, request_id: int):
    return _closing_step(
        request,
        request_id,
        "resolve",
        lambda item, text: services.request_resolve(
            agency=request.agency, request_obj=item, actor=request.user, note=text
        ),
    )


@workspace_view()
@require_POST
def request_reject(request, request_id: int):
    return _closing_step(
        request,
        request_id,
        "reject",
        lambda item, text: services.request_reject(
            agency=request.agency, request_obj=item, actor=request.user, reason=text
        ),
    )


@workspace_view()
@require_POST
def request_reopen(request, request_id: int):
    # Like every request action: a request one cannot see is 404, then the permission.
    item = _request_or_404(request, request_id)
    if not policies.can_reopen(request.user, item):
        raise PermissionDenied(_("You do not have permission to do this."))
    return _action(
        request,
        item.pk,
        lambda item: services.request_reopen(
            agency=request.agency,
            request_obj=item,
            actor=request.user,
            reason=_text(request),
        ),
    )


@workspace_view()
def request_file(request, request_id: int, file_id: int):
    item = _request_or_404(request, request_id)
    attachment = get_object_or_404(Attachment, pk=file_id, request=item)
    return private_file_response(attachment)


# --- catalogue and distribution (agency admin) -------------------------------------------------


@workspace_view(Perm.MANAGE_CATALOGUE)
def catalogue_list(request):
    form = TransactionTypeForm(
        request.POST or None, initial={"is_active": True, "expected_duration_hours": 72}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.transaction_type_save(
                agency=request.agency, actor=request.user, data=form.service_data()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The service was saved."))
            return redirect(workspace_reverse(request, "workspace:catalogue_list"))
    types = TransactionType.objects.select_related("department", "distribution_rule")
    return render(
        request,
        "requests_app/workspace/catalogue_list.html",
        {
            "types": types.order_by("name_ar"),
            "form": form,
            "day_hours": selectors.working_day_hours(),
        },
    )


@workspace_view(Perm.MANAGE_CATALOGUE)
def catalogue_edit(request, type_id: int):
    request_type = get_object_or_404(TransactionType, pk=type_id)
    form = TransactionTypeForm(
        request.POST or None, initial=TransactionTypeForm.initial_for(request_type)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.transaction_type_save(
                agency=request.agency,
                actor=request.user,
                data=form.service_data(),
                request_type=request_type,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The service was saved."))
            return redirect(workspace_reverse(request, "workspace:catalogue_list"))
    return render(
        request,
        "requests_app/workspace/catalogue_edit.html",
        {"form": form, "request_type": request_type},
    )


@workspace_view(Perm.MANAGE_DISTRIBUTION)
def distribution_list(request, rule_id: int | None = None):
    rule = get_object_or_404(DistributionRule, pk=rule_id) if rule_id else None
    form = DistributionRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.distribution_rule_save(actor=request.user, data=data, rule=rule)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The distribution rule was saved."))
            return redirect(workspace_reverse(request, "workspace:distribution_list"))
    rules = DistributionRule.objects.select_related("department").order_by("id")
    return render(
        request,
        "requests_app/workspace/distribution_list.html",
        {"rules": rules, "form": form, "rule": rule},
    )


@workspace_view(Perm.MANAGE_DISTRIBUTION)
def employee_availability(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    profile = EmployeeProfile.objects.filter(membership=membership).first()
    initial = {"weight": 1}
    if profile is not None:
        initial = {
            "skills": ", ".join(profile.skills),
            "weight": profile.weight,
            "max_open": profile.max_open,
            "is_out_of_office": profile.is_out_of_office,
            "work_schedule": profile.work_schedule,
        }
    is_leave = request.POST.get("form") == "leave"
    form = EmployeeProfileForm(
        None if is_leave else (request.POST or None), initial=initial, prefix="p"
    )
    leave_form = LeaveForm(request.POST if is_leave else None, prefix="l")
    if request.method == "POST":
        target = leave_form if is_leave else form
        if target.is_valid():
            try:
                if is_leave:
                    services.leave_add(
                        membership=membership,
                        actor=request.user,
                        **leave_form.cleaned_data,
                    )
                else:
                    services.employee_profile_save(
                        membership=membership,
                        actor=request.user,
                        data=form.service_data(),
                    )
            except ValidationError as exc:
                apply_service_errors(target, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(
                    workspace_reverse(
                        request, "workspace:employee_availability", membership_id=membership.pk
                    )
                )
    return render(
        request,
        "requests_app/workspace/availability.html",
        {
            "membership": membership,
            "form": form,
            "leave_form": leave_form,
            "leaves": membership.leaves.order_by("-starts_on")[:20],
        },
    )


__all__ = ["Visibility"]


# --- reassignment, postponement, approvals (R-13) ----------------------------------------------


def _reassign_or_postpone(request, item, form, run, done_message: str):
    """Shared flow of the two R-13 actions: applied directly with the permission, otherwise
    sent to a supervisor (the service returns the approval instead of the request)."""
    if not form.is_valid():
        _flash_errors(request, form.errors.values())
        return _back(request, item)
    try:
        result = run(item, form.cleaned_data)
    except ValidationError as exc:
        _flash_errors(request, [exc.messages])
    else:
        applied = isinstance(result, item.__class__)
        messages.success(
            request, done_message if applied else _("Your request was sent for approval.")
        )
    return _back(request, item)


@workspace_view()
@require_POST
def request_reassign(request, request_id: int):
    from requests_app.forms import ReassignForm
    from requests_app.services.approvals import request_reassign as reassign

    item = _request_or_404(request, request_id)
    return _reassign_or_postpone(
        request,
        item,
        ReassignForm(request.POST, item=item, actor=request.user),
        lambda item, data: reassign(
            agency=request.agency,
            request_obj=item,
            actor=request.user,
            new_assignee=data["new_assignee"],
            reason=data["reason"],
        ),
        _("The request was reassigned."),
    )


@workspace_view()
@require_POST
def request_postpone(request, request_id: int):
    from requests_app.forms import PostponeForm
    from requests_app.services.approvals import request_postpone as postpone

    item = _request_or_404(request, request_id)
    return _reassign_or_postpone(
        request,
        item,
        PostponeForm(request.POST),
        lambda item, data: postpone(
            agency=request.agency,
            request_obj=item,
            actor=request.user,
            until=data["until"],
            reason=data["reason"],
        ),
        _("The request was postponed."),
    )


@workspace_view()
def approval_list(request):
    from requests_app.services.approvals import pending_approvals

    if not policies.sees_all(request.user):
        raise PermissionDenied(_("Only a supervisor can decide."))
    approvals = list(pending_approvals(membership=request.membership, user=request.user))
    return render(request, "requests_app/workspace/approvals.html", {"approvals": approvals})


@workspace_view()
@require_POST
def approval_decide(request, approval_id: int):
    from requests_app.forms import DecisionForm
    from requests_app.models import ApprovalRequest
    from requests_app.services.approvals import approval_decide as decide

    if not policies.sees_all(request.user):
        raise PermissionDenied(_("Only a supervisor can decide."))
    approval = get_object_or_404(ApprovalRequest, pk=approval_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
    else:
        try:
            decide(
                agency=request.agency,
                approval=approval,
                actor=request.user,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _flash_errors(request, [exc.messages])
        else:
            messages.success(request, _("Your decision was recorded."))
    return redirect(workspace_reverse(request, "workspace:approval_list"))


# --- service levels ------------------------------------------------------------------------------


@workspace_view(Perm.MANAGE_SLA)
def sla_settings(request):
    from requests_app.forms import CalendarForm, HolidayForm, SlaPolicyForm
    from requests_app.models import Holiday, SlaPolicy
    from requests_app.services import sla

    _calendar, config = sla.agency_calendar()
    which = request.POST.get("form", "")
    policy_form = SlaPolicyForm(request.POST if which == "policy" else None, prefix="s")
    calendar_form = CalendarForm(
        request.POST if which == "calendar" else None,
        prefix="c",
        initial={
            "workdays": config.workdays,
            "day_start": config.day_start,
            "day_end": config.day_end,
            "warn_before_hours": config.warn_before_hours,
            "escalate_after_hours": config.escalate_after_hours,
        },
    )
    holiday_form = HolidayForm(request.POST if which == "holiday" else None, prefix="h")
    forms_by_name = {"policy": policy_form, "calendar": calendar_form, "holiday": holiday_form}
    if request.method == "POST" and which in forms_by_name:
        form = forms_by_name[which]
        if form.is_valid():
            try:
                if which == "policy":
                    sla.sla_policy_save(actor=request.user, **form.cleaned_data)
                elif which == "calendar":
                    sla.calendar_save(actor=request.user, **form.cleaned_data)
                else:
                    sla.holiday_add(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(workspace_reverse(request, "workspace:sla_settings"))
    return render(
        request,
        "requests_app/workspace/sla_settings.html",
        {
            "policy_form": policy_form,
            "calendar_form": calendar_form,
            "holiday_form": holiday_form,
            "policies": SlaPolicy.objects.select_related("transaction_type").order_by("id"),
            "holidays": Holiday.objects.all()[:100],
            "day_hours": _calendar.seconds_per_day / 3600,
        },
    )


# --- satisfaction, archive ------------------------------------------------------------------------


def _supervising(request) -> None:
    if not policies.sees_all(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))


@workspace_view()
def satisfaction(request):
    from requests_app.services.survey import survey_results

    _supervising(request)
    department_ids = department_scope(membership=request.membership, user=request.user)
    return render(
        request,
        "requests_app/workspace/satisfaction.html",
        {"results": survey_results(department_ids=department_ids)},
    )


@workspace_view()
def archive(request):
    _supervising(request)
    reference = request.GET.get("reference", "").strip()[:40]
    beneficiary = request.GET.get("beneficiary", "").strip()[:100]
    name = request.GET.get("name", "").strip()[:100]
    raw_type = request.GET.get("type", "")
    type_id = parse_id(raw_type)
    rows = selectors.archive_search(
        reference=reference, beneficiary=beneficiary, type_id=type_id, name=name
    )
    visible = selectors.workspace_requests(membership=request.membership, user=request.user)
    rows = rows.filter(request__in=visible.values("id"))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "requests_app/workspace/archive.html",
        {
            "page": page,
            "reference": reference,
            "beneficiary": beneficiary,
            "name": name,
            "type_id": type_id,
            "types": TransactionType.objects.order_by("name_ar"),
        },
    )
