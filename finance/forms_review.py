"""Forms of the review chain pages: a chain with its levels, a decision's reason, a delegation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from finance.constants import VoucherType
from finance.models_review import LevelKind
from finance.services.review_config import MAX_LEVELS, LevelInput


class ChainForm(forms.Form):
    voucher_type = forms.ChoiceField(label=_("Type of voucher"), choices=VoucherType.choices)
    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None
    )
    min_amount = forms.CharField(label=_("From amount (included)"), initial="0")
    max_amount = forms.CharField(
        label=_("Up to amount (not included)"),
        required=False,
        help_text=_("Leave empty for no upper limit."),
    )

    def __init__(self, *args, departments=(), roles=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("Every department without its own chain"))] + [
            (d.pk, d.name) for d in departments
        ]
        role_choices = [("", "—")] + [(r.pk, r.name) for r in roles]
        people_choices = [(m.user_id, m.user.display_name) for m in people]
        for n in range(1, MAX_LEVELS + 1):
            self.fields[f"level_{n}_kind"] = forms.ChoiceField(
                label=_("Level %(n)s: who reviews") % {"n": n},
                choices=[("", _("No level"))] + list(LevelKind.choices),
                required=n == 1,
                help_text=_("The last level given is final approval.") if n == 1 else "",
            )
            self.fields[f"level_{n}_role"] = forms.TypedChoiceField(
                label=_("Level %(n)s: role") % {"n": n},
                choices=role_choices,
                required=False,
                coerce=int,
                empty_value=None,
            )
            self.fields[f"level_{n}_users"] = forms.TypedMultipleChoiceField(
                label=_("Level %(n)s: people (named or committee)") % {"n": n},
                choices=people_choices,
                required=False,
                coerce=int,
            )
            self.fields[f"level_{n}_required"] = forms.IntegerField(
                label=_("Level %(n)s: approvals a committee needs") % {"n": n},
                required=False,
                min_value=1,
            )

    def levels(self) -> list[LevelInput]:
        data = self.cleaned_data
        return [
            LevelInput(
                kind=data[f"level_{n}_kind"],
                role_id=data.get(f"level_{n}_role"),
                user_ids=list(data.get(f"level_{n}_users") or []),
                required=data.get(f"level_{n}_required") or 1,
            )
            for n in range(1, MAX_LEVELS + 1)
            if data.get(f"level_{n}_kind")
        ]

    def add_service_errors(self, exc) -> None:
        for key, messages in exc.message_dict.items():
            if key.startswith("level_"):
                self.add_error(f"{key}_kind", messages)
            elif key == "levels":
                self.add_error("level_1_kind", messages)
            else:
                self.add_error(key if key in self.fields else None, messages)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class DelegationForm(forms.Form):
    delegator = forms.TypedChoiceField(label=_("Absent reviewer"), coerce=int)
    delegate = forms.TypedChoiceField(label=_("Delegate"), coerce=int)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)

    def __init__(self, *args, delegators=(), delegates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegator"].choices = [(m.user_id, m.user.display_name) for m in delegators]
        self.fields["delegate"].choices = [("", "—")] + [
            (m.user_id, m.user.display_name) for m in delegates
        ]
