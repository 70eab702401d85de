"""The voucher pages of the workspace: the list, entering and correcting a voucher (a form
with its lines; "add a line" works without JavaScript), the voucher's page, cancelling a draft,
attachments. Thin: the services decide and refuse."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.files.downloads import private_file_response
from finance import policies, selectors
from finance.constants import VoucherStatus
from finance.forms import (
    LineFormSet,
    VoucherFilterForm,
    VoucherForm,
    service_errors_to_formset,
)
from finance.models import Voucher
from finance.services import ledger as ledger_services
from finance.services import vouchers as services
from frontend.forms import apply_service_errors
from tenants.decorators import workspace_view
from tenants.staff.models import Department
from tenants.urls_helpers import workspace_reverse

ADD_LINE = "add_line"
NEW_LINES = 2


def _voucher_or_404(request, voucher_id: int) -> Voucher:
    voucher = selectors.voucher_detail(user=request.user, voucher_id=voucher_id)
    if voucher is None:
        raise Http404
    return voucher


def _guard_vouchers(request) -> None:
    if not policies.can_use_vouchers(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))


@workspace_view()
def voucher_list(request):
    _guard_vouchers(request)
    departments = list(Department.objects.filter(is_active=True).order_by("name_ar"))
    periods = list(selectors.periods_all()[:36])
    form = VoucherFilterForm(request.GET or None, periods=periods, departments=departments)
    filters = selectors.VoucherFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.VoucherFilters(
            type=data["type"] or "",
            status=data["status"] or "",
            period=data["period"],
            department=data["department"],
        )
    page = selectors.voucher_list(user=request.user, filters=filters, page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "finance/workspace/vouchers.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_enter": policies.can_enter(request.user),
        },
    )


def _line_choices():
    return {
        "accounts": selectors.postable_accounts(),
        "departments": Department.objects.filter(is_active=True).order_by("name_ar"),
    }


def _with_more_lines(post, prefix: str = "lines"):
    """The posted data with one more (empty) line: the "add a line" button without JS."""
    data = post.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(data.get(key, 0))
    except ValueError:
        total = 0
    data[key] = str(min(total + 1, 200))
    return data


def _mirror_formset(voucher: Voucher, choices) -> LineFormSet:
    """The lines of a reversing voucher, shown and never read back from the request: they
    mirror the voucher it reverses (the service refuses any other lines)."""
    formset = LineFormSet(initial=_lines_initial(voucher), prefix="lines", **choices)
    formset.extra = 0
    for line in formset.forms:
        for field in line.fields.values():
            field.disabled = True
    return formset


def _lines_initial(voucher: Voucher) -> list[dict]:
    return [
        {
            "account": line.account_id,
            "department": line.department_id,
            "debit": line.debit or "",
            "credit": line.credit or "",
            "description": line.description,
        }
        for line in voucher.lines.all()
    ]


def _voucher_form(voucher: Voucher | None, data=None, files=None, **kwargs) -> VoucherForm:
    form = VoucherForm(data, files, fixed_type=voucher is not None, **kwargs)
    if voucher is not None and voucher.reverses_id is not None:
        # A reversing voucher keeps the original's department (its lines mirror it).
        form.fields["department"].disabled = True
        form.initial.setdefault("department", voucher.department_id)
    return form


def _voucher_form_page(request, *, voucher: Voucher | None):
    """The voucher form (new when ``voucher`` is None): header, lines, attachments. A
    reversing voucher's lines and department are shown but not taken from the request."""
    choices = _line_choices()
    editing = voucher is not None
    mirrored = editing and voucher.reverses_id is not None
    if request.method == "POST" and ADD_LINE in request.POST:
        data = _with_more_lines(request.POST)
        form = _voucher_form(voucher, data)
        formset = (
            _mirror_formset(voucher, choices)
            if mirrored
            else LineFormSet(data, prefix="lines", **choices)
        )
        # Shown again without errors: the person is still typing.
        form._errors, formset._errors, formset._non_form_errors = {}, [], []
        for line in formset.forms:
            line._errors = {}
        return _render_form(request, voucher, form, formset, [], quiet=True)
    if request.method == "POST":
        form = _voucher_form(voucher, request.POST, request.FILES)
        formset = (
            _mirror_formset(voucher, choices)
            if mirrored
            else LineFormSet(request.POST, prefix="lines", **choices)
        )
        general: list[str] = []
        if form.is_valid() & (mirrored or formset.is_valid()):
            data = form.cleaned_data
            fields = {
                "by": request.user,
                "date": data["date"],
                "department": voucher.department if mirrored else data["department"],
                "counterparty": data["counterparty"],
                "description": data["description"],
                "lines": services.reversal_lines(voucher) if mirrored else formset.lines(),
                "files": data["files"],
            }
            try:
                if editing:
                    saved = services.voucher_update(
                        voucher=voucher,
                        remove_attachments=request.POST.getlist("remove_attachment"),
                        **fields,
                    )
                else:
                    saved = services.voucher_create(type=data["type"], **fields)
            except ValidationError as exc:
                general = service_errors_to_formset(formset, exc)
                apply_service_errors(form, _without_lines(exc))
            else:
                messages.success(
                    request,
                    _("Voucher %(number)s saved.") % {"number": saved.number},
                )
                return redirect(
                    workspace_reverse(request, "workspace:finance_voucher", voucher_id=saved.pk)
                )
        return _render_form(request, voucher, form, formset, general)
    if editing:
        form = _voucher_form(
            voucher,
            initial={
                "date": voucher.date,
                "department": voucher.department_id,
                "counterparty": voucher.counterparty,
                "description": voucher.description,
            },
        )
        if mirrored:
            return _render_form(request, voucher, form, _mirror_formset(voucher, choices), [])
        initial = _lines_initial(voucher)
    else:
        membership = getattr(request, "membership", None)
        form = VoucherForm(
            initial={
                "type": request.GET.get("type", ""),
                "department": getattr(membership, "department_id", None),
            }
        )
        initial = [{} for _index in range(NEW_LINES)]
    formset = LineFormSet(initial=initial, prefix="lines", **choices)
    formset.extra = 0
    return _render_form(request, voucher, form, formset, [])


def _without_lines(exc: ValidationError) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    rest = {k: v for k, v in exc.error_dict.items() if not k.startswith("lines")}
    return ValidationError(rest)


def _render_form(request, voucher, form, formset, general, *, quiet: bool = False):
    return render(
        request,
        "finance/workspace/voucher_form.html",
        {
            "voucher": voucher,
            "form": form,
            "formset": formset,
            "line_errors": general,
            "quiet": quiet,
            "attachments": list(voucher.attachments.all()) if voucher else [],
        },
    )


@workspace_view("finance.enter")
def voucher_new(request):
    return _voucher_form_page(request, voucher=None)


@workspace_view()
def voucher_edit(request, voucher_id: int):
    voucher = _voucher_or_404(request, voucher_id)
    if not policies.can_edit(request.user, voucher):
        raise PermissionDenied(
            _("Only the maker can correct a voucher, and only before it is submitted.")
        )
    return _voucher_form_page(request, voucher=voucher)


@workspace_view()
def voucher_detail(request, voucher_id: int):
    return voucher_page_render(request, _voucher_or_404(request, voucher_id))


def voucher_page_render(request, voucher, *, panel: dict | None = None, status: int = 200):
    """The voucher's page; ``panel``: the review panel's context when a review action sends
    the page back with its errors (finance.views.review)."""
    debit, credit = selectors.voucher_totals(voucher)
    return render(
        request,
        "finance/workspace/voucher.html",
        {
            "voucher": voucher,
            "debit": debit,
            "credit": credit,
            "can_edit": policies.can_edit(request.user, voucher),
            "can_cancel": policies.can_cancel(request.user, voucher),
            "can_reverse": policies.can_reverse(request.user, voucher)
            and not any(r.status != VoucherStatus.CANCELLED for r in voucher.reversals.all()),
            "panel": panel,
        },
        status=status,
    )


@workspace_view()
@require_POST
def voucher_cancel(request, voucher_id: int):
    voucher = _voucher_or_404(request, voucher_id)
    try:
        services.voucher_cancel(
            by=request.user, voucher=voucher, reason=request.POST.get("reason", "")
        )
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The voucher is cancelled; its number stays, marked cancelled.")
        )
    return redirect(workspace_reverse(request, "workspace:finance_voucher", voucher_id=voucher.pk))


@workspace_view("finance.enter")
@require_POST
def voucher_reverse(request, voucher_id: int):
    voucher = _voucher_or_404(request, voucher_id)
    from django.utils.dateparse import parse_date

    try:
        reversal = ledger_services.voucher_reverse(
            voucher,
            by=request.user,
            date=parse_date(request.POST.get("date", "") or "") or None,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(
            workspace_reverse(request, "workspace:finance_voucher", voucher_id=voucher.pk)
        )
    messages.success(request, _("A reversing voucher was entered as a draft."))
    return redirect(workspace_reverse(request, "workspace:finance_voucher", voucher_id=reversal.pk))


@workspace_view()
def voucher_attachment(request, voucher_id: int, attachment_id: int):
    voucher = _voucher_or_404(request, voucher_id)
    attachment = next((a for a in voucher.attachments.all() if a.pk == attachment_id), None)
    if attachment is None:
        raise Http404
    return private_file_response(attachment)
