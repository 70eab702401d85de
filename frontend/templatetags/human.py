"""{% load human %}: dates with the Hijri date, references, isolation and working time.

- ``{{ d|human_date }}``: ``<time datetime="2026-12-02">2 December 2026</time>
  <span class="hijri">(22 Jumada al-Akhirah 1448 AH)</span>``; ``human_datetime`` adds the
  local time of day ("2 December 2026, 10:00").
- ``{{ d|short_date }}`` / ``short_datetime``: for lists and tables, "2 Dec 2026" with the
  Hijri date as the element's title (on hover), never broken across lines.
- ``{{ d|date_text }}``: plain text for notifications, isolated (FSI…PDI).
- ``{{ value|isolate }}``: any value isolated (FSI…PDI) in generated text.
- ``{{ request.reference|ref }}``: a reference as ``<bdi dir="ltr" class="text-nowrap">``, never
  broken at its hyphens nor reordered in Arabic text.
- ``{{ hours|working_time }}`` / ``{{ hours|working_time:day_hours }}``: "30 working days".
"""

from datetime import date, datetime

from django import template
from django.utils.html import format_html

from frontend import human

register = template.Library()


def _empty(value) -> bool:
    return value is None or value == ""


def _moment(value):
    """A date or datetime; an ISO string (as JSON stores them, e.g. a timeline step's data)
    is parsed, anything unreadable is None."""
    if isinstance(value, (date, datetime)):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    # A bare day ("2026-12-02") stays a day, not midnight.
    return parsed.date() if len(str(value)) == 10 else parsed


def _full(value, *, with_time: bool):
    value = _moment(value)
    if value is None:
        return ""
    parts = human.human_date_parts(value, with_time=with_time)
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


def _short(value, *, with_time: bool):
    value = _moment(value)
    if value is None:
        return ""
    parts = human.human_date_parts(value, compact=True, with_time=with_time)
    return format_html(
        '<time class="text-nowrap" datetime="{}" title="{}">{}</time>',
        parts.iso,
        parts.hijri,
        parts.text,
    )


@register.filter
def human_date(value):
    return _full(value, with_time=False)


@register.filter
def human_datetime(value):
    return _full(value, with_time=True)


@register.filter
def short_date(value):
    return _short(value, with_time=False)


@register.filter
def short_datetime(value):
    return _short(value, with_time=True)


@register.filter
def date_text(value) -> str:
    value = _moment(value)
    return "" if value is None else human.date_text(value)


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
