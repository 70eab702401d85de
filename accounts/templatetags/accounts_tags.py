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
