"""Directional isolation of references, numbers and dates inside generated right-to-left text
(SMS, email text, titles), where no ``<bdi>`` element exists."""

from django import template
from django.utils.translation import get_language_bidi

register = template.Library()

FSI, PDI = "\u2068", "\u2069"  # FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE


@register.filter
def isolate(value) -> str:
    """``value`` between FSI and PDI when the active language is right-to-left, so that a
    reference (``MOH-2025-000012``) or a date keeps its own order inside Arabic text. Left as
    it is in left-to-right languages: the marks would push an English SMS out of GSM-7."""
    text = "" if value is None else str(value)
    if not text or not get_language_bidi():
        return text
    return f"{FSI}{text}{PDI}"
