from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.events import CHANNELS, configurable_events


class PreferencesForm(forms.Form):
    """One group of channel checkboxes per event a person may configure."""

    def __init__(self, *args, current: dict[str, set[str]], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(CHANNELS)
        for code, event in configurable_events().items():
            self.fields[code] = forms.MultipleChoiceField(
                label=event.label,
                required=False,
                choices=[(channel, labels[channel]) for channel in event.channels],
                initial=sorted(current.get(code, set(event.channels))),
                widget=forms.CheckboxSelectMultiple,
                help_text=_("Untick a channel to stop receiving this by it."),
            )

    def choices(self) -> dict[str, set[str]]:
        return {code: set(values) for code, values in self.cleaned_data.items()}
