from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.services import MAX_REMIND_MINUTES
from appointments.sources import Source, sources

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input shows and sends


class AppointmentForm(forms.Form):
    """An appointment of one's own calendar; when adding, one optional field per registered
    source (appointments.sources) names what it is about."""

    title = forms.CharField(label=_("Title"), max_length=200)
    starts_at = forms.DateTimeField(
        label=_("Starts"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    remind_minutes_before = forms.IntegerField(
        label=_("Remind me (minutes before)"),
        min_value=0,
        max_value=MAX_REMIND_MINUTES,
        initial=30,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, with_sources: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = sources() if with_sources else []
        if self.sources:
            notes = self.fields.pop("notes")
            for source in self.sources:
                self.fields[source.field] = forms.CharField(
                    label=source.label,
                    max_length=40,
                    required=False,
                    widget=forms.TextInput(attrs={"dir": "ltr"}),
                )
            self.fields["notes"] = notes

    def clean(self):
        data = super().clean()
        named = [source for source in self.sources if (data.get(source.field) or "").strip()]
        if len(named) > 1:
            raise forms.ValidationError(_("Link the appointment to one thing at most."))
        return data

    def named_source(self) -> tuple[Source, str] | None:
        """The source the employee filled in, with the text they typed (stripped)."""
        for source in self.sources:
            text = (self.cleaned_data.get(source.field) or "").strip()
            if text:
                return source, text
        return None
