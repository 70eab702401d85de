"""The daily rollups, kept equal to a GROUP BY over the request index.

Each index row contributes to one rollup row (its cohort: the day it was received, with its
department, assignee and type). When ``index_sync`` rewrites a row it hands the contribution
before and after to :func:`rollup_apply`, which moves the rollups by the difference in the same
transaction; :func:`rollup_rebuild` recomputes them from the index with one statement each.
The rebuild's SQL and :func:`snapshot` are the same definition twice; a test holds them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from requests_app.constants import OPEN_STATUSES, Status

# Histogram rungs (upper bounds, hours) of first-response and resolution times: p90s of large
# scopes are estimated from these counts (see insights.selectors.Figures).
RUNGS_HOURS = (
    0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720,
    1440, 2160,
)  # fmt: skip
RUNGS = tuple(int(h * 3600) for h in RUNGS_HOURS)
BUCKETS = len(RUNGS) + 1  # the last one: beyond 90 days
FIRST_RESPONSE_BUCKETS = tuple(f"fr_{i:02d}" for i in range(BUCKETS))
RESOLUTION_BUCKETS = tuple(f"rs_{i:02d}" for i in range(BUCKETS))


def bucket_of(seconds: int) -> int:
    """The bucket of a duration: bucket i holds [RUNGS[i-1], RUNGS[i])."""
    from bisect import bisect_right

    return bisect_right(RUNGS, seconds)


COUNTS = (
    "received",
    "open",
    "completed",
    "rejected",
    "late",
    "reopened",
    "first_response_count",
    "first_response_seconds",
    "resolution_count",
    "resolution_seconds",
    "satisfaction_count",
    "satisfaction_sum",
)
METRICS = COUNTS + FIRST_RESPONSE_BUCKETS + RESOLUTION_BUCKETS
DETAIL = "insights_dailystat"
AGENCY = "insights_agencydailystat"
PLATFORM = "insights_platformdailystat"
DETAIL_MONTHLY = "insights_monthlystat"
AGENCY_MONTHLY = "insights_agencymonthlystat"
BENEFICIARIES = "insights_agencybeneficiary"
SHARDS = 16
INDEX = "requests_public_requestindex"


@dataclass(frozen=True)
class Contribution:
    agency_id: int
    day: date
    department_id: int
    assignee_user_id: int
    type_id: int
    values: tuple

    @property
    def detail_key(self) -> tuple:
        return (self.agency_id, self.day, self.department_id, self.assignee_user_id, self.type_id)

    @property
    def agency_key(self) -> tuple:
        return (self.agency_id, self.day)

    @property
    def month(self) -> date:
        return self.day.replace(day=1)

    @property
    def detail_month_key(self) -> tuple:
        return (self.agency_id, self.month, self.department_id, self.assignee_user_id, self.type_id)

    @property
    def agency_month_key(self) -> tuple:
        return (self.agency_id, self.month)

    @property
    def platform_key(self) -> tuple:
        return (self.day, self.agency_id % SHARDS)


def local_day(moment) -> date:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def snapshot(row) -> Contribution:
    """What one request-index row adds to the rollups."""
    status = row.status
    resolved = row.resolution_seconds is not None
    responded = row.first_response_seconds is not None
    rated = row.satisfaction is not None
    histograms = [0] * (2 * BUCKETS)
    if responded:
        histograms[bucket_of(row.first_response_seconds)] = 1
    if resolved:
        histograms[BUCKETS + bucket_of(row.resolution_seconds)] = 1
    values = (
        1,
        int(status in OPEN_STATUSES),
        int(status == Status.CLOSED),
        int(status == Status.REJECTED),
        int(bool(row.is_late)),
        int(row.reopened_count > 0),
        int(responded),
        row.first_response_seconds if responded else 0,
        int(resolved),
        row.resolution_seconds if resolved else 0,
        int(rated),
        float(row.satisfaction) if rated else 0.0,
        *histograms,
    )
    return Contribution(
        agency_id=row.agency_id,
        day=local_day(row.created_at),
        department_id=row.department_id or 0,
        assignee_user_id=row.assignee_user_id or 0,
        type_id=row.type_id or 0,
        values=values,
    )


def _upsert(table: str, key_columns: tuple[str, ...], key: tuple, delta: tuple) -> None:
    columns = key_columns + METRICS
    updates = ", ".join(f"{m} = t.{m} + EXCLUDED.{m}" for m in METRICS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.{table} AS t ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}",
            [*key, *delta],
        )
        if delta[0] < 0:
            # A row whose cohort is empty again disappears, as it would from a rebuild.
            where = " AND ".join(f"{c} = %s" for c in key_columns)
            cursor.execute(f"DELETE FROM public.{table} WHERE {where} AND received = 0", list(key))


def _move(table, key_columns, old_key, old_values, new_key, new_values) -> None:
    if old_key == new_key:
        delta = tuple(n - o for n, o in zip(new_values, old_values, strict=True))
        if any(delta):
            _upsert(table, key_columns, new_key, delta)
        return
    # Always in key order, so two transactions never wait on each other's rows crosswise.
    steps = [(old_key, tuple(-v for v in old_values)), (new_key, new_values)]
    for key, delta in sorted(steps, key=lambda s: tuple(str(k) for k in s[0])):
        _upsert(table, key_columns, key, delta)


DETAIL_KEY = ("agency_id", "day", "department_id", "assignee_user_id", "type_id")
AGENCY_KEY = ("agency_id", "day")
PLATFORM_KEY = ("day", "shard")


def beneficiary_seen(*, agency_id: int, beneficiary_id: int, at) -> None:
    """Record that a beneficiary brought a request to an agency (the earliest time wins)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.{BENEFICIARIES} AS b (agency_id, beneficiary_id, "
            "first_request_at) VALUES (%s, %s, %s) ON CONFLICT (agency_id, beneficiary_id) "
            "DO UPDATE SET first_request_at = least(b.first_request_at, EXCLUDED.first_request_at) "
            "WHERE EXCLUDED.first_request_at < b.first_request_at",
            [agency_id, beneficiary_id, at],
        )


def rollup_apply(*, before: Contribution | None, after: Contribution | None) -> None:
    """Move the rollups from one contribution of a request to the next (either may be None)."""
    if before == after:
        return
    zero = tuple(0 for _ in METRICS)
    ref = after or before
    old_values = before.values if before else zero
    new_values = after.values if after else zero
    for table, columns, key in (
        (DETAIL, DETAIL_KEY, "detail_key"),
        (DETAIL_MONTHLY, DETAIL_KEY, "detail_month_key"),
        (AGENCY, AGENCY_KEY, "agency_key"),
        (AGENCY_MONTHLY, AGENCY_KEY, "agency_month_key"),
        (PLATFORM, PLATFORM_KEY, "platform_key"),
    ):
        _move(
            table,
            columns,
            getattr(before or ref, key),
            old_values,
            getattr(after or ref, key),
            new_values,
        )


def _bucket_counts(column: str) -> str:
    bounds = [None, *RUNGS, None]
    parts = []
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        conditions = [f"{column} IS NOT NULL"]
        if low is not None:
            conditions.append(f"{column} >= {low}")
        if high is not None:
            conditions.append(f"{column} < {high}")
        parts.append(f"count(*) FILTER (WHERE {' AND '.join(conditions)})")
    return ",\n            ".join(parts)


def _rebuild_sql() -> str:
    tz = settings.TIME_ZONE.replace("'", "")
    open_list = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    return f"""
        INSERT INTO public.{DETAIL} (agency_id, day, department_id, assignee_user_id, type_id,
            {", ".join(METRICS)})
        SELECT agency_id, (created_at AT TIME ZONE '{tz}')::date,
            coalesce(department_id, 0), coalesce(assignee_user_id, 0), coalesce(type_id, 0),
            count(*),
            count(*) FILTER (WHERE status IN ({open_list})),
            count(*) FILTER (WHERE status = '{Status.CLOSED}'),
            count(*) FILTER (WHERE status = '{Status.REJECTED}'),
            count(*) FILTER (WHERE is_late),
            count(*) FILTER (WHERE reopened_count > 0),
            count(first_response_seconds),
            coalesce(sum(first_response_seconds), 0),
            count(resolution_seconds),
            coalesce(sum(resolution_seconds), 0),
            count(satisfaction),
            coalesce(sum(satisfaction), 0),
            {_bucket_counts("first_response_seconds")},
            {_bucket_counts("resolution_seconds")}
        FROM public.{INDEX}
        GROUP BY 1, 2, 3, 4, 5
    """


def rollup_rebuild() -> dict[str, int]:
    """Recompute the rollups from the request index. Writers of the index wait on the table
    lock and then apply their difference to the rebuilt figures, so none is lost."""
    sums = ", ".join(f"sum({m})" for m in METRICS)
    with transaction.atomic(), connection.cursor() as cursor:
        tables = (DETAIL, DETAIL_MONTHLY, AGENCY, AGENCY_MONTHLY, PLATFORM, BENEFICIARIES)
        cursor.execute(f"LOCK TABLE {', '.join('public.' + t for t in tables)} IN EXCLUSIVE MODE")
        for table in tables:
            cursor.execute(f"DELETE FROM public.{table}")
        cursor.execute(_rebuild_sql())
        detail_rows = cursor.rowcount
        cursor.execute(
            f"INSERT INTO public.{AGENCY} (agency_id, day, {', '.join(METRICS)}) "
            f"SELECT agency_id, day, {sums} FROM public.{DETAIL} GROUP BY agency_id, day"
        )
        agency_rows = cursor.rowcount
        cursor.execute(
            f"INSERT INTO public.{PLATFORM} (day, shard, {', '.join(METRICS)}) "
            f"SELECT day, agency_id % {SHARDS}, {sums} FROM public.{AGENCY} GROUP BY 1, 2"
        )
        platform_rows = cursor.rowcount
        detail = ", ".join(DETAIL_KEY[2:])
        cursor.execute(
            f"INSERT INTO public.{DETAIL_MONTHLY} (agency_id, day, {detail}, "
            f"{', '.join(METRICS)}) SELECT agency_id, date_trunc('month', day)::date, {detail}, "
            f"{sums} FROM public.{DETAIL} GROUP BY 1, 2, 3, 4, 5"
        )
        cursor.execute(
            f"INSERT INTO public.{AGENCY_MONTHLY} (agency_id, day, {', '.join(METRICS)}) "
            f"SELECT agency_id, date_trunc('month', day)::date, {sums} "
            f"FROM public.{AGENCY} GROUP BY 1, 2"
        )
        cursor.execute(
            f"INSERT INTO public.{BENEFICIARIES} (agency_id, beneficiary_id, first_request_at) "
            f"SELECT agency_id, beneficiary_id, min(created_at) FROM public.{INDEX} GROUP BY 1, 2"
        )
    return {
        "detail_rows": detail_rows,
        "agency_rows": agency_rows,
        "platform_rows": platform_rows,
    }
