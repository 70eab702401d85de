"""The configuration pages of finance: the chart of accounts, fiscal years and their periods
(close, reopen), opening balances. Thin: the services decide and refuse."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from finance import policies, selectors
from finance.forms import (
    AccountForm,
    FiscalYearForm,
    OpeningBalanceFormSet,
    ReasonForm,
    service_errors_to_formset,
)
from finance.models import Account, FiscalYear, Period
from finance.services import chart as services
from frontend.forms import apply_service_errors
from tenants.decorators import workspace_view
from tenants.staff.models import Department
from tenants.urls_helpers import workspace_reverse


@workspace_view("finance.configure")
def account_list(request):
    return render(request, "finance/workspace/accounts.html", {"tree": selectors.account_tree()})


def _account_page(request, account: Account | None):
    form = AccountForm(request.POST or None, account=account)
    if account is not None and request.method != "POST":
        form = AccountForm(
            initial={
                "code": account.code,
                "name_ar": account.name_ar,
                "name_en": account.name_en,
                "kind": account.kind,
                "parent": account.parent_id,
                "is_postable": account.is_postable,
                "is_active": account.is_active,
            },
            account=account,
        )
    elif account is None and request.method != "POST":
        parent = Account.objects.filter(pk=request.GET.get("parent") or 0).first()
        form = AccountForm(initial={"parent": parent and parent.pk, "kind": parent and parent.kind})
    if request.method == "POST" and form.is_valid():
        try:
            services.account_save(by=request.user, account=account, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(workspace_reverse(request, "workspace:finance_accounts"))
    return render(
        request,
        "finance/workspace/account_form.html",
        {"form": form, "account": account},
    )


@workspace_view("finance.configure")
def account_new(request):
    return _account_page(request, None)


@workspace_view("finance.configure")
def account_edit(request, account_id: int):
    return _account_page(request, get_object_or_404(Account, pk=account_id))


@workspace_view("finance.configure")
@require_POST
def account_remove(request, account_id: int):
    account = get_object_or_404(Account, pk=account_id)
    if services.account_remove(by=request.user, account=account):
        messages.success(request, _("The account is deleted."))
    else:
        messages.success(
            request, _("The account has entries or accounts under it: it is deactivated.")
        )
    return redirect(workspace_reverse(request, "workspace:finance_accounts"))


def _guard_periods(request) -> None:
    if not (policies.can_configure(request.user) or policies.can_close_periods(request.user)):
        raise PermissionDenied(_("You do not have permission to do this."))


@workspace_view()
def fiscal_year_list(request):
    _guard_periods(request)
    return render(
        request,
        "finance/workspace/fiscal_years.html",
        {
            "years": selectors.fiscal_years(),
            "can_configure": policies.can_configure(request.user),
            "can_close": policies.can_close_periods(request.user),
            "reason_form": ReasonForm(),
        },
    )


@workspace_view("finance.configure")
def fiscal_year_new(request):
    form = FiscalYearForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.fiscal_year_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The fiscal year and its twelve periods are created."))
            return redirect(workspace_reverse(request, "workspace:finance_fiscal_years"))
    return render(request, "finance/workspace/fiscal_year_form.html", {"form": form})


@workspace_view("finance.close_periods")
@require_POST
def period_close(request, period_id: int):
    period = get_object_or_404(Period, pk=period_id)
    try:
        services.period_close(by=request.user, period=period)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The period is closed."))
    return redirect(workspace_reverse(request, "workspace:finance_fiscal_years"))


@workspace_view("finance.close_periods")
def period_reopen(request, period_id: int):
    period = get_object_or_404(Period.objects.select_related("fiscal_year"), pk=period_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.period_reopen(by=request.user, period=period, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("The period is open again."))
            return redirect(workspace_reverse(request, "workspace:finance_fiscal_years"))
    return render(request, "finance/workspace/period_reopen.html", {"form": form, "period": period})


@workspace_view("finance.configure")
def opening_balances(request, fiscal_year_id: int):
    year = get_object_or_404(FiscalYear, pk=fiscal_year_id)
    choices = {
        "accounts": selectors.postable_accounts(),
        "departments": Department.objects.filter(is_active=True).order_by("name_ar"),
    }
    general: list[str] = []
    if request.method == "POST":
        data = request.POST
        if "add_line" in data:
            data = data.copy()
            data["rows-TOTAL_FORMS"] = str(int(data.get("rows-TOTAL_FORMS") or 0) + 1)
        formset = OpeningBalanceFormSet(data, prefix="rows", **choices)
        if "add_line" not in request.POST and formset.is_valid():
            try:
                services.opening_balances_save(
                    by=request.user, fiscal_year=year, rows=formset.lines()
                )
            except ValidationError as exc:
                general = service_errors_to_formset(formset, exc, prefix="rows")
            else:
                messages.success(request, _("Saved."))
                return redirect(
                    workspace_reverse(
                        request, "workspace:finance_opening_balances", fiscal_year_id=year.pk
                    )
                )
    else:
        rows = [
            {
                "account": b.account_id,
                "department": b.department_id,
                "debit": b.debit or "",
                "credit": b.credit or "",
            }
            for b in selectors.opening_balances(year)
        ]
        formset = OpeningBalanceFormSet(initial=rows + [{}], prefix="rows", **choices)
    return render(
        request,
        "finance/workspace/opening_balances.html",
        {"year": year, "formset": formset, "line_errors": general},
    )
