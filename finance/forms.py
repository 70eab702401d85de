"""Forms of the finance pages. Field rules only: the services decide (and their errors are put
back on the fields and lines they name)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from finance.constants import AccountKind, VoucherStatus, VoucherType
from finance.models import Account
from tenants.staff.models import Department

AMOUNT_ATTRS = {"inputmode": "decimal", "dir": "ltr", "autocomplete": "off"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


def _departments():
    return Department.objects.filter(is_active=True).order_by("name_ar")


class VoucherForm(forms.Form):
    type = forms.ChoiceField(label=_("Voucher type"), choices=VoucherType.choices)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    counterparty = forms.CharField(label=_("Payee or payer"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    files = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args, fixed_type: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = _departments()
        if fixed_type:
            del self.fields["type"]


class LineForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("Cost centre"), queryset=Department.objects.none(), required=False
    )
    debit = forms.CharField(
        label=_("Debit"), required=False, max_length=20, widget=forms.TextInput(AMOUNT_ATTRS)
    )
    credit = forms.CharField(
        label=_("Credit"), required=False, max_length=20, widget=forms.TextInput(AMOUNT_ATTRS)
    )
    description = forms.CharField(label=_("Line description"), required=False, max_length=300)

    def __init__(self, *args, accounts=None, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts if accounts is not None else Account.objects
        self.fields["account"].label_from_instance = lambda a: f"{a.code} {a.name}"
        self.fields["department"].queryset = (
            departments if departments is not None else Department.objects
        )


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, accounts=None, departments=None, **kwargs):
        self._choices = {"accounts": accounts, "departments": departments}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), **self._choices}

    def lines(self) -> list[dict]:
        """Every line as posted (blank ones too, so errors keep the lines' positions)."""
        return [form.cleaned_data if form.is_valid() else {} for form in self.forms]


LineFormSet = forms.formset_factory(
    LineForm, formset=BaseLineFormSet, extra=0, max_num=200, absolute_max=200
)


class VoucherFilterForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Voucher type"), required=False, choices=[("", _("All"))] + VoucherType.choices
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + VoucherStatus.choices
    )
    period = forms.TypedChoiceField(label=_("Period"), required=False, coerce=int, empty_value=None)
    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, periods=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", _("All"))] + [
            (p.pk, f"{p.fiscal_year.name}/{p.number:02d}") for p in periods
        ]
        self.fields["department"].choices = [("", _("All"))] + [(d.pk, d.name) for d in departments]


class AccountForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20, widget=forms.TextInput({"dir": "ltr"}))
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(label=_("Name in English"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=AccountKind.choices)
    parent = forms.ModelChoiceField(
        label=_("Under the heading"), queryset=Account.objects.none(), required=False
    )
    is_postable = forms.BooleanField(
        label=_("Takes entries (a leaf of the chart)"), required=False, initial=True
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, account: Account | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = Account.objects.order_by("code")
        if account is not None:
            parents = parents.exclude(pk=account.pk)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = lambda a: f"{a.code} {a.name}"


class FiscalYearForm(forms.Form):
    start = forms.DateField(
        label=_("First month"),
        help_text=_("The fiscal year runs twelve months from the first day of this month."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    name = forms.CharField(
        label=_("Name"), max_length=40, required=False, help_text=_("Such as 2027.")
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class OpeningBalanceForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False
    )
    department = forms.ModelChoiceField(
        label=_("Cost centre"), queryset=Department.objects.none(), required=False
    )
    debit = forms.CharField(
        label=_("Debit"), required=False, max_length=20, widget=forms.TextInput(AMOUNT_ATTRS)
    )
    credit = forms.CharField(
        label=_("Credit"), required=False, max_length=20, widget=forms.TextInput(AMOUNT_ATTRS)
    )

    def __init__(self, *args, accounts=None, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts if accounts is not None else Account.objects
        self.fields["account"].label_from_instance = lambda a: f"{a.code} {a.name}"
        self.fields["department"].queryset = (
            departments if departments is not None else Department.objects
        )


OpeningBalanceFormSet = forms.formset_factory(
    OpeningBalanceForm, formset=BaseLineFormSet, extra=0, max_num=500, absolute_max=500
)


def service_errors_to_formset(formset, exc: ValidationError, prefix: str = "lines") -> list[str]:
    """Put a service's ``<prefix>.<index>.<field>`` errors on the formset's forms; return the
    errors about the lines as a whole (``<prefix>``)."""
    general: list[str] = []
    if not hasattr(exc, "error_dict"):
        return general
    for key, errors in exc.message_dict.items():
        parts = key.split(".")
        if parts[0] != prefix:
            continue
        if len(parts) == 1:
            general.extend(errors)
            continue
        index = int(parts[1])
        field = parts[2] if len(parts) > 2 else None
        if index < len(formset.forms):
            form = formset.forms[index]
            form.add_error(field if field in form.fields else None, errors)
    return general
