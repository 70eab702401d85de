"""Forms of the voting part of meetings."""

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.constants import Majority, MajorityBase
from meetings.models_voting import Entitlement, PollKind


class PollForm(forms.Form):
    question = forms.CharField(label=_("Question"), max_length=500)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=PollKind.choices, initial=PollKind.YES_NO, widget=forms.RadioSelect
    )
    options = forms.CharField(
        label=_("Options (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For a choice among options only."),
    )
    max_choices = forms.IntegerField(
        label=_("Choices per voter"), min_value=1, max_value=50, initial=1
    )
    is_secret = forms.BooleanField(label=_("Secret ballot"), required=False)
    entitlement = forms.ChoiceField(
        label=_("Who votes"),
        choices=Entitlement.choices,
        initial=Entitlement.PRESENT,
        widget=forms.RadioSelect,
    )
    agenda_item = forms.TypedChoiceField(
        label=_("Agenda item"), coerce=int, required=False, empty_value=None
    )
    majority = forms.ChoiceField(label=_("Majority rule"), choices=Majority.choices)
    majority_base = forms.ChoiceField(label=_("Two thirds of"), choices=MajorityBase.choices)
    abstentions_count = forms.BooleanField(label=_("Abstentions count in the base"), required=False)
    chair_casting_vote = forms.BooleanField(label=_("The chair decides a tie"), required=False)

    def __init__(self, *args, meeting, agenda=(), **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "majority": meeting.majority,
                "majority_base": meeting.majority_base,
                "abstentions_count": meeting.abstentions_count,
                "chair_casting_vote": meeting.chair_casting_vote,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["agenda_item"].choices = [("", _("The whole meeting"))] + [
            (item.pk, f"{item.position}. {item.title}") for item in agenda
        ]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["options"] = [line for line in (data.get("options") or "").splitlines()]
        return data
