from django import template
from django.urls import reverse

from core.modules import audit_action_label

register = template.Library()


@register.simple_tag(takes_context=True)
def wurl(context, name, **kwargs):
    """{% wurl 'workspace:staff_edit' membership_id=m.pk %}: a URL inside the current agency."""
    agency = context["request"].agency
    return reverse(name, kwargs={"agency_slug": agency.slug, **kwargs})


@register.filter
def widget_type(bound_field) -> str:
    return bound_field.field.widget.__class__.__name__


@register.filter
def a11y(bound_field):
    """Render a field's widget with its error and help text tied to it for screen readers."""
    described = []
    attrs = {}
    if bound_field.help_text:
        described.append(f"{bound_field.auto_id}_helptext")
    if bound_field.errors:
        described.append(f"{bound_field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound_field.field.required:
        attrs["required"] = True
    return bound_field.as_widget(attrs=attrs)


@register.filter
def can(user, codename: str) -> bool:
    """{% if user|can:"staff.manage_employees" %}: a permission in the current agency."""
    return bool(user and user.is_authenticated and user.has_perm("agency." + codename))


@register.filter
def audit_action(code: str):
    """{{ event.action|audit_action }}: the action's translated label (its code if unknown)."""
    return audit_action_label(code)
