"""Statistics benchmarks (insights/): they print figures (lines starting with "BENCH") and are
not part of the CI pass/fail.

    .venv/bin/python infra/run.py bench -- -k statistics

The data set (module fixture ``dataset``, committed in the bench test database):

* 999 agencies bulk-inserted (``Agency.objects.bulk_create``: rows only, no schemas; statistics
  never visit agency schemas) plus the session agency "alpha" (tests/conftest.py), which is
  real: 5 departments, 15 employees, 8 services, an admin.
* 20,000 beneficiaries inserted with one SQL statement (no password, no identity).
* 1,000,000 ``RequestIndex`` rows from two ``INSERT ... SELECT ... generate_series``
  statements: 980,000 over the 999 bulk agencies with Zipf-like sizes (s = 1), 20,000 for
  alpha pointing at its real departments, employees and services. ``created_at`` spread over
  the last 365 days (more in recent months), statuses by age (young requests are more often
  open), about 12 % late, response/resolution/satisfaction consistent with the status.
* then ``rollup_rebuild()`` (timed) and ``VACUUM (ANALYZE)`` of the index and the rollups.

a) generation and rollup rebuild: times and row counts.
b) the statistics pages in process (django.test.Client): /oversight/ and the alpha drill-down as
   an oversight user, /a/alpha/statistics/ as alpha's admin, each over the default 30 days and
   over 365 days by month. Warm-up, then GETS timed GETs: p50/p95/max, queries per GET, the
   slowest statements of one GET; pages with p95 > 200 ms are flagged. Then EXPLAIN (ANALYZE,
   BUFFERS) of the slowest statement of the slowest page.
c) incremental maintenance: 200 ``index_sync`` calls (one transaction each) on 5 real alpha
   requests cycling through state changes (response, closing, reopening with another assignee,
   back to new), with ``rollup_apply``, checked against the index; then interleaved blocks
   with and without ``rollup_apply`` for its cost (a rebuild then restores the rollups), the
   statements of one call and the plan of its row lookup.

The module's data is deleted at the end, so a later benchmark sees no schema-less agencies.
Settings: BENCH_STATS_GETS (40), BENCH_STATS_SYNCS (200), BENCH_STATS_ROWS (1000000, for quick
trial runs), BENCH_PROFILE=1 (cProfile of one GET of each page, by own time).
"""

import logging
import os
import random
import statistics
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from insights import rollups
from insights.models import AgencyDailyStat, DailyStat
from requests_app.constants import Status
from requests_app.models import Request
from requests_app.public.models import RequestIndex
from requests_app.services.index import index_sync
from tenants import dbroles
from tenants.models import Agency
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.bench.helpers import bench, load, pct
from tests.factories import make_beneficiary, make_employee, make_request, make_type, national_id

GETS = int(os.environ.get("BENCH_STATS_GETS", "40"))
WARMUP = 3
SYNCS = int(os.environ.get("BENCH_STATS_SYNCS", "200"))
SYNTHETIC_AGENCIES = 999
TOTAL_ROWS = int(os.environ.get("BENCH_STATS_ROWS", "1000000"))
# Alpha, the one agency with a real schema (so its drill-down and workspace pages can be
# measured), is made the largest: its pages are the worst case of one agency's views.
ALPHA_ROWS = int(os.environ.get("BENCH_STATS_ALPHA_ROWS", str(min(150_000, TOTAL_ROWS // 6))))
BENEFICIARIES = 20_000
ALPHA_DEPARTMENTS = 5
ALPHA_EMPLOYEES_PER_DEPARTMENT = 3
ALPHA_TYPES = 8
SYNC_REQUESTS = 5
SLOW_MS = 200.0
# Synthetic index rows of alpha get request ids above this (real requests have small ids).
ALPHA_ID_OFFSET = 10_000_000
# National ids of this file's people: 91-99 million (requests: 10-30 million, notifications
# 30-90 million, browser tests 5-9 million); no mobiles, so the unique mobile never clashes.
_ids = iter(range(91_000_000 + random.randrange(4_000_000), 99_999_999))


# --- helpers -----------------------------------------------------------------------------------


def person(tag: str) -> User:
    n = next(_ids)
    return make_beneficiary(
        email=f"bench-stat-{tag}-{n}@example.sa", identity_number=national_id(n), mobile=None
    )


def sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


# --- the data set ------------------------------------------------------------------------------


def zipf_counts(total: int, count: int, rng: random.Random, s: float = 1.0) -> list[int]:
    """``count`` sizes adding up to ``total``, proportional to 1/rank^s, in random order."""
    weights = [1 / (rank**s) for rank in range(1, count + 1)]
    scale = total / sum(weights)
    sizes = [int(w * scale) for w in weights]
    remainders = sorted(range(count), key=lambda i: weights[i] * scale - sizes[i], reverse=True)
    for i in remainders[: total - sum(sizes)]:
        sizes[i] += 1
    rng.shuffle(sizes)
    return sizes


# One template for both statements. Per agency (unnest of parallel arrays): id, number of rows,
# reference code, request-id offset, names, numbers of departments/types/employees per
# department, first assignee id. {type_id}, {department_id} and {assignee} choose the
# dimensions; the draws r_* are uniform in [0, 1) (OFFSET 0 keeps each drawn once per row).
GENERATE = """
INSERT INTO public.requests_public_requestindex (
    agency_id, request_id, reference, beneficiary_id, type_id, type_name_ar, type_name_en,
    category, subject, status, priority, assignee_name_ar, assignee_name_en, department_id,
    assignee_user_id, created_at, updated_at, due_at, first_response_at, closed_at, is_late,
    reopened_count, paused_seconds, first_response_seconds, resolution_seconds, satisfaction,
    search_text)
SELECT agency_id, request_id, reference, beneficiary_id, type_id,
    'خدمة ' || type_k, 'Service ' || type_k, category, subject, status, priority,
    CASE WHEN assignee IS NULL THEN '' ELSE 'موظف ' || assignee END,
    CASE WHEN assignee IS NULL THEN '' ELSE 'Employee ' || assignee END,
    department_id, assignee, created_at,
    created_at + make_interval(secs => coalesce(resolution_s, first_response_s, 0)),
    created_at + interval '72 hours',
    created_at + make_interval(secs => first_response_s),
    created_at + make_interval(secs => resolution_s),
    is_late, reopened, 0, first_response_s, resolution_s, satisfaction,
    lower(reference || ' ' || subject || ' خدمة ' || type_k || ' service ' || type_k || ' '
          || name_ar || ' ' || name_en)
FROM (
    SELECT s.*,
        CASE WHEN status = 'new' THEN NULL
             ELSE least(age_s * 0.95, -ln(1 - r_fr) * 14400 * (CASE WHEN is_late THEN 4 ELSE 1
                  END))::int END AS first_response_s,
        CASE WHEN status IN ('closed', 'rejected')
             THEN least(age_s, least(age_s * 0.95, -ln(1 - r_fr) * 14400
                  * (CASE WHEN is_late THEN 4 ELSE 1 END))
                  + -ln(1 - r_rs) * 86400 * 2.5 * (CASE WHEN is_late THEN 3 ELSE 1 END)
                  * (CASE WHEN status = 'rejected' THEN 0.5 ELSE 1 END))::int END
             AS resolution_s,
        CASE WHEN status = 'closed' AND r_sat < 0.35
             THEN round((1 + 4 * sqrt(r_sat2))::numeric, 2)::float END AS satisfaction,
        CASE WHEN status IN ('closed', 'in_progress') AND r_re < 0.03 THEN 1 ELSE 0 END
            AS reopened
    FROM (
        SELECT d.*,
            CASE WHEN is_open THEN
                CASE WHEN r_st < 0.30 THEN 'new' WHEN r_st < 0.75 THEN 'in_progress'
                     WHEN r_st < 0.90 THEN 'awaiting_beneficiary' ELSE 'postponed' END
            ELSE CASE WHEN r_st < 0.87 THEN 'closed' ELSE 'rejected' END END AS status,
            r_late < (CASE WHEN is_open THEN 0.25 ELSE 0.11 END) AS is_late,
            CASE WHEN r_pr < 0.70 THEN 'normal' WHEN r_pr < 0.93 THEN 'important'
                 ELSE 'urgent' END AS priority,
            CASE WHEN r_cat < 0.80 THEN 'transaction' WHEN r_cat < 0.90 THEN 'complaint'
                 WHEN r_cat < 0.97 THEN 'inquiry' ELSE 'suggestion' END AS category,
            {type_id} AS type_id,
            CASE WHEN r_nodept < 0.02 THEN NULL ELSE {department_id} END AS department_id,
            CASE WHEN r_noasg < 0.03 THEN NULL ELSE {assignee} END AS assignee,
            code || '-' || to_char(created_at AT TIME ZONE 'Asia/Riyadh', 'YYYY') || '-B'
                || lpad(i::text, 7, '0') AS reference,
            'طلب رقم ' || i AS subject,
            (%(beneficiaries)s::bigint[])[1 + floor(power(r_b, 1.6) * %(nb)s)::int]
                AS beneficiary_id
        FROM (
            SELECT r.*, now() - make_interval(secs => age_s) AS created_at,
                r_open < 0.04 + 0.6 * exp(-age_s / 86400 / 7) AS is_open
            FROM (
                SELECT a.*, g.i, a.offset_id + g.i AS request_id,
                    1 + floor(power(random(), 1.5) * a.ntype)::int AS type_k,
                    365 * 86400 * power(random(), 1.25) AS age_s, random() AS r_open,
                    random() AS r_st, random() AS r_late, random() AS r_fr, random() AS r_rs,
                    random() AS r_sat, random() AS r_sat2, random() AS r_re, random() AS r_pr,
                    random() AS r_cat, random() AS r_nodept, random() AS r_noasg,
                    random() AS r_emp, random() AS r_b
                FROM unnest(%(ids)s::bigint[], %(counts)s::int[], %(codes)s::text[],
                            %(offsets)s::bigint[], %(names_ar)s::text[], %(names_en)s::text[],
                            %(ndept)s::int[], %(ntype)s::int[], %(per_dept)s::int[],
                            %(emp_base)s::bigint[])
                    AS a(agency_id, n, code, offset_id, name_ar, name_en, ndept, ntype,
                         per_dept, emp_base)
                CROSS JOIN LATERAL generate_series(1, a.n) AS g(i)
                OFFSET 0
            ) r
            OFFSET 0
        ) d
    ) s
) f
"""

# Synthetic agencies: ids local to each agency's schema (types 1..ntype, departments
# 1..ndept, the department of type k is 1 + k mod ndept) and made-up assignee user ids (no FK).
SYNTHETIC_DIMENSIONS = {
    "type_id": "type_k",
    "department_id": "1 + type_k %% ndept",
    "assignee": "emp_base + (1 + type_k %% ndept) * 100 + floor(r_emp * per_dept)::int",
}
# Alpha: its real services, their departments, and the employees of each department (2-D array).
ALPHA_DIMENSIONS = {
    "type_id": "(%(types)s::bigint[])[type_k]",
    "department_id": "(%(type_departments)s::bigint[])[type_k]",
    "assignee": "(%(employees)s::bigint[])[(%(type_department_index)s::int[])[type_k]]"
    "[1 + floor(r_emp * per_dept)::int]",
}


def _insert_users() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, last_login, is_superuser, email, identity_type,
                identity_encrypted, identity_hash, first_name_ar, father_name_ar,
                family_name_ar, first_name_en, father_name_en, family_name_en, birth_date,
                birth_calendar, location, mobile, mobile_verified, preferred_language,
                is_oversight, is_active, is_staff, date_joined)
            SELECT '!', NULL, false, 'bench-stat-b' || g || '@example.sa', '', '', NULL,
                'مستفيد', g::text, 'الاختبار', 'Beneficiary', g::text, 'Bench', NULL, '',
                'inside', NULL, false, 'ar', false, true, false, now()
            FROM generate_series(1, %s) AS g
            RETURNING id
            """,
            [BENEFICIARIES],
        )
        return [row[0] for row in cursor.fetchall()]


def _alpha_setup(alpha: Agency) -> dict:
    """Real departments, employees (in those departments) and services in alpha."""
    admin = make_employee(alpha, roles=("admin",), email="bench-stat-admin@alpha.example")
    departments, employees = [], []
    with schema_context(alpha.schema_name):
        for d in range(ALPHA_DEPARTMENTS):
            departments.append(
                department_save(actor=admin, name_ar=f"إدارة {d + 1}", name_en=f"Division {d + 1}")
            )
    for d, department in enumerate(departments):
        staff = [
            make_employee(alpha, email=f"bench-stat-e{d}-{k}@alpha.example")
            for k in range(ALPHA_EMPLOYEES_PER_DEPARTMENT)
        ]
        with schema_context(alpha.schema_name):
            Membership.objects.filter(user_id__in=[u.pk for u in staff]).update(
                department=department
            )
        employees.append(staff)
    types = [
        make_type(
            alpha,
            actor=admin,
            department=departments[k % ALPHA_DEPARTMENTS],
            name_ar=f"خدمة ألفا {k + 1}",
            name_en=f"Alpha service {k + 1}",
        )
        for k in range(ALPHA_TYPES)
    ]
    connection.set_schema_to_public()
    return {"admin": admin, "departments": departments, "employees": employees, "types": types}


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the index table's indexes that back no constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT indexname, indexdef FROM pg_indexes
               WHERE schemaname = 'public' AND tablename = %s
                 AND indexname NOT IN (SELECT conname FROM pg_constraint
                                       WHERE conrelid = %s::regclass)
               ORDER BY indexname""",
            [rollups.INDEX, f"public.{rollups.INDEX}"],
        )
        return cursor.fetchall()


def _generate(alpha: Agency, alpha_setup: dict, rng: random.Random) -> dict:
    started = time.perf_counter()
    now = timezone.now()
    Agency.objects.bulk_create(
        [
            Agency(
                schema_name=f"bench_stat_{i:04d}",
                slug=f"bench-stat-{i:04d}",
                name_ar=f"الجهة الحكومية {i}",
                name_en=f"Government body {i}",
                code=f"S{i:04d}",
                is_active=True,
                created_at=now,
            )
            for i in range(1, SYNTHETIC_AGENCIES + 1)
        ],
        batch_size=1_000,
    )
    synthetic = list(
        Agency.objects.filter(slug__startswith="bench-stat-")
        .order_by("pk")
        .values_list("pk", "code", "name_ar", "name_en")
    )
    assert len(synthetic) == SYNTHETIC_AGENCIES
    agencies_done = time.perf_counter()
    users = _insert_users()
    users_done = time.perf_counter()

    # Bulk load: the secondary indexes (GIN trigram included) are dropped and built again
    # afterwards, which is several times faster than maintaining them row by row. The unique
    # constraints stay, so the generator is checked against them.
    secondary = _secondary_indexes()
    for name, _definition in secondary:
        sql(f'DROP INDEX public."{name}"')
    sizes = zipf_counts(TOTAL_ROWS - ALPHA_ROWS, SYNTHETIC_AGENCIES, rng)
    ndept = [min(30, 2 + n // 4_000) for n in sizes]
    per_dept = [max(1, min(40, n // (d * 800))) for n, d in zip(sizes, ndept, strict=True)]
    common = {"beneficiaries": users, "nb": len(users)}
    sql("SELECT setseed(0.42)")
    generic = sql(
        GENERATE.format(**SYNTHETIC_DIMENSIONS),
        {
            **common,
            "ids": [a[0] for a in synthetic],
            "counts": sizes,
            "codes": [a[1] for a in synthetic],
            "offsets": [0] * SYNTHETIC_AGENCIES,
            "names_ar": [a[2] for a in synthetic],
            "names_en": [a[3] for a in synthetic],
            "ndept": ndept,
            "ntype": [min(40, 3 + n // 2_500) for n in sizes],
            "per_dept": per_dept,
            "emp_base": [50_000_000 + k * 10_000 for k in range(SYNTHETIC_AGENCIES)],
        },
    )
    types = alpha_setup["types"]
    departments = [d.pk for d in alpha_setup["departments"]]
    alpha_rows = sql(
        GENERATE.format(**ALPHA_DIMENSIONS),
        {
            **common,
            "ids": [alpha.pk],
            "counts": [ALPHA_ROWS],
            "codes": [alpha.code],
            "offsets": [ALPHA_ID_OFFSET],
            "names_ar": [alpha.name_ar],
            "names_en": [alpha.name_en],
            "ndept": [ALPHA_DEPARTMENTS],
            "ntype": [ALPHA_TYPES],
            "per_dept": [ALPHA_EMPLOYEES_PER_DEPARTMENT],
            "emp_base": [0],
            "types": [t.pk for t in types],
            "type_departments": [t.department_id for t in types],
            "type_department_index": [departments.index(t.department_id) + 1 for t in types],
            "employees": [[u.pk for u in staff] for staff in alpha_setup["employees"]],
        },
    )
    rows_done = time.perf_counter()
    assert generic + alpha_rows == TOTAL_ROWS, (generic, alpha_rows)
    sql("SET maintenance_work_mem = '256MB'")
    try:
        for _name, definition in secondary:
            sql(definition)
    finally:
        sql("RESET maintenance_work_mem")
    indexes_done = time.perf_counter()
    assert {name for name, _ in _secondary_indexes()} == {name for name, _ in secondary}
    return {
        "agencies_s": agencies_done - started,
        "users_s": users_done - agencies_done,
        "rows_s": rows_done - users_done,
        "indexes_s": indexes_done - rows_done,
        "indexes": len(secondary),
        "total_s": indexes_done - started,
        "sizes": sorted(sizes, reverse=True),
        "users": len(users),
    }


def _index_profile(alpha: Agency) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM public.requests_public_requestindex GROUP BY 1 "
            "ORDER BY 2 DESC"
        )
        by_status = ", ".join(f"{s} {n}" for s, n in cursor.fetchall())
        cursor.execute(
            """SELECT count(*), avg(is_late::int), count(first_response_seconds),
                      count(resolution_seconds), count(satisfaction), avg(satisfaction),
                      min(created_at), max(created_at),
                      count(*) FILTER (WHERE created_at >= now() - interval '30 days'),
                      pg_size_pretty(pg_total_relation_size('requests_public_requestindex')),
                      pg_size_pretty(pg_relation_size('requests_public_requestindex'))
               FROM public.requests_public_requestindex"""
        )
        total, late, fr, rs, sat, sat_avg, oldest, newest, recent, size, heap = cursor.fetchone()
        alpha_count = RequestIndex.objects.filter(agency=alpha).count()
    return [
        f"index rows: {total} ({recent} in the last 30 days), {oldest:%Y-%m-%d} .. "
        f"{newest:%Y-%m-%d}; alpha {alpha_count}; table {heap}, with indexes {size}",
        f"statuses: {by_status}",
        f"late {late * 100:.1f} %; first response set {fr}, resolution set {rs}, "
        f"satisfaction set {sat} (mean {sat_avg:.2f})",
    ]


def _cleanup(alpha: Agency) -> float:
    """Remove the module's rows (a later benchmark must not meet agencies without schemas)."""
    started = time.perf_counter()
    connection.set_schema_to_public()
    ids = list(Agency.objects.filter(slug__startswith="bench-stat-").values_list("pk", flat=True))
    ids.append(alpha.pk)
    for table in (
        rollups.INDEX,
        rollups.DETAIL,
        rollups.DETAIL_MONTHLY,
        rollups.AGENCY,
        rollups.AGENCY_MONTHLY,
        rollups.BENEFICIARIES,
    ):
        sql(f"DELETE FROM public.{table} WHERE agency_id = ANY(%s)", [ids])
    # The platform rollup has no agency column: what is left is rebuilt from the index.
    rollups.rollup_rebuild()
    with schema_context(alpha.schema_name):  # alpha's real requests no longer have index rows
        Request.objects.all().delete()
    connection.set_schema_to_public()
    sql("DELETE FROM tenants_agency WHERE slug LIKE 'bench-stat-%%'")
    sql("DELETE FROM accounts_user WHERE email LIKE 'bench-stat-b%%@example.sa'")
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker, agencies):
    """The agencies, people and 1,000,000 index rows, rolled up and analysed (committed)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PRESENCE_TRACKING=False,
    )
    fast.enable()
    try:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            alpha = Agency.objects.get(pk=agencies["alpha"].pk)
            assert not RequestIndex.objects.exists(), "the statistics bench needs an empty index"
            rng = random.Random(42)
            setup_started = time.perf_counter()
            alpha_setup = _alpha_setup(alpha)
            oversight = person("oversight")
            User.objects.filter(pk=oversight.pk).update(is_oversight=True)
            oversight.refresh_from_db()
            setup_s = time.perf_counter() - setup_started
            # The bulk load drops and rebuilds indexes and vacuums: the owner role's.
            with dbroles.owner_connection():
                generated = _generate(alpha, alpha_setup, rng)

                started = time.perf_counter()
                counts = rollups.rollup_rebuild()
                rebuild_s = time.perf_counter() - started
                started = time.perf_counter()
                for table in (rollups.INDEX, rollups.DETAIL, rollups.AGENCY, "accounts_user"):
                    sql(f"VACUUM (ANALYZE) public.{table}")
                vacuum_s = time.perf_counter() - started
            profile = _index_profile(alpha)
            yield {
                "alpha": alpha,
                "oversight": oversight,
                "setup_s": setup_s,
                "generated": generated,
                "rebuild": counts,
                "rebuild_s": rebuild_s,
                "vacuum_s": vacuum_s,
                "profile": profile,
                **alpha_setup,
            }
            cleanup_s = _cleanup(alpha)
            print(f"\nBENCH statistics: module data deleted in {cleanup_s:.1f} s", flush=True)
    finally:
        fast.disable()
        root.setLevel(level)


# --- a) generation and rebuild -----------------------------------------------------------------


def test_bench_statistics_generation_and_rebuild(dataset):
    generated, counts = dataset["generated"], dataset["rebuild"]
    sizes = generated["sizes"]
    sums = AgencyDailyStat.objects.values_list("received", flat=True)
    received = sum(sums)
    detail_received = sum(DailyStat.objects.values_list("received", flat=True))
    rollup_sizes = []
    with connection.cursor() as cursor:
        for table in (rollups.DETAIL, rollups.AGENCY):
            cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('public.{table}'))")
            rollup_sizes.append(cursor.fetchone()[0])
    bench(
        f"statistics data set: {SYNTHETIC_AGENCIES + 1} agencies, {TOTAL_ROWS} requests; {load()}",
        f"alpha setup (admin, {ALPHA_DEPARTMENTS} departments, "
        f"{ALPHA_DEPARTMENTS * ALPHA_EMPLOYEES_PER_DEPARTMENT} employees, {ALPHA_TYPES} "
        f"services, an oversight user, through the services): {dataset['setup_s']:.1f} s",
        f"generation: {generated['total_s']:.1f} s = {SYNTHETIC_AGENCIES} agencies "
        f"{generated['agencies_s']:.2f} s + {generated['users']} users "
        f"{generated['users_s']:.2f} s + {TOTAL_ROWS} index rows {generated['rows_s']:.1f} s "
        f"(two INSERT ... SELECT; unique constraints in place) + {generated['indexes']} "
        f"secondary indexes built again {generated['indexes_s']:.1f} s",
        f"agency sizes (Zipf s=1, alpha {ALPHA_ROWS}): largest {sizes[:5]}, median "
        f"{sizes[len(sizes) // 2]}, smallest {sizes[-1]}",
        *dataset["profile"],
        f"rollup_rebuild(): {dataset['rebuild_s']:.1f} s; {counts['detail_rows']} rows in "
        f"{rollups.DETAIL} ({rollup_sizes[0]}, {counts['detail_rows'] / TOTAL_ROWS:.2f} per "
        f"request), {counts['agency_rows']} rows in {rollups.AGENCY} ({rollup_sizes[1]})",
        f"VACUUM (ANALYZE) of the index, both rollups and accounts_user: "
        f"{dataset['vacuum_s']:.1f} s",
    )
    assert received == detail_received == TOTAL_ROWS


# --- b) the pages ------------------------------------------------------------------------------


def _time_page(client: Client, url: str) -> dict:
    for _ in range(WARMUP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        connection.set_schema_to_public()
    durations, queries = [], []
    slowest: tuple[float, CaptureQueriesContext | None] = (0.0, None)
    for _ in range(GETS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        connection.set_schema_to_public()
        assert response.status_code == 200, (url, response.status_code)
        durations.append(elapsed)
        queries.append(len(captured.captured_queries))
        if elapsed >= slowest[0]:
            slowest = (elapsed, captured)
    # The statements of a median GET (not the slowest, which may be an outlier).
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    connection.set_schema_to_public()
    return {
        "url": url,
        "durations": durations,
        "queries": queries,
        "statements": captured.captured_queries,
        "size": len(response.content),
    }


def _page_lines(label: str, result: dict) -> list[str]:
    durations, queries = result["durations"], result["queries"]
    p50, p95 = statistics.median(durations) * 1000, pct(durations, 0.95) * 1000
    counts = sorted(set(queries))
    constant = "constant" if len(counts) == 1 else f"VARIES {counts}"
    sql_ms = sum(float(q["time"]) for q in result["statements"]) * 1000
    flag = f"  <-- SLOW: p95 > {SLOW_MS:.0f} ms" if p95 > SLOW_MS else ""
    lines = [
        f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(durations) * 1000:.1f} ms; "
        f"{queries[0]} queries ({constant}), SQL {sql_ms:.0f} ms of one GET; "
        f"{result['size'] // 1024} KiB{flag}"
    ]
    top = sorted(result["statements"], key=lambda q: float(q["time"]), reverse=True)[:3]
    for query in top:
        text = " ".join(query["sql"].split())
        lines.append(f"    {float(query['time']) * 1000:7.1f} ms  {text[:150]}")
    return lines


def _explain(statement: str, schema: str) -> list[str]:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
        plan = [line for (line,) in cursor.fetchall()]
    connection.set_schema_to_public()
    return plan


def test_bench_statistics_pages(dataset):
    alpha = dataset["alpha"]
    today = timezone.localdate()
    year = f"?start={today - timedelta(days=365)}&end={today}&grain=month"
    oversight = Client()
    oversight.force_login(dataset["oversight"])
    admin = Client()
    admin.force_login(dataset["admin"])
    pages = [
        ("/oversight/ (30 days)", oversight, "/oversight/", "public"),
        ("/oversight/ (365 days, by month)", oversight, "/oversight/" + year, "public"),
        (
            "/oversight/agencies/alpha/ (30 days)",
            oversight,
            f"/oversight/agencies/{alpha.slug}/",
            "public",
        ),
        (
            "/oversight/agencies/alpha/ (365 days, by month)",
            oversight,
            f"/oversight/agencies/{alpha.slug}/" + year,
            "public",
        ),
        (
            "/a/alpha/statistics/ as admin (30 days)",
            admin,
            f"/a/{alpha.slug}/statistics/",
            alpha.schema_name,
        ),
        (
            "/a/alpha/statistics/ as admin (365 days, by month)",
            admin,
            f"/a/{alpha.slug}/statistics/" + year,
            alpha.schema_name,
        ),
    ]
    results, lines = [], []
    for label, client, url, schema in pages:
        result = _time_page(client, url)
        result.update(label=label, schema=schema)
        results.append(result)
        lines += _page_lines(label, result)
    bench(
        f"statistics pages, {TOTAL_ROWS} index rows, {SYNTHETIC_AGENCIES + 1} agencies; "
        f"{WARMUP} warm-up + {GETS} timed GETs each, in process (django.test.Client); the "
        f"3 slowest statements of one GET under each; {load()}",
        *lines,
    )
    slow = [r["label"] for r in results if pct(r["durations"], 0.95) * 1000 > SLOW_MS]
    bench(
        f"pages with p95 > {SLOW_MS:.0f} ms: {len(slow)} of {len(results)}",
        *(slow or ["none"]),
    )

    worst = max(results, key=lambda r: statistics.median(r["durations"]))
    statement = max(worst["statements"], key=lambda q: float(q["time"]))
    plan = _explain(statement["sql"], worst["schema"])
    print(
        f"\nBENCH-SQL slowest statement of the slowest page ({worst['label']}, "
        f"{float(statement['time']) * 1000:.1f} ms in the GET):\nBENCH-SQL {statement['sql']}",
        flush=True,
    )
    for line in plan:
        print(f"BENCH-SQL   {line}", flush=True)
    if os.environ.get("BENCH_PROFILE"):
        for result in results:
            _profile(result, pages)


def _profile(result: dict, pages: list) -> None:
    """With BENCH_PROFILE=1: cProfile of one GET of a page, the 20 functions of most own time."""
    import cProfile
    import io
    import pstats

    client = next(c for label, c, _url, _schema in pages if label == result["label"])
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(result["url"])
    profiler.disable()
    connection.set_schema_to_public()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    print(f"\nBENCH-PROFILE {result['label']}", flush=True)
    for line in out.getvalue().splitlines():
        if line.strip():
            print(f"BENCH-PROFILE   {line}", flush=True)


# --- c) incremental maintenance ----------------------------------------------------------------

# (status, first response after, closed after, reopened_count, employee index in department 0)
STATES = [
    (Status.IN_PROGRESS, timedelta(hours=1), None, 0, 0),
    (Status.CLOSED, timedelta(hours=1), timedelta(hours=5), 0, 0),
    (Status.IN_PROGRESS, timedelta(hours=1), None, 1, 1),  # reopened, another assignee
    (Status.NEW, None, None, 0, 0),
]


def _sync_loop(alpha: Agency, items: list[Request], memberships: list, count: int) -> dict:
    """``count`` state changes, each followed by a timed ``index_sync`` in its own transaction;
    the durations, and the statements of the last call in each state."""
    durations, statements = [], {}
    for n in range(count):
        item = items[n % len(items)]
        state = (n // len(items)) % len(STATES)
        status, first, closed, reopened, who = STATES[state]
        with schema_context(alpha.schema_name):
            Request.objects.filter(pk=item.pk).update(
                status=status,
                first_response_at=item.created_at + first if first else None,
                closed_at=item.created_at + closed if closed else None,
                reopened_count=reopened,
                assignee=memberships[who],
                is_late=n % 7 == 0,
            )
            fresh = Request.objects.select_related("transaction_type", "assignee__user").get(
                pk=item.pk
            )
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                with transaction.atomic():
                    index_sync(agency=alpha, request=fresh)
                durations.append(time.perf_counter() - started)
            statements[state] = captured.captured_queries
        connection.set_schema_to_public()
    return {"durations": durations, "statements": statements}


def _statement_lines(statements: list[dict]) -> list[str]:
    return [
        f"    {float(q['time']) * 1000:6.1f} ms  {' '.join(q['sql'].split())[:140]}"
        for q in statements
    ]


def _rollups_match_index(alpha: Agency) -> bool:
    """alpha's rows of both rollups equal a GROUP BY over its index rows (the rebuild's own
    SELECT, restricted to alpha), every metric (float sums rounded)."""
    rebuild = rollups._rebuild_sql()
    select = rebuild[rebuild.index("SELECT") : rebuild.index("GROUP BY")]
    key = ("agency_id", "day", "department_id", "assignee_user_id", "type_id")

    def cols(metrics):
        return ", ".join(
            f"round(({m})::numeric, 6)" if "satisfaction_sum" in m else m for m in metrics
        )

    detail = cols([*key, *rollups.METRICS])
    agency = cols(["agency_id", "day", *rollups.METRICS])
    summed = cols(["agency_id", "day", *(f"sum({m})" for m in rollups.METRICS)])
    statement = f"""
        WITH truth ({", ".join([*key, *rollups.METRICS])}) AS (
            {select} WHERE agency_id = %(a)s GROUP BY 1, 2, 3, 4, 5),
        detail AS (SELECT {detail} FROM public.{rollups.DETAIL} WHERE agency_id = %(a)s),
        detail_truth AS (SELECT {detail} FROM truth),
        agency AS (SELECT {agency} FROM public.{rollups.AGENCY} WHERE agency_id = %(a)s),
        agency_truth AS (SELECT {summed} FROM truth GROUP BY agency_id, day)
        SELECT (SELECT count(*) FROM ((TABLE detail EXCEPT TABLE detail_truth)
                                      UNION ALL (TABLE detail_truth EXCEPT TABLE detail)) x),
               (SELECT count(*) FROM ((TABLE agency EXCEPT TABLE agency_truth)
                                      UNION ALL (TABLE agency_truth EXCEPT TABLE agency)) y)
    """
    with connection.cursor() as cursor:
        cursor.execute(statement, {"a": alpha.pk})
        detail_diff, agency_diff = cursor.fetchone()
    return detail_diff == 0 and agency_diff == 0


def test_bench_statistics_index_sync(dataset):
    alpha = dataset["alpha"]
    service = dataset["types"][0]  # in department 0
    people = [person("sync") for _ in range(SYNC_REQUESTS)]
    items = [make_request(alpha, beneficiary=p, request_type=service) for p in people]
    connection.set_schema_to_public()
    with schema_context(alpha.schema_name):
        memberships = [Membership.objects.get(user_id=u.pk) for u in dataset["employees"][0][:2]]
    connection.set_schema_to_public()
    for _ in range(2):  # warm-up
        _sync_loop(alpha, items, memberships, len(items) * len(STATES))
    with_rollups = _sync_loop(alpha, items, memberships, SYNCS)
    consistent = _rollups_match_index(alpha)
    # The cost of rollup_apply: blocks of 20 calls with and without it, interleaved, so that a
    # change of load on the machine falls on both alike. The rollups drift in the blocks
    # without; a rebuild restores them afterwards.
    block = len(items) * len(STATES)
    paired = {"with": [], "without": []}
    for _ in range(max(1, SYNCS // block // 2)):
        paired["with"] += _sync_loop(alpha, items, memberships, block)["durations"]
        with mock.patch("insights.rollups.rollup_apply", lambda **kwargs: None):
            without = _sync_loop(alpha, items, memberships, block)
        paired["without"] += without["durations"]
    started = time.perf_counter()
    counts = rollups.rollup_rebuild()
    rebuild_s = time.perf_counter() - started
    restored = _rollups_match_index(alpha)

    def line(label: str, durations: list[float]) -> str:
        return (
            f"{label}: mean {statistics.mean(durations) * 1000:.2f} ms, p50 "
            f"{statistics.median(durations) * 1000:.2f} ms, p95 {pct(durations, 0.95) * 1000:.2f}"
            f" ms, max {max(durations) * 1000:.2f} ms"
        )

    mean_with = statistics.mean(paired["with"])
    mean_without = statistics.mean(paired["without"])
    moved = with_rollups["statements"][2]  # reopened to another assignee: the cohort moves
    same = with_rollups["statements"][0]  # responded: same cohort, new figures
    # The lookup of the old row (select_for_update().filter(agency, request_id)[:1]).
    lookup = next(
        q
        for q in moved
        if q["sql"].startswith('SELECT "requests_public_requestindex"."id"')
        and "FOR UPDATE" in q["sql"]
    )
    bench(
        f"index_sync x{SYNCS} on {SYNC_REQUESTS} real alpha requests, each in a transaction of "
        f"its own (state cycle: respond, close, reopen to another assignee, back to new); "
        f"{load()}",
        line("with rollup_apply", with_rollups["durations"]),
        f"interleaved blocks of {block}, {len(paired['with'])} calls each:",
        line("  with rollup_apply", paired["with"]),
        line("  without rollup_apply (patched out)", paired["without"]),
        f"rollup_apply adds {(mean_with - mean_without) * 1000:.2f} ms per call on average "
        f"({(mean_with / mean_without - 1) * 100:.0f} %)",
        f"statements of one call, same cohort (respond): {len(same)}, without rollup_apply "
        f"{len(without['statements'][0])}",
        *_statement_lines(same),
        f"statements of one call, cohort moved (reopen to another assignee): {len(moved)}",
        *_statement_lines(moved),
        f"EXPLAIN (ANALYZE, BUFFERS) of the lookup of the old row "
        f"({float(lookup['time']) * 1000:.1f} ms in the loop):",
        *(f"    {line}" for line in _explain(lookup["sql"], alpha.schema_name)),
        f"alpha's rollups equal its index after the loop with rollup_apply: "
        f"{'yes' if consistent else 'NO'}",
        f"rollup_rebuild() again (restores the rollups after the interleaved blocks): "
        f"{rebuild_s:.1f} s, {counts['detail_rows']} + {counts['agency_rows']} rows; "
        f"consistent: {'yes' if restored else 'NO'}",
    )
    assert consistent and restored
