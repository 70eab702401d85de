"""{% load human %}: dates with the Hijri date, references, isolation and working time.

- ``{{ d|human_date }}``: ``<time datetime="2026-12-02">2 December 2026</time>
  <span class="hijri">(22 Jumada al-Akhirah 1448 AH)</span>`` (a datetime adds its local time).
- ``{{ d|short_date }}``: for lists and tables, "2 Dec 2026" with the Hijri date as the
  element's title (on hover and for assistive technology), never broken across lines.
- ``{{ d|date_text }}``: plain text for notifications, isolated (FSI…PDI).
- ``{{ value|isolate }}``: any value isolated (FSI…PDI) in generated text.
- ``{{ request.reference|ref }}``: a reference as ``<bdi dir="ltr" class="text-nowrap">``, never
  broken at its hyphens nor reordered in Arabic text.
- ``{{ hours|working_time }}`` / ``{{ hours|working_time:day_hours }}``: "30 working days".
"""

from django import template
from django.utils.html import format_html

from frontend import human

register = template.Library()


def _empty(value) -> bool:
    return value is None or value == ""


@register.filter
def human_date(value):
    if _empty(value):
        return ""
    parts = human.human_date_parts(value)
    if not parts.hijri:
        return format_html(
            '<time class="text-nowrap" datetime="{}">{}</time>', parts.iso, parts.text
        )
    return format_html(
        '<time class="text-nowrap" datetime="{}">{}</time> '
        '<span class="hijri text-nowrap">({})</span>',
        parts.iso,
        parts.text,
        parts.hijri,
    )


@register.filter
def short_date(value):
    if _empty(value):
        return ""
    parts = human.human_date_parts(value, compact=True)
    return format_html(
        '<time class="text-nowrap" datetime="{}" title="{}">{}</time>',
        parts.iso,
        parts.hijri,
        parts.text,
    )


@register.filter
def date_text(value) -> str:
    return "" if _empty(value) else human.date_text(value)


@register.filter(name="isolate")
def isolate_filter(value) -> str:
    return human.isolate(value)


@register.filter
def ref(value):
    if _empty(value):
        return ""
    return format_html('<bdi dir="ltr" class="text-nowrap">{}</bdi>', value)


@register.filter(name="working_time")
def working_time_filter(hours, day_hours=None) -> str:
    return human.working_time(hours, day_hours)
