"""Forms of the schedule part: they only shape input; the services check it (and their
errors are attached to these fields by frontend.forms.apply_service_errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.constants import BodyKind, Majority, MajorityBase, MemberRole, Mode, QuorumKind, Rsvp
from meetings.forms_employees import EmployeeField

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends
LTR = {"dir": "ltr"}


class RulesForm(forms.Form):
    quorum_kind = forms.ChoiceField(label=_("Quorum"), choices=QuorumKind.choices)
    quorum_value = forms.DecimalField(
        label=_("Quorum value"),
        help_text=_("A number of members, or a share between 0 and 1 (0.5 = half)."),
        max_digits=6,
        decimal_places=3,
        initial="0.5",
        widget=forms.TextInput(attrs={**LTR, "inputmode": "decimal"}),
    )
    majority = forms.ChoiceField(label=_("Majority rule"), choices=Majority.choices)
    majority_base = forms.ChoiceField(
        label=_("Two thirds counted against"), choices=MajorityBase.choices
    )
    abstentions_count = forms.BooleanField(label=_("Abstentions count in the base"), required=False)
    chair_casting_vote = forms.BooleanField(
        label=_("The chair decides a tie"), required=False, initial=True
    )
    proxies_allowed = forms.BooleanField(label=_("Proxies allowed"), required=False, initial=True)
    proxy_cap = forms.IntegerField(
        label=_("Proxies one member may hold"),
        initial=1,
        widget=forms.NumberInput(attrs=LTR),
    )

    def rules(self) -> dict:
        values = {name: self.cleaned_data.get(name) for name in RulesForm.base_fields}
        return {name: value for name, value in values.items() if value not in (None, "")}


class BodyForm(RulesForm):
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(label=_("Name in English"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=BodyKind.choices)
    field_order = ["name_ar", "name_en", "kind"]


class PersonForm(forms.Form):
    """An employee of the agency, or an outside person by name and address (the fields are
    the keyword arguments of ``body_member_add`` and ``participant_add``)."""

    membership = EmployeeField(label=_("Employee"), required=False)
    name = forms.CharField(label=_("Or an outside person: name"), required=False, max_length=200)
    email = forms.EmailField(label=_("Email"), required=False, widget=forms.EmailInput(attrs=LTR))
    mobile = forms.CharField(
        label=_("Mobile"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={**LTR, "inputmode": "tel", "placeholder": "+9665…"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices, initial="member")
    weight = forms.DecimalField(
        label=_("Vote weight"),
        initial=1,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={**LTR, "inputmode": "decimal"}),
    )

    def __init__(self, *args, memberships=(), **kwargs):
        """``memberships``: the employees the picker offers (a search's matches)."""
        super().__init__(*args, **kwargs)
        self.fields["membership"].offer(memberships)


class MemberEditForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices)
    weight = forms.DecimalField(
        label=_("Vote weight"), max_digits=8, decimal_places=2, widget=forms.TextInput(attrs=LTR)
    )


class MeetingForm(RulesForm):
    body = forms.TypedChoiceField(
        label=_("Board or committee"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Leave empty for an ad-hoc meeting with its own rules."),
    )
    title_ar = forms.CharField(label=_("Title in Arabic"), max_length=200)
    title_en = forms.CharField(label=_("Title in English"), max_length=200, required=False)
    mode = forms.ChoiceField(label=_("How"), choices=Mode.choices, widget=forms.RadioSelect)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    conference_url = forms.CharField(
        label=_("Conference link"),
        max_length=500,
        required=False,
        help_text=_("For remote attendees (any provider: the platform does not host video)."),
        widget=forms.URLInput(attrs=LTR),
    )
    starts_at = forms.DateTimeField(
        label=_("Starts (Riyadh time)"),
        input_formats=[LOCAL_INPUT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    ends_at = forms.DateTimeField(
        label=_("Ends (Riyadh time)"),
        input_formats=[LOCAL_INPUT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    field_order = [
        "body",
        "title_ar",
        "title_en",
        "mode",
        "place",
        "conference_url",
        "starts_at",
        "ends_at",
    ]

    def __init__(self, *args, bodies=(), with_body=True, with_rules=True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_body:
            self.fields["body"].choices = [("", _("Ad hoc"))] + [(b.pk, b.name) for b in bodies]
        else:
            del self.fields["body"]
        if not with_rules:
            for name in RulesForm.base_fields:
                del self.fields[name]
        else:
            for name in RulesForm.base_fields:
                self.fields[name].required = False


class AgendaItemForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    presenter = forms.CharField(label=_("Presenter"), max_length=200, required=False)
    planned_minutes = forms.IntegerField(
        label=_("Planned minutes"), initial=10, widget=forms.NumberInput(attrs=LTR)
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Document"))
    item = forms.TypedChoiceField(
        label=_("Agenda item"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("The whole meeting"))] + [
            (item.pk, item.title) for item in items
        ]


class RsvpForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Will you attend?"),
        choices=[(c, label) for c, label in Rsvp.choices if c != Rsvp.PENDING],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)
