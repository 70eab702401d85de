"""Working-calendar arithmetic: weekends (Friday, Saturday), hours, holidays, pauses."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from requests_app.calendar import WorkingCalendar, paused_working_seconds

RIYADH = ZoneInfo("Asia/Riyadh")
HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026 (Sunday 1 Nov 2026 is a working day)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=RIYADH)


CAL = WorkingCalendar()


def test_week_is_sunday_to_thursday():
    assert [CAL.is_working_day(date(2026, 11, d)) for d in range(1, 8)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]  # Sun..Thu work, Fri and Sat off


def test_same_day_inside_hours():
    assert CAL.working_seconds_between(at(2, 9), at(2, 11, 30)) == 2.5 * HOUR


def test_outside_hours_and_overnight_count_nothing():
    assert CAL.working_seconds_between(at(2, 17), at(3, 7)) == 0
    assert CAL.working_seconds_between(at(2, 15), at(3, 9)) == 2 * HOUR


def test_weekend_is_skipped():
    # Thursday 14:00 to Sunday 10:00 = 2 h Thursday + 2 h Sunday
    assert CAL.working_seconds_between(at(5, 14), at(8, 10)) == 4 * HOUR
    assert CAL.add_working_seconds(at(5, 14), 4 * HOUR) == at(8, 10)


def test_holidays_are_skipped():
    cal = WorkingCalendar(holidays=frozenset({date(2026, 11, 8)}))  # a Sunday holiday
    assert cal.add_working_seconds(at(5, 14), 4 * HOUR) == at(9, 10)
    assert cal.working_seconds_between(at(5, 14), at(9, 10)) == 4 * HOUR


def test_start_outside_hours_begins_next_window():
    assert CAL.add_working_seconds(at(2, 20), HOUR) == at(3, 9)
    assert CAL.add_working_seconds(at(6, 12), HOUR) == at(8, 9)  # Friday → Sunday


def test_a_full_working_week_is_40_hours():
    assert CAL.working_seconds_between(at(1, 0), at(8, 0)) == 40 * HOUR
    assert CAL.add_working_seconds(at(1, 8), 40 * HOUR) == at(5, 16)


def test_add_and_measure_are_inverse():
    start = at(3, 10, 17)
    for hours in (0.5, 7, 8, 9, 23, 41, 100):
        end = CAL.add_working_seconds(start, hours * HOUR)
        assert CAL.working_seconds_between(start, end) == pytest.approx(hours * HOUR)


def test_paused_time_is_subtracted():
    # Open Sunday 09:00; awaiting the beneficiary Sunday 11:00 → Monday 10:00; now Monday 12:00
    elapsed = CAL.working_seconds_between(at(1, 9), at(2, 12))
    paused = paused_working_seconds(CAL, [(at(1, 11), at(2, 10))], now=at(2, 12))
    assert elapsed == 11 * HOUR and paused == 7 * HOUR
    assert elapsed - paused == 4 * HOUR
    # an open pause runs until now
    assert paused_working_seconds(CAL, [(at(2, 10), None)], now=at(2, 12)) == 2 * HOUR


def test_custom_week_and_hours():
    cal = WorkingCalendar(
        workdays=frozenset({0, 1, 2, 3, 4}),
        day_start=datetime(2000, 1, 1, 7, 30).time(),
        day_end=datetime(2000, 1, 1, 14, 30).time(),
    )
    assert cal.seconds_per_day == 7 * HOUR
    # Friday 14:00 → 30 min left on Friday, then Monday from 07:30
    assert cal.add_working_seconds(at(6, 14), HOUR) == at(9, 8)
    assert cal.add_working_seconds(at(6, 15), HOUR) == at(
        9, 8, 30
    )  # after hours: Monday 07:30 + 1 h


def test_invalid_calendars_are_refused():
    with pytest.raises(ValueError):
        WorkingCalendar(
            day_start=datetime(2000, 1, 1, 16).time(), day_end=datetime(2000, 1, 1, 8).time()
        )
    with pytest.raises(ValueError):
        WorkingCalendar(workdays=frozenset())
