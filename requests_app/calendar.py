"""Working-time arithmetic in an agency's calendar (R-18).

Working days are Sunday to Thursday by default, within working hours, minus the agency's
holidays. Targets ("respond within 8 working hours") are added to a start time, and elapsed
working time is measured between two instants, both skipping nights, weekends and holidays.
Paused periods (awaiting the beneficiary, postponed) are subtracted by the caller with
``working_seconds_between`` over each pause.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SUNDAY_TO_THURSDAY = frozenset({6, 0, 1, 2, 3})  # Python weekdays: Monday=0 ... Sunday=6


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Riyadh"))
    workdays: frozenset[int] = SUNDAY_TO_THURSDAY
    day_start: time = time(8, 0)
    day_end: time = time(16, 0)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self):
        if self.day_end <= self.day_start:
            raise ValueError("working day must end after it starts")
        if not self.workdays:
            raise ValueError("a calendar needs at least one working day")

    @property
    def seconds_per_day(self) -> float:
        return (
            datetime.combine(date.min, self.day_end) - datetime.combine(date.min, self.day_start)
        ).total_seconds()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.day_start, tzinfo=self.timezone)
        end = datetime.combine(day, self.day_end, tzinfo=self.timezone)
        return start, end

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end) (0 if end <= start)."""
        if end <= start:
            return 0.0
        start, end = start.astimezone(self.timezone), end.astimezone(self.timezone)
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                window_start, window_end = self._window(day)
                overlap = min(end, window_end) - max(start, window_start)
                total += max(overlap.total_seconds(), 0.0)
            day += timedelta(days=1)
        return total

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of working time have passed since ``start``."""
        if seconds < 0:
            raise ValueError("seconds must be positive")
        current = start.astimezone(self.timezone)
        remaining = seconds
        for _ in range(3660):  # ten years of days: a guard against an all-holiday calendar
            day = current.date()
            if self.is_working_day(day):
                window_start, window_end = self._window(day)
                begin = max(current, window_start)
                if begin < window_end:
                    available = (window_end - begin).total_seconds()
                    if remaining <= available:
                        return begin + timedelta(seconds=remaining)
                    remaining -= available
            current = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.timezone)
        raise ValueError("no working time in the next ten years")

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted): a
        reply-by date asked on Thursday for 1 working day is the next Sunday."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day, counted = start, 0
        for _ in range(3660 + days):  # the same guard as add_working_seconds
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return day
        raise ValueError("no working day in the next ten years")


def paused_working_seconds(
    calendar: WorkingCalendar, pauses: Iterable[tuple[datetime, datetime | None]], now: datetime
) -> float:
    """Working seconds spent in pauses (an open pause runs until ``now``)."""
    return sum(calendar.working_seconds_between(a, b or now) for a, b in pauses)
