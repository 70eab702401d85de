"""Template helpers of the account pages."""

from django import template
from django.utils.http import url_has_allowed_host_and_scheme

register = template.Library()


@register.filter
def local_path(value) -> str:
    """The value when it is a path on this site, else "" (a ``next=`` never echoes elsewhere)."""
    value = str(value or "")
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None, require_https=False):
        return ""
    return value


@register.filter
def control(bound_field):
    """A field's input (Bootstrap 5.3) with its hint and error tied to it for screen readers
    and marked ``is-invalid`` when the field has an error."""
    attrs = {}
    described = []
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_helptext")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
        attrs["class"] = f"{bound_field.field.widget.attrs.get('class', '')} is-invalid".strip()
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound_field.field.required:
        attrs["aria-required"] = "true"
    return bound_field.as_widget(attrs=attrs)


@register.filter
def input_id(bound_field) -> str:
    """The id of the input an error summary links to (a radio group's first radio)."""
    if bound_field.field.widget.__class__.__name__ in ("RadioSelect", "CheckboxSelectMultiple"):
        return f"{bound_field.auto_id}_0"
    return bound_field.id_for_label
