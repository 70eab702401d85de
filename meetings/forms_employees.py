"""The employee picker of meetings' forms: a select that offers a short list (the matches of a
search, see ``meetings.services.employees``) and accepts any active employee of the agency on
submit, so a choice made from a list narrowed by another search is not refused."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.converters import parse_id
from tenants.staff.models import Membership


class EmployeeField(forms.Field):
    """An active employee (the cleaned value: their ``Membership``), or None when not
    required and left empty. ``offer(memberships)`` sets the options shown; none but the
    empty one until then, never every employee."""

    widget = forms.Select
    default_error_messages = {
        "invalid_choice": _("Choose an active employee of the agency."),
    }

    def __init__(self, *, empty_label="—", **kwargs):
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.offer(())

    def offer(self, memberships) -> None:
        self.widget.choices = [("", self.empty_label)] + [
            (m.pk, m.user.display_name) for m in memberships
        ]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = parse_id(str(value))
        membership = None
        if pk is not None:
            membership = (
                Membership.objects.filter(pk=pk, is_active=True).select_related("user").first()
            )
        if membership is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return membership

    def prepare_value(self, value):
        return value.pk if isinstance(value, Membership) else value
