"""Reads of the statistics: the rollups for counts and means, the request index for the
percentiles. No function here visits more than one agency schema (names of one agency's
departments are the only thing read from an agency schema)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils.translation import get_language

from insights.models import (
    AgencyBeneficiary,
    AgencyDailyStat,
    AgencyMonthlyStat,
    DailyStat,
    EvaluationSettings,
    MonthlyStat,
    PlatformDailyStat,
    Presence,
)
from insights.rollups import (
    BUCKETS,
    COUNTS,
    FIRST_RESPONSE_BUCKETS,
    INDEX,
    RESOLUTION_BUCKETS,
    RUNGS,
)
from requests_app.constants import OPEN_STATUSES
from requests_app.public.models import CatalogueEntry, RequestIndex
from tenants.models import Agency

GRAINS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    grain: str = "day"

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in the platform zone."""
        zone = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else 100 * part / whole


@dataclass
class Figures:
    received: int = 0
    open: int = 0
    completed: int = 0
    rejected: int = 0
    late: int = 0
    reopened: int = 0
    first_response_count: int = 0
    first_response_seconds: int = 0
    resolution_count: int = 0
    resolution_seconds: int = 0
    satisfaction_count: int = 0
    satisfaction_sum: float = 0.0
    p90_first_response_seconds: float | None = None
    p90_resolution_seconds: float | None = None
    # True when the p90s were estimated from the rollups' histograms (large scopes).
    p90_estimated: bool = False
    key: object = None
    label: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_sums(cls, sums: dict, **kwargs) -> Figures:
        figures = cls(**kwargs)
        for metric, value in sums.items():
            if value:
                setattr(figures, metric, value)
        return figures

    def _estimate(self, prefix: str) -> float | None:
        """The p90 from the bucket counts: the bucket holding the 90th percentile's rank,
        interpolated linearly inside it (off by at most the bucket's width)."""
        counts = [getattr(self, f"{prefix}_{i:02d}", 0) for i in range(BUCKETS)]
        total = sum(counts)
        if not total:
            return None
        rank, seen = 0.9 * total, 0
        for index, count in enumerate(counts):
            if count and seen + count >= rank:
                low = RUNGS[index - 1] if index else 0
                high = RUNGS[index] if index < len(RUNGS) else 2 * RUNGS[-1]
                return low + (rank - seen) / count * (high - low)
            seen += count
        return None  # not reached

    def estimate_percentiles(self) -> None:
        self.p90_first_response_seconds = self._estimate("fr")
        self.p90_resolution_seconds = self._estimate("rs")
        self.p90_estimated = True

    @property
    def completion_rate(self) -> float | None:
        return _rate(self.completed, self.received)

    @property
    def delay_rate(self) -> float | None:
        return _rate(self.late, self.received)

    @property
    def rejection_rate(self) -> float | None:
        return _rate(self.rejected, self.received)

    @property
    def avg_first_response_hours(self) -> float | None:
        if not self.first_response_count:
            return None
        return _hours(self.first_response_seconds / self.first_response_count)

    @property
    def avg_resolution_hours(self) -> float | None:
        if not self.resolution_count:
            return None
        return _hours(self.resolution_seconds / self.resolution_count)

    @property
    def p90_first_response_hours(self) -> float | None:
        return _hours(self.p90_first_response_seconds)

    @property
    def p90_resolution_hours(self) -> float | None:
        return _hours(self.p90_resolution_seconds)

    @property
    def satisfaction(self) -> float | None:
        if not self.satisfaction_count:
            return None
        return self.satisfaction_sum / self.satisfaction_count


# Counts and sums are read for every row; the histogram columns only when p90s are estimated.
# Histogram counts default to 0 on every Figures (set per row only when read).
for _column in FIRST_RESPONSE_BUCKETS + RESOLUTION_BUCKETS:
    setattr(Figures, _column, 0)
del _column

SUMS = {m: Sum(m) for m in COUNTS}
HISTOGRAM_SUMS = {m: Sum(m) for m in FIRST_RESPONSE_BUCKETS + RESOLUTION_BUCKETS}
TREND_SUMS = {m: Sum(m) for m in ("received", "completed", "rejected", "late")}


def exact_limit() -> int:
    """Scopes with at most this many requests get exact p90s (one sort of their index rows);
    larger ones get estimates from the rollups' histograms, whose cost does not grow with
    the number of requests."""
    return settings.STATISTICS_EXACT_PERCENTILE_LIMIT


def _fill_percentiles(rows: list[Figures], *, exact, histograms) -> None:
    """p90s of ``rows``: exact when they hold few enough requests (``exact()`` returns
    {key: (first response, resolution)}), else estimated from the histogram sums that
    ``histograms()`` returns as {key: {column: count}}."""
    if not rows:
        return
    if sum(row.received for row in rows) <= exact_limit():
        values = exact()
        for row in rows:
            row.p90_first_response_seconds, row.p90_resolution_seconds = values.get(
                row.key, (None, None)
            )
        return
    sums = histograms()
    for row in rows:
        for column, value in sums.get(row.key, {}).items():
            setattr(row, column, value or 0)
        row.estimate_percentiles()


def _month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _split(period: Period) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """The period as day ranges read from daily rows and whole months read from monthly rows
    (first days of the first and last whole month), so a year costs ~12 rows per key."""
    first = period.start if period.start.day == 1 else _month_end(period.start) + timedelta(1)
    last = period.end.replace(day=1)
    if _month_end(last) != period.end:
        last = (last - timedelta(days=1)).replace(day=1)
    if first > last:
        return [(period.start, period.end)], None
    days = []
    if period.start < first:
        days.append((period.start, first - timedelta(days=1)))
    if _month_end(last) < period.end:
        days.append((_month_end(last) + timedelta(days=1), period.end))
    return days, (first, last)


class Source:
    """A rollup over a period: daily rows for the partial months, monthly rows for the whole
    ones (at most two queries), merged."""

    def __init__(self, daily, monthly, period: Period, **filters):
        days, months = (
            _split(period) if monthly is not None else ([(period.start, period.end)], None)
        )
        self.querysets = []
        if days:
            ranges = Q()
            for start, end in days:
                ranges |= Q(day__gte=start, day__lte=end)
            self.querysets.append(daily.objects.filter(ranges, **filters))
        if months:
            self.querysets.append(
                monthly.objects.filter(day__gte=months[0], day__lte=months[1], **filters)
            )

    def aggregate(self, sums: dict) -> dict:
        total: dict = {}
        for qs in self.querysets:
            for name, value in qs.aggregate(**sums).items():
                total[name] = (total.get(name) or 0) + (value or 0)
        return total

    def grouped(self, column: str, sums: dict) -> dict:
        """{value of column: {name: sum}}. Rows are read as plain tuples: with a thousand
        agencies, the ORM's per-value converters cost more than the query."""
        names = list(sums)
        merged: dict = {}
        for qs in self.querysets:
            query = qs.values(column).annotate(**sums).order_by().query
            sql, params = query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            for key, *raw in rows:
                # SUM of a bigint is numeric in PostgreSQL: back to int (sums of integers).
                values = [int(v) if isinstance(v, Decimal) else v for v in raw]
                into = merged.get(key)
                if into is None:
                    merged[key] = dict(zip(names, values, strict=True))
                else:
                    for name, value in zip(names, values, strict=True):
                        into[name] = (into[name] or 0) + (value or 0)
        return merged


def _histograms(source: Source, column: str | None) -> dict:
    if column is None:
        return {None: source.aggregate(HISTOGRAM_SUMS)}
    return source.grouped(column, HISTOGRAM_SUMS)


def _percentiles(
    period: Period, *, agency_id: int | None = None, by: str | None = None, where: str = ""
) -> dict:
    """p90 of first response and resolution (seconds) of the requests received in the period,
    per ``by`` column (or overall under the key None), exactly (percentile_cont)."""
    start, end = period.bounds
    column = f"coalesce({by}, 0)" if by else "NULL::bigint"
    sql = (
        f"SELECT {column}, "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_seconds), "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_seconds) "
        f"FROM public.{INDEX} WHERE created_at >= %s AND created_at < %s"
    )
    params: list = [start, end]
    if agency_id is not None:
        sql += " AND agency_id = %s"
        params.append(agency_id)
    if where:
        sql += f" AND {where[0]}"
        params.extend(where[1])
    sql += " GROUP BY 1"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _department_where(department_ids: list[int] | None):
    if department_ids is None:
        return ""
    return ("department_id = ANY(%s)", [list(department_ids) or [-1]])


def _scope_source(
    period: Period,
    agency: Agency | None,
    department_ids: list[int] | None,
    *,
    months: bool = True,
) -> Source:
    """The platform's or one agency's (or some departments') rollup over the period; with
    ``months=False`` daily rows only."""
    if agency is None:
        return Source(PlatformDailyStat, None, period)
    filters = {"agency": agency}
    if department_ids is not None:
        filters["department_id__in"] = department_ids
    return Source(DailyStat, MonthlyStat if months else None, period, **filters)


def scope_summary(
    period: Period,
    *,
    agency: Agency | None = None,
    department_ids: list[int] | None = None,
    percentiles: bool = True,
) -> Figures:
    """The figures of the platform, one agency, or some departments of one agency."""
    source = _scope_source(period, agency, department_ids)
    figures = Figures.from_sums(source.aggregate(SUMS))
    if percentiles:
        _fill_percentiles(
            [figures],
            exact=lambda: _percentiles(
                period,
                agency_id=agency.pk if agency else None,
                where=_department_where(department_ids),
            ),
            histograms=lambda: _histograms(source, None),
        )
    return figures


def agency_table(period: Period) -> list[Figures]:
    """Every active agency's figures over the period (zeros for agencies without requests),
    without p90s: add them with :func:`agency_percentiles` for the rows shown."""
    sums = Source(AgencyDailyStat, AgencyMonthlyStat, period).grouped("agency_id", SUMS)
    rows = []
    name = "name_en" if get_language() == "en" else "name_ar"
    agencies = (
        Agency.objects.exclude(schema_name="public")
        .filter(is_active=True)
        .values("id", "slug", "name_ar", "name_en")
        .order_by(name)
    )
    for agency in agencies:
        figures = Figures.from_sums(
            sums.get(agency["id"], {}), key=agency["id"], label=agency[name]
        )
        figures.extra["slug"] = agency["slug"]
        rows.append(figures)
    return rows


def agency_percentiles(period: Period, rows: list[Figures]) -> list[Figures]:
    """Fill the p90s of some rows of :func:`agency_table` (a page of them, or all)."""
    ids = [row.key for row in rows]
    _fill_percentiles(
        rows,
        exact=lambda: _percentiles(period, by="agency_id", where=("agency_id = ANY(%s)", [ids])),
        histograms=lambda: _histograms(
            Source(AgencyDailyStat, AgencyMonthlyStat, period, agency_id__in=ids), "agency_id"
        ),
    )
    return rows


def rankings(rows: list[Figures], *, min_requests: int, size: int = 5) -> dict[str, list]:
    """Most responsive (shortest mean first response) and highest completion rate, among
    agencies that received at least ``min_requests`` in the period."""
    eligible = [r for r in rows if r.received >= min_requests]
    responsive = sorted(
        (r for r in eligible if r.avg_first_response_hours is not None),
        key=lambda r: (r.avg_first_response_hours, r.label),
    )
    completing = sorted(eligible, key=lambda r: (-(r.completion_rate or 0), r.label))
    return {"responsive": responsive[:size], "completing": completing[:size]}


def _bucket(day: date, grain: str) -> date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        # Weeks start on Sunday, as the working week does here.
        return day - timedelta(days=(day.weekday() + 1) % 7)
    return day


def trend(
    period: Period, *, agency: Agency | None = None, department_ids: list[int] | None = None
) -> list[Figures]:
    """Figures per day, week or month of the period (empty buckets included)."""
    # Daily rows only: every day of the period is a point of the trend.
    daily = _scope_source(period, agency, department_ids, months=False)
    per_day = daily.grouped("day", TREND_SUMS)
    buckets: dict[date, Figures] = {}
    day = period.start
    while day <= period.end:
        # A week or month cut by the period is labelled by its first day in the period.
        key = max(_bucket(day, period.grain), period.start)
        bucket = buckets.get(key) or buckets.setdefault(key, Figures.from_sums({}, key=key))
        row = per_day.get(day)
        if row:
            for metric in TREND_SUMS:
                setattr(bucket, metric, getattr(bucket, metric) + (row[metric] or 0))
        day += timedelta(days=1)
    return list(buckets.values())


BREAKDOWNS = {
    "department": "department_id",
    "employee": "assignee_user_id",
    "type": "type_id",
}


def breakdown(
    period: Period, *, agency: Agency, by: str, department_ids: list[int] | None = None
) -> list[Figures]:
    """One agency's figures per department, employee (assignee) or transaction type, with
    names; 0 stands for none (unassigned, no department)."""
    column = BREAKDOWNS[by]
    source = _scope_source(period, agency, department_ids)
    sums = source.grouped(column, SUMS)
    names = _names(agency, by, list(sums))
    rows = [Figures.from_sums(row, key=key, label=names.get(key, "")) for key, row in sums.items()]
    _fill_percentiles(
        rows,
        exact=lambda: _percentiles(
            period, agency_id=agency.pk, by=column, where=_department_where(department_ids)
        ),
        histograms=lambda: _histograms(source, column),
    )
    rows.sort(key=lambda r: (r.key == 0, -r.received, r.label))
    return rows


def _names(agency: Agency, by: str, ids: list[int]) -> dict[int, str]:
    english = get_language() == "en"
    ids = [i for i in ids if i]
    if not ids:
        return {}
    if by == "employee":
        from accounts.models import User

        return {user.pk: user.display_name for user in User.objects.filter(pk__in=ids)}
    if by == "type":
        return {
            entry.type_id: (entry.name_en if english else entry.name_ar)
            for entry in CatalogueEntry.objects.filter(agency=agency, type_id__in=ids)
        }
    from django_tenants.utils import schema_context

    from tenants.staff.models import Department

    with schema_context(agency.schema_name):
        return {
            dept.pk: (dept.name_en if english else dept.name_ar)
            for dept in Department.objects.filter(pk__in=ids)
        }


def presence_seconds(period: Period, *, agency: Agency) -> dict[int, int]:
    """Seconds each employee was present in the agency's workspace over the period."""
    rows = (
        Presence.objects.filter(agency=agency, day__gte=period.start, day__lte=period.end)
        .values("user_id")
        .annotate(total=Sum("seconds"))
        .order_by()
    )
    return {row["user_id"]: row["total"] for row in rows}


def evaluation_settings(agency: Agency) -> EvaluationSettings:
    found = EvaluationSettings.objects.filter(agency=agency).first()
    return found or EvaluationSettings(agency=agency)


@dataclass
class Evaluation:
    score: float | None
    components: dict[str, float | None]


def _speed_score(hours: float | None, target: float) -> float | None:
    if hours is None:
        return None
    return 100 * max(0.0, 1 - hours / (2 * target))


def evaluate(figures: Figures, config: EvaluationSettings) -> Evaluation | None:
    """An employee's evaluation (0-100): the weighted mean of the components they have data
    for; None below the agency's minimum number of requests."""
    if figures.received < config.min_requests:
        return None
    satisfaction = figures.satisfaction
    components = {
        "response": _speed_score(figures.avg_first_response_hours, config.response_target_hours),
        "resolution": _speed_score(figures.avg_resolution_hours, config.resolution_target_hours),
        "lateness": 100 * (1 - figures.late / figures.received),
        "satisfaction": None if satisfaction is None else 100 * (satisfaction - 1) / 4,
    }
    weights = {
        "response": config.weight_response,
        "resolution": config.weight_resolution,
        "lateness": config.weight_lateness,
        "satisfaction": config.weight_satisfaction,
    }
    used = {k: w for k, w in weights.items() if w and components[k] is not None}
    if not used:
        return Evaluation(score=None, components=components)
    score = sum(components[k] * w for k, w in used.items()) / sum(used.values())
    return Evaluation(score=score, components=components)


def employee_table(
    period: Period, *, agency: Agency, department_ids: list[int] | None = None
) -> list[Figures]:
    """Per employee: the figures, presence time and evaluation (in ``extra``)."""
    rows = breakdown(period, agency=agency, by="employee", department_ids=department_ids)
    presence = presence_seconds(period, agency=agency)
    config = evaluation_settings(agency)
    for row in rows:
        row.extra["presence_hours"] = presence.get(row.key, 0) / 3600 if row.key else None
        row.extra["evaluation"] = evaluate(row, config) if row.key else None
    return rows


def late_open_requests(agency: Agency, *, limit: int = 50) -> QuerySet[RequestIndex]:
    """Metadata of the agency's late open requests (never comments or attachments)."""
    return (
        RequestIndex.objects.filter(agency=agency, is_late=True, status__in=OPEN_STATUSES)
        .only(
            "reference",
            "type_name_ar",
            "type_name_en",
            "status",
            "priority",
            "assignee_name_ar",
            "assignee_name_en",
            "created_at",
            "due_at",
        )
        .order_by("due_at")[:limit]
    )


def agency_beneficiaries(
    period: Period, *, agency: Agency, department_ids: list[int] | None = None
) -> dict[str, int]:
    """How many people brought requests in the period, how many of them for the first time,
    and how many the agency (or the given departments) has served in all."""
    start, end = period.bounds
    scope = RequestIndex.objects.filter(agency=agency)
    if department_ids is not None:
        scope = scope.filter(department_id__in=department_ids)
    active = (
        scope.filter(created_at__gte=start, created_at__lt=end)
        .values("beneficiary_id")
        .distinct()
        .count()
    )
    if department_ids is None:
        known = AgencyBeneficiary.objects.filter(agency=agency)
        first_seen = known.filter(first_request_at__gte=start, first_request_at__lt=end).count()
        total = known.count()
    else:
        # Some departments only: first requests to these departments, from their index rows.
        first_seen = (
            scope.values("beneficiary_id")
            .annotate(first=Min("created_at"))
            .filter(first__gte=start, first__lt=end)
            .count()
        )
        total = scope.values("beneficiary_id").distinct().count()
    return {"active": active, "new": first_seen, "returning": active - first_seen, "total": total}


def beneficiary_history(user) -> list[dict]:
    """A person's requests across all agencies, counted per agency (for themselves)."""
    english = get_language() == "en"
    rows = (
        RequestIndex.objects.filter(beneficiary=user)
        .values("agency_id", "agency__name_ar", "agency__name_en")
        .annotate(
            received=Count("id"),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            completed=Count("id", filter=Q(status="closed")),
            rejected=Count("id", filter=Q(status="rejected")),
            late=Count("id", filter=Q(is_late=True)),
            resolution_total=Sum("resolution_seconds"),
            resolution_n=Count("resolution_seconds"),
        )
        .order_by("-received")
    )
    result = []
    for row in rows:
        row["agency"] = row["agency__name_en"] if english else row["agency__name_ar"]
        row["avg_resolution_hours"] = (
            row["resolution_total"] / row["resolution_n"] / 3600 if row["resolution_n"] else None
        )
        result.append(row)
    return result
