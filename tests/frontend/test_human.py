"""Numbers, dates and durations as people read them (issue 12), in Arabic and English."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import number_format

from frontend.human import FSI, PDI, date_text, hijri_date, isolate, working_time

# 2 December 2026 is 22 Jumada al-Akhirah (Jumada II) 1448 in the Umm al-Qura calendar
# (1 Jumada II 1448 = 11 November 2026).
DAY = date(2026, 12, 2)
# 07:00 UTC is 10:00 in Riyadh.
MOMENT = datetime(2026, 12, 2, 7, 0, tzinfo=ZoneInfo("UTC"))


def render(source: str, **context) -> str:
    return Template("{% load human %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ar", "61\u066b1"), ("en", "61.1")],
)
def test_decimal_mark_is_arabic_in_arabic_and_a_point_in_english(language, expected):
    with translation.override(language):
        assert number_format(61.14, 1) == expected
        assert render("{{ v|floatformat:1 }}%", v=61.14) == expected + "%"
        assert render("{{ v }}", v=61.1) == expected  # a float printed as is


def test_arabic_thousands_separator_when_grouping():
    with translation.override("ar"):
        assert number_format(12345.5, 1, force_grouping=True) == "12\u066c345\u066b5"
    with translation.override("en"):
        assert number_format(12345.5, 1, force_grouping=True) == "12,345.5"


def test_digits_stay_latin_in_arabic():
    with translation.override("ar"):
        text = render("{{ d|human_date }} {{ v|floatformat:1 }}", d=DAY, v=61.1)
    assert not any("\u0660" <= char <= "\u0669" for char in text)


def test_hijri_date_of_a_known_day():
    with translation.override("en"):
        assert hijri_date(DAY) == "22 Jumada al-Akhirah 1448 AH"
    with translation.override("ar"):
        assert hijri_date(DAY) == "22 جمادى الآخرة 1448 هـ"


def test_hijri_date_outside_the_umm_al_qura_range_is_left_out():
    with translation.override("en"):
        assert hijri_date(date(1900, 1, 1)) == ""
        assert render("{{ d|human_date }}", d=date(1900, 1, 1)) == (
            '<time class="text-nowrap" datetime="1900-01-01">1 January 1900</time>'
        )


def test_human_date_in_english():
    with translation.override("en"):
        assert render("{{ d|human_date }}", d=DAY) == (
            '<time class="text-nowrap" datetime="2026-12-02">2 December 2026</time> '
            '<span class="hijri text-nowrap">(22 Jumada al-Akhirah 1448 AH)</span>'
        )


def test_human_date_in_arabic():
    with translation.override("ar"):
        assert render("{{ d|human_date }}", d=DAY) == (
            '<time class="text-nowrap" datetime="2026-12-02">2 ديسمبر 2026</time> '
            '<span class="hijri text-nowrap">(22 جمادى الآخرة 1448 هـ)</span>'
        )


def test_human_date_of_a_moment_is_in_local_time():
    with translation.override("en"):
        html = render("{{ d|human_datetime }}", d=MOMENT)
        assert render("{{ d|human_date }}", d=MOMENT).startswith(
            '<time class="text-nowrap" datetime="2026-12-02">2 December 2026</time>'
        )
    assert '<time class="text-nowrap" datetime="2026-12-02T10:00+03:00">' in html
    assert "2 December 2026, 10:00</time>" in html


def test_short_date_puts_the_hijri_date_in_the_title():
    with translation.override("en"):
        assert render("{{ d|short_datetime }}", d=MOMENT) == (
            '<time class="text-nowrap" datetime="2026-12-02T10:00+03:00" '
            'title="22 Jumada al-Akhirah 1448 AH">2 Dec 2026, 10:00</time>'
        )
    with translation.override("ar"):
        html = render("{{ d|short_date }}", d=DAY)
    assert html == (
        '<time class="text-nowrap" datetime="2026-12-02" '
        'title="22 جمادى الآخرة 1448 هـ">2 ديسمبر 2026</time>'
    )


def test_empty_dates_render_nothing():
    source = "{{ d|human_date }}{{ d|human_datetime }}{{ d|short_date }}{{ d|short_datetime }}"
    assert render(source + "{{ d|date_text }}{{ d|ref }}", d=None) == ""


def test_date_text_is_isolated_plain_text():
    with translation.override("ar"):
        assert date_text(MOMENT) == (
            FSI + "2 ديسمبر 2026، الساعة 10:00 (22 جمادى الآخرة 1448 هـ)" + PDI
        )
    with translation.override("en"):
        assert date_text(DAY) == FSI + "2 December 2026 (22 Jumada al-Akhirah 1448 AH)" + PDI


def test_isolate():
    assert isolate("MOI-2026-000123") == "\u2068MOI-2026-000123\u2069"
    assert isolate(42) == "\u206842\u2069"
    assert isolate("") == "" and isolate(None) == ""
    assert render("{{ v|isolate }}", v="2026-12-02") == "\u20682026-12-02\u2069"


def test_reference_is_isolated_left_to_right_and_never_broken():
    assert render("{{ r|ref }}", r="MOI-2026-000123") == (
        '<bdi dir="ltr" class="text-nowrap">MOI-2026-000123</bdi>'
    )
    assert render("{{ r|ref }}", r="<b>") == '<bdi dir="ltr" class="text-nowrap">&lt;b&gt;</bdi>'


@pytest.mark.parametrize(
    ("hours", "english", "arabic"),
    [
        (240, "30 working days", "30 يوم عمل"),
        (8, "1 working day", "يوم عمل واحد"),
        (16, "2 working days", "يوما عمل"),
        (40, "5 working days", "5 أيام عمل"),
        (800, "100 working days", "100 يوم عمل"),
        (1, "1 working hour", "ساعة عمل واحدة"),
        (2, "2 working hours", "ساعتا عمل"),
        (5, "5 working hours", "5 ساعات عمل"),
        (0, "0 working hours", "0 ساعة عمل"),
        (12, "1 working day and 4 working hours", "يوم عمل واحد و4 ساعات عمل"),
        (17, "2 working days and 1 working hour", "يوما عمل وساعة عمل واحدة"),
    ],
)
def test_working_time_in_days_and_hours_with_plural_forms(hours, english, arabic):
    with translation.override("en"):
        assert working_time(hours) == english
        assert render("{{ h|working_time }}", h=hours) == english
    with translation.override("ar"):
        assert working_time(hours) == arabic


def test_working_time_follows_the_agency_working_day():
    with translation.override("en"):
        assert working_time(240, 7.5) == "32 working days"
        assert working_time(10, 7.5) == "1 working day and 2.5 working hours"
        assert render("{{ h|working_time:d }}", h=36, d=6) == "6 working days"
    with translation.override("ar"):
        assert working_time(10, 7.5) == "يوم عمل واحد و2\u066b5 ساعات عمل"
    assert working_time(None) == ""


def test_iso_strings_from_json_are_read_as_dates():
    """Timeline steps keep their dates as ISO text (JSON); an unreadable value prints nothing."""
    with translation.override("en"):
        assert render("{{ d|human_datetime }}", d="2026-12-02T10:00:00+03:00").startswith(
            '<time class="text-nowrap" datetime="2026-12-02T10:00+03:00">2 December 2026, 10:00'
        )
        assert render("{{ d|short_date }}", d="2026-12-02").endswith(">2 Dec 2026</time>")
        assert render("{{ d|human_date }}{{ d|date_text }}", d="soon") == ""
