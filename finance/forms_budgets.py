"""Forms of the budget pages; the rules (amounts, accounts, duplicates) are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from finance.constants import AccountKind, BudgetControl
from finance.forms_reports import MONTHS, AccountChoice
from finance.models import Account, FiscalYear, Period
from tenants.staff.models import Department


class BudgetLineForm(forms.Form):
    fiscal_year = forms.ModelChoiceField(
        label=_("Fiscal year"), queryset=FiscalYear.objects.all(), empty_label=None
    )
    account = AccountChoice(
        label=_("Account"),
        queryset=Account.objects.filter(
            kind__in=(AccountKind.EXPENSE, AccountKind.REVENUE), is_postable=True, is_active=True
        ),
        help_text=_("An expense or revenue account that takes entries."),
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
        empty_label=_("The whole agency"),
    )
    month = forms.TypedChoiceField(
        label=_("Month"),
        choices=[("", _("The whole year")), *MONTHS],
        coerce=int,
        required=False,
        empty_value=None,
    )
    amount = forms.CharField(label=_("Amount (SAR)"), max_length=30)
    reason = forms.CharField(label=_("Note"), required=False, max_length=500)

    def clean(self):
        cleaned = super().clean()
        year, month = cleaned.get("fiscal_year"), cleaned.get("month")
        cleaned["period"] = None
        if year is not None and month:
            cleaned["period"] = Period.objects.filter(fiscal_year=year, number=month).first()
            if cleaned["period"] is None:
                self.add_error("month", _("Choose a month of this fiscal year."))
        return cleaned


class BudgetReviseForm(forms.Form):
    amount = forms.CharField(label=_("New amount (SAR)"), max_length=30)
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class BudgetControlForm(forms.Form):
    budget_control = forms.ChoiceField(
        label=_("When a submitted voucher would exceed its budget"),
        choices=BudgetControl.choices,
        widget=forms.RadioSelect,
    )


class BudgetListFilter(forms.Form):
    fiscal_year = forms.ModelChoiceField(
        label=_("Fiscal year"),
        queryset=FiscalYear.objects.all(),
        required=False,
        empty_label=None,
    )
