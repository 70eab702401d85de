"""Budget pages: the budget lines of a fiscal year (finance.configure or finance.reports to
read), setting and revising a line with its reason and history, and the agency's budget
control (warn or refuse), all changes under finance.configure."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from finance.forms_budgets import (
    BudgetControlForm,
    BudgetLineForm,
    BudgetListFilter,
    BudgetReviseForm,
)
from finance.models import BudgetLine, FiscalYear
from finance.module import Perm
from finance.reports import policies
from finance.services import budgets as services
from tenants.decorators import workspace_view

LINES_PER_PAGE = 50


def _errors_to_form(form, error: ValidationError) -> None:
    for field, texts in error.message_dict.items():
        form.add_error(field if field in form.fields else None, texts)


@workspace_view()
def budgets(request):
    if not policies.can_see_budgets(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))
    query = request.GET.copy()
    if not query.get("fiscal_year"):
        latest = FiscalYear.objects.order_by("-start").values_list("pk", flat=True).first()
        if latest is not None:
            query["fiscal_year"] = str(latest)
    form = BudgetListFilter(query)
    year = form.cleaned_data.get("fiscal_year") if form.is_valid() else None
    lines = (
        BudgetLine.objects.filter(fiscal_year=year)
        .select_related("account", "department", "period")
        .order_by("account__code", "department__name_ar", "period__number")
    )
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "finance/budgets/list.html",
        {
            "form": form,
            "page": page,
            "year": year,
            "can_configure": policies.can_configure(request.user),
            "query": f"fiscal_year={year.pk}" if year else "",
        },
        status=200 if form.is_valid() else 400,
    )


@workspace_view(Perm.CONFIGURE)
def budget_new(request):
    form = BudgetLineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            line = services.budget_line_create(
                actor=request.user,
                fiscal_year=data["fiscal_year"],
                account=data["account"],
                department=data["department"],
                period=data["period"],
                amount=data["amount"],
                reason=data["reason"],
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("The budget was set."))
            return redirect(
                "workspace:finance_budget", agency_slug=request.agency.slug, line_id=line.pk
            )
    return render(
        request,
        "finance/budgets/form.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@workspace_view()
def budget_detail(request, line_id):
    if not policies.can_see_budgets(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))
    line = get_object_or_404(
        BudgetLine.objects.select_related("account", "department", "period", "fiscal_year"),
        pk=line_id,
    )
    can_configure = policies.can_configure(request.user)
    form = BudgetReviseForm(request.POST or None)
    if request.method == "POST":
        if not can_configure:
            raise PermissionDenied(_("You do not have permission to do this."))
        if form.is_valid():
            try:
                services.budget_line_revise(
                    actor=request.user,
                    line=line,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("The budget was revised."))
                return redirect(request.path)
    return render(
        request,
        "finance/budgets/detail.html",
        {
            "line": line,
            "form": form if can_configure else None,
            "revisions": line.revisions.select_related("by").order_by("-at", "-id"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@workspace_view(Perm.CONFIGURE)
def budget_control(request):
    form = BudgetControlForm(
        request.POST or None, initial={"budget_control": services.budget_control()}
    )
    if request.method == "POST" and form.is_valid():
        services.budget_control_set(actor=request.user, value=form.cleaned_data["budget_control"])
        messages.success(request, _("The budget control was saved."))
        return redirect(request.path)
    return render(
        request,
        "finance/budgets/control.html",
        {"form": form},
        status=400 if form.is_bound and form.errors else 200,
    )
