"""Numbers, dates and durations as people read them, in Arabic and English (issue 12).

- ``isolate``: a value inside generated text (SMS, email, in-app note) between FIRST STRONG
  ISOLATE and POP DIRECTIONAL ISOLATE, so that a date, reference or number keeps its own
  direction inside a sentence of the other one ("حتى 2026-12-02 10:00" was drawn
  "10:00 2026-12-02"). Pages use ``<bdi>`` instead (``frontend.templatetags.human``).
- Dates: the Gregorian date with the Hijri date of the Umm al-Qura calendar beside it
  (``hijridate``, which covers 1343-1500 AH, i.e. 1924-2077; outside that range the Hijri part
  is left out rather than guessed).
- ``working_time``: working hours as working days (of the agency's working-day length) and
  hours, with Arabic's six plural forms through ngettext.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, ngettext, pgettext
from hijridate import Gregorian

FSI = "\u2068"  # FIRST STRONG ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
DEFAULT_WORKING_DAY_HOURS = 8


def isolate(value) -> str:
    """``value`` as text between FSI and PDI (nothing for None or an empty value)."""
    text = "" if value is None else str(value)
    return f"{FSI}{text}{PDI}" if text else ""


def local_day(value: date | datetime) -> date:
    """The calendar day of ``value`` where the reader is (aware datetimes in local time)."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


def hijri_date(value: date | datetime) -> str:
    """The Umm al-Qura Hijri date in the active language: "22 Jumada al-Akhirah 1448 AH",
    "22 جمادى الآخرة 1448 هـ"; "" outside the calendar's range."""
    day = local_day(value)
    try:
        hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    except (ValueError, OverflowError):
        return ""
    language = "ar" if (get_language() or "").startswith("ar") else "en"
    return pgettext("Hijri date: day, month name, year", "%(day)s %(month)s %(year)s AH") % {
        "day": hijri.day,
        "month": hijri.month_name(language),
        "year": hijri.year,
    }


def gregorian_date(value: date | datetime, *, compact: bool = False) -> str:
    """ "2 December 2026" ("2 Dec 2026" compact), "2 ديسمبر 2026" in Arabic."""
    return date_format(local_day(value), "j M Y" if compact else "j F Y")


def clock_time(value: datetime) -> str:
    """The local time of day, 24-hour: "10:00"."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "H:i")


@dataclass(frozen=True)
class HumanDate:
    """The parts a template puts together: ISO value for ``<time datetime>``, the Gregorian
    text (with the time of day for a datetime) and the Hijri date."""

    iso: str
    text: str
    hijri: str


def human_date_parts(
    value: date | datetime, *, compact: bool = False, with_time: bool | None = None
) -> HumanDate:
    """``with_time`` defaults to whether ``value`` is a datetime."""
    if with_time is None:
        with_time = isinstance(value, datetime)
    text = gregorian_date(value, compact=compact)
    if with_time and isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        iso = local.isoformat(timespec="minutes")
        text = pgettext("date and time", "%(date)s, %(time)s") % {
            "date": text,
            "time": clock_time(value),
        }
    else:
        iso = local_day(value).isoformat()
    return HumanDate(iso=iso, text=text, hijri=hijri_date(value))


def date_text(value: date | datetime | None, *, with_time: bool | None = None) -> str:
    """A date for generated text (notifications): "2 December 2026, 10:00 (22 Jumada
    al-Akhirah 1448 AH)", isolated (FSI…PDI) so it keeps its order in a sentence."""
    if value is None or value == "":
        return ""
    parts = human_date_parts(value, with_time=with_time)
    text = f"{parts.text} ({parts.hijri})" if parts.hijri else parts.text
    return isolate(text)


def working_time(hours, day_hours: float | None = None) -> str:
    """Working hours as working days and hours: 240 → "30 working days" / "30 يوم عمل" (8-hour
    days), 12 → "1 working day and 4 working hours", 5 → "5 working hours". ``day_hours``: the
    agency's working-day length (its SLA calendar; 7.5 for 08:00-15:30), else 8 hours."""
    if hours is None or hours == "":
        return ""
    hours = float(hours)
    day_hours = float(day_hours or DEFAULT_WORKING_DAY_HOURS)
    days = int(hours // day_hours)
    rest = round(hours - days * day_hours, 1)
    day_text = ngettext("%(count)s working day", "%(count)s working days", days) % {"count": days}
    # A fraction of an hour (a 7.5-hour day) is written as a decimal with a plural form that
    # shows the number (Arabic's forms for 1 and 2 are words: "ساعة عمل واحدة", "ساعتا عمل").
    whole = rest.is_integer()
    hour_text = ngettext(
        "%(count)s working hour",
        "%(count)s working hours",
        int(rest) if whole else max(math.ceil(rest), 3),
    ) % {"count": int(rest) if whole else number_format(rest, 1)}
    if not days:
        return hour_text
    if not rest:
        return day_text
    return pgettext("working days and hours", "%(days)s and %(hours)s") % {
        "days": day_text,
        "hours": hour_text,
    }


def working_day_hours(day_start: time, day_end: time) -> float:
    """The length of a working day from ``day_start`` to ``day_end``, in hours."""
    start = datetime.combine(date.min, day_start)
    return (datetime.combine(date.min, day_end) - start).total_seconds() / 3600
