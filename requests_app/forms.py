from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app.constants import (
    REPLY_WORKING_DAYS,
    REPLY_WORKING_DAYS_MAX,
    REPLY_WORKING_DAYS_MIN,
    Category,
    Priority,
    Visibility,
)
from requests_app.models import DistributionRule, TransactionType
from tenants.staff.models import Department


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class RequestForm(forms.Form):
    transaction_type = forms.TypedChoiceField(label=_("Service"), coerce=int, choices=())
    subject = forms.CharField(label=_("Subject"), max_length=200)
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        initial=Priority.NORMAL,
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Documents, images or audio; up to 10 files."),
    )

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["transaction_type"].choices = [(t.type_id, t.name) for t in types]


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    voice = forms.FileField(
        label=_("Voice message"),
        required=False,
        help_text=_("Record in the browser, or choose an audio file."),
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*", "data-voice-input": "1"}),
    )
    voice_duration = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=3600,
        widget=forms.HiddenInput(attrs={"data-voice-duration": "1"}),
    )


class StaffCommentForm(CommentForm):
    visibility = forms.ChoiceField(
        label=_("Who can see it"),
        choices=Visibility.choices,
        initial=Visibility.INTERNAL,
        widget=forms.RadioSelect,
    )


class ReasonForm(forms.Form):
    text = forms.CharField(
        label=_("Text"), max_length=5_000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class AskForm(forms.Form):
    """The employee's question to the beneficiary and the time given to answer."""

    text = forms.CharField(
        label=_("Ask the beneficiary for information"),
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reply_within_days = forms.IntegerField(
        label=_("Time to reply (working days)"),
        min_value=REPLY_WORKING_DAYS_MIN,
        max_value=REPLY_WORKING_DAYS_MAX,
        initial=REPLY_WORKING_DAYS,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One message for every way the number can be wrong, in the active language.
        message = _("The time to reply is between %(min)s and %(max)s working days.") % {
            "min": REPLY_WORKING_DAYS_MIN,
            "max": REPLY_WORKING_DAYS_MAX,
        }
        self.fields["reply_within_days"].error_messages.update(
            {"invalid": message, "min_value": message, "max_value": message}
        )


def _lines(value: str) -> list[str]:
    return [line.strip()[:200] for line in (value or "").splitlines() if line.strip()][:30]


class TransactionTypeForm(forms.Form):
    name_ar = forms.CharField(label=_("Name in Arabic"), max_length=200)
    name_en = forms.CharField(
        label=_("Name in English"),
        max_length=200,
        widget=forms.TextInput(attrs={"dir": "ltr", "lang": "en"}),
    )
    description_ar = forms.CharField(
        label=_("Description in Arabic"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_en = forms.CharField(
        label=_("Description in English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    required_documents_ar = forms.CharField(
        label=_("Required documents in Arabic (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required_documents_en = forms.CharField(
        label=_("Required documents in English (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
    )
    department = forms.ModelChoiceField(
        label=_("Department"), required=False, queryset=Department.objects.none()
    )
    expected_duration_hours = forms.IntegerField(
        label=_("Expected duration (hours)"), min_value=1, max_value=24 * 365
    )
    default_priority = forms.ChoiceField(label=_("Default priority"), choices=Priority.choices)
    distribution_rule = forms.ModelChoiceField(
        label=_("Distribution rule"), required=False, queryset=DistributionRule.objects.none()
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        self.fields["distribution_rule"].queryset = DistributionRule.objects.all()

    @staticmethod
    def initial_for(request_type: TransactionType) -> dict:
        return {
            "name_ar": request_type.name_ar,
            "name_en": request_type.name_en,
            "description_ar": request_type.description_ar,
            "description_en": request_type.description_en,
            "category": request_type.category,
            "required_documents_ar": "\n".join(request_type.required_documents_ar),
            "required_documents_en": "\n".join(request_type.required_documents_en),
            "department": request_type.department,
            "expected_duration_hours": request_type.expected_duration_hours,
            "default_priority": request_type.default_priority,
            "distribution_rule": request_type.distribution_rule,
            "is_active": request_type.is_active,
        }

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["required_documents_ar"] = _lines(data["required_documents_ar"])
        data["required_documents_en"] = _lines(data["required_documents_en"])
        return data


class DistributionRuleForm(forms.ModelForm):
    required_skills = forms.CharField(label=_("Required skills (comma separated)"), required=False)

    class Meta:
        model = DistributionRule
        fields = [
            "name_ar",
            "name_en",
            "department",
            "restrict_to_department",
            "required_skills",
            "respect_availability",
            "max_open",
            "chooser",
        ]

    def clean_required_skills(self):
        value = self.cleaned_data["required_skills"]
        if isinstance(value, list):
            return value
        return [s.strip()[:50] for s in (value or "").split(",") if s.strip()][:20]


class EmployeeProfileForm(forms.Form):
    skills = forms.CharField(label=_("Skills (comma separated)"), required=False)
    weight = forms.IntegerField(label=_("Weight"), min_value=1, max_value=100, initial=1)
    max_open = forms.IntegerField(label=_("Own cap of open requests"), min_value=1, required=False)
    is_out_of_office = forms.BooleanField(label=_("Out of office"), required=False)
    work_schedule = forms.JSONField(
        label=_("Work schedule"),
        required=False,
        help_text=_(
            'Weekday (Monday=0) to ranges, e.g. {"6": [["08:00", "15:00"]]}; empty: any time.'
        ),
    )

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["skills"] = [s.strip()[:50] for s in (data["skills"] or "").split(",") if s.strip()][
            :20
        ]
        data["work_schedule"] = data["work_schedule"] or {}
        return data


class LeaveForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ReassignForm(forms.Form):
    """The new assignee among requests_app.selectors.reassign_candidates (never the actor nor
    the current assignee), each shown with department and job title."""

    new_assignee = forms.ModelChoiceField(label=_("New assignee"), queryset=None)
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, item, actor, **kwargs):
        from requests_app.selectors import reassign_candidate_label, reassign_candidates

        super().__init__(*args, **kwargs)
        self.fields["new_assignee"].queryset = reassign_candidates(item=item, actor=actor)
        self.fields["new_assignee"].label_from_instance = reassign_candidate_label


class PostponeForm(forms.Form):
    until = forms.DateTimeField(
        label=_("New date"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class SlaPolicyForm(forms.Form):
    transaction_type = forms.ModelChoiceField(label=_("Service"), queryset=None)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    first_response_hours = forms.IntegerField(
        label=_("First response (working hours)"), min_value=1, max_value=10_000
    )
    resolution_hours = forms.IntegerField(
        label=_("Resolution (working hours)"), min_value=1, max_value=10_000
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["transaction_type"].queryset = TransactionType.objects.order_by("name_ar")

    def clean(self):
        data = super().clean()
        first, resolution = data.get("first_response_hours"), data.get("resolution_hours")
        if first and resolution and first > resolution:
            self.add_error(
                "first_response_hours", _("The first response cannot come after the resolution.")
            )
        return data


WEEKDAYS = [
    (6, _("Sunday")),
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
]


class CalendarForm(forms.Form):
    workdays = forms.TypedMultipleChoiceField(
        label=_("Working days"), coerce=int, choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    day_start = forms.TimeField(
        label=_("Working day starts"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    day_end = forms.TimeField(
        label=_("Working day ends"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    warn_before_hours = forms.IntegerField(
        label=_("Warn the assignee before (hours)"), min_value=0, max_value=1000
    )
    escalate_after_hours = forms.IntegerField(
        label=_("Escalate after being late for (working hours)"), min_value=0, max_value=1000
    )

    def clean(self):
        data = super().clean()
        if data.get("day_start") and data.get("day_end") and data["day_end"] <= data["day_start"]:
            self.add_error("day_end", _("The working day must end after it starts."))
        return data


class HolidayForm(forms.Form):
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(label=_("Name"), max_length=120)


class SurveyForm(forms.Form):
    """The agency's satisfaction form: by default one required overall rating, two optional
    ratings and an optional comment; the extended form's eleven statements (1–5) and a
    suggestion."""

    def __init__(self, *args, form_kind: str = "short", **kwargs):
        from requests_app.survey import (
            EASE_SCALE,
            OVERALL_SCALE,
            SCALE,
            SPEED_SCALE,
            STATEMENTS,
            SurveyKind,
        )

        super().__init__(*args, **kwargs)
        self.form_kind = form_kind
        if form_kind == SurveyKind.EXTENDED:
            for index, statement in enumerate(STATEMENTS, 1):
                self.fields[f"q{index}"] = forms.TypedChoiceField(
                    label=f"{index}. {statement}",
                    choices=SCALE,
                    coerce=int,
                    widget=forms.RadioSelect,
                )
            suggestion_label = _("Suggestions (optional)")
        else:
            self.fields["overall"] = forms.TypedChoiceField(
                label=_("Overall, how satisfied are you with the service?"),
                choices=OVERALL_SCALE,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose your overall rating.")},
            )
            optional = [
                (
                    "ease",
                    _("How easy was it to apply and follow your request online? (optional)"),
                    EASE_SCALE,
                ),
                ("speed", _("How quickly was your request completed? (optional)"), SPEED_SCALE),
            ]
            for name, label, scale in optional:
                self.fields[name] = forms.TypedChoiceField(
                    label=label,
                    choices=scale,
                    coerce=int,
                    empty_value=None,
                    required=False,
                    widget=forms.RadioSelect,
                )
            suggestion_label = _("Anything else you would like to tell us? (optional)")
        self.fields["suggestion"] = forms.CharField(
            label=suggestion_label,
            required=False,
            max_length=5000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )

    def answers(self) -> dict:
        """The keyword arguments of survey_submit."""
        from requests_app.survey import STATEMENTS, SurveyKind

        data = self.cleaned_data
        if self.form_kind == SurveyKind.EXTENDED:
            return {"answers": [data[f"q{i}"] for i in range(1, len(STATEMENTS) + 1)]}
        return {"overall": data["overall"], "ease": data["ease"], "speed": data["speed"]}
