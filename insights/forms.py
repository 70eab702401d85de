from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insights.models import EvaluationSettings
from insights.selectors import Period
from requests_app.survey import SurveyKind

MAX_DAYS = 731
DEFAULT_DAYS = 30


def default_period() -> Period:
    today = timezone.localdate()
    return Period(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today, grain="day")


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    grain = forms.ChoiceField(
        label=_("Trend by"),
        choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                self.add_error("end", _("The end of the period comes before its start."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "start", _("A period is at most %(days)s days.") % {"days": MAX_DAYS}
                )
            elif start < date(2000, 1, 1):
                self.add_error("start", _("Choose a date from the year 2000 on."))
        return data

    @classmethod
    def from_query(cls, params) -> tuple["PeriodForm", Period]:
        """The form bound to the query string (the default period when none is given), and the
        period to show: the chosen one when valid, else the default."""
        default = default_period()
        if not any(name in params for name in ("start", "end", "grain")):
            form = cls(initial={"start": default.start, "end": default.end, "grain": default.grain})
            return form, default
        form = cls(
            {
                "start": params.get("start", ""),
                "end": params.get("end", ""),
                "grain": params.get("grain", "day"),
            }
        )
        if form.is_valid():
            data = form.cleaned_data
            return form, Period(start=data["start"], end=data["end"], grain=data["grain"])
        return form, default


class MonthForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), widget=forms.TextInput(attrs={"type": "month"}), max_length=7
    )

    def clean_month(self) -> Period:
        raw = self.cleaned_data["month"]
        try:
            year, month = (int(part) for part in raw.split("-"))
            first = date(year, month, 1)
        except (ValueError, TypeError) as exc:
            raise ValidationError(_("Choose a month (year and month).")) from exc
        if first.year < 2000 or first > timezone.localdate():
            raise ValidationError(_("Choose a month that has begun, from the year 2000 on."))
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(start=first, end=following - timedelta(days=1), grain="day")


class EvaluationSettingsForm(forms.ModelForm):
    # Stored in the agency's schema (requests_app.SurveySettings), not on EvaluationSettings.
    survey_form = forms.ChoiceField(
        label=_("Satisfaction survey form"),
        choices=SurveyKind.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "What beneficiaries answer after a request is completed. The short form asks one "
            "required overall rating and optional details; the extended form asks the eleven "
            "statements of the CRM policy. Either feeds the satisfaction score."
        ),
    )

    class Meta:
        model = EvaluationSettings
        fields = [
            "weight_response",
            "weight_resolution",
            "weight_lateness",
            "weight_satisfaction",
            "response_target_hours",
            "resolution_target_hours",
            "min_requests",
        ]

    def clean(self):
        data = super().clean()
        weights = [
            data.get(name)
            for name in (
                "weight_response",
                "weight_resolution",
                "weight_lateness",
                "weight_satisfaction",
            )
        ]
        if all(w is not None for w in weights) and sum(weights) == 0:
            raise ValidationError(_("Give at least one component a weight above zero."))
        return data
