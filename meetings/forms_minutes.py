"""Forms of the minutes and the decisions register (field rules only; the services decide)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.forms_employees import EmployeeField
from meetings.models_minutes import DecisionStatus


class MinutesForm(forms.Form):
    body = forms.CharField(
        label=_("Text of the minutes"),
        widget=forms.Textarea(attrs={"rows": 20, "dir": "auto"}),
        help_text=_('A line starting with "## " begins a section.'),
    )


class RemarkForm(forms.Form):
    text = forms.CharField(label=_("Your remark"), widget=forms.Textarea(attrs={"rows": 4}))


class DecisionForm(forms.Form):
    meeting = forms.TypedChoiceField(label=_("Meeting"), coerce=int)
    agenda_item = forms.TypedChoiceField(
        label=_("Agenda item"), coerce=int, required=False, empty_value=None
    )
    text = forms.CharField(label=_("Decision"), widget=forms.Textarea(attrs={"rows": 4}))
    owner = EmployeeField(label=_("Owner"))
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, meetings=(), items=(), owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].choices = [("", "—")] + [(m.pk, m.title) for m in meetings]
        self.fields["agenda_item"].choices = [("", "—")] + [
            (i.pk, f"{i.meeting.title} — {i.position}. {i.title}") for i in items
        ]
        self.fields["owner"].offer(owners)


class FollowUpForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=DecisionStatus.choices)
    text = forms.CharField(
        label=_("Follow-up note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class RegisterFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *DecisionStatus.choices, ("late", _("Late"))],
    )
    owner_q = forms.CharField(
        label=_("Find an owner (name or email)"),
        required=False,
        max_length=100,
        # A small size: the filters' row is narrow on a phone (the font's average
        # character is wide, and the default 20 overflows 320 px).
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "size": 8}),
    )
    owner = EmployeeField(label=_("Owner"), required=False, empty_label=_("All"))
    body = forms.TypedChoiceField(
        label=_("Board or committee"), coerce=int, required=False, empty_value=None
    )
    due_from = forms.DateField(
        label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        label=_("Due until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, owners=(), bodies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].offer(owners)
        self.fields["body"].choices = [("", _("All"))] + [(b.pk, b.name) for b in bodies]
