"""The filters of the financial reports: a fiscal year, a range of its months or two dates
inside it, a department (cost centre), an account."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from finance.models import Account, FiscalYear, Period
from finance.reports.scope import ReportScope
from finance.reports.selectors import VOUCHER_GROUPINGS
from tenants.staff.models import Department

MONTHS = [(n, str(n)) for n in range(1, 13)]


class AccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return f"{obj.code} · {obj.name}"


class ReportFilterForm(forms.Form):
    fiscal_year = forms.ModelChoiceField(
        label=_("Fiscal year"), queryset=FiscalYear.objects.all(), empty_label=None
    )
    period_from = forms.TypedChoiceField(
        label=_("From month"), choices=MONTHS, coerce=int, required=False
    )
    period_to = forms.TypedChoiceField(
        label=_("To month"), choices=MONTHS, coerce=int, required=False
    )
    date_from = forms.DateField(
        label=_("From date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("All departments"),
    )
    account = AccountChoice(
        label=_("Account"),
        queryset=Account.objects.all(),
        required=False,
        empty_label=_("All accounts"),
    )

    def __init__(self, data=None, *, account_required: bool = False, with_dates: bool = False):
        super().__init__(data)
        if account_required:
            self.fields["account"].required = True
            self.fields["account"].empty_label = None
        if not with_dates:
            del self.fields["date_from"], self.fields["date_to"]

    @classmethod
    def from_query(cls, query, **kwargs) -> ReportFilterForm:
        """Bound to the query string; with nothing asked yet, the latest fiscal year."""
        data = query.copy()
        if not data.get("fiscal_year"):
            latest = FiscalYear.objects.order_by("-start").values_list("pk", flat=True).first()
            if latest is not None:
                data["fiscal_year"] = str(latest)
        # The whole year unless asked otherwise, shown as such (not "from month 1 to month 1").
        for name, month in (("period_from", "1"), ("period_to", "12")):
            if not data.get(name):
                data[name] = month
        return cls(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        year = cleaned.get("fiscal_year")
        if year is None:
            return cleaned
        first, last = cleaned.get("period_from") or 1, cleaned.get("period_to") or 12
        if first > last:
            self.add_error("period_to", _("The last month comes before the first month."))
            return cleaned
        months = {
            p.number: p
            for p in Period.objects.filter(fiscal_year=year, number__in=(first, last)).only(
                "number", "start", "end"
            )
        }
        start = months[first].start if first in months else year.start
        end = months[last].end if last in months else year.end
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value is not None and not (year.start <= value <= year.end):
                self.add_error(name, _("Choose a date inside the fiscal year."))
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date comes before the start date."))
        if self.errors:
            return cleaned
        cleaned["start"] = date_from or start
        cleaned["end"] = date_to or end
        return cleaned

    def scope(self) -> ReportScope:
        data = self.cleaned_data
        return ReportScope(
            fiscal_year=data["fiscal_year"],
            start=data["start"],
            end=data["end"],
            department=data.get("department"),
            account=data.get("account"),
        )


class GroupingForm(forms.Form):
    by = forms.ChoiceField(
        label=_("Group by"),
        required=False,
        choices=[
            ("period", _("Month")),
            ("department", _("Department")),
            ("account", _("Account")),
            ("type", _("Voucher type")),
            ("status", _("Status")),
        ],
    )

    def grouping(self) -> str:
        value = self.cleaned_data.get("by") if self.is_valid() else None
        return value if value in VOUCHER_GROUPINGS else "period"
