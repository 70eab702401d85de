"""Provisioning benchmarks: they print figures and are not part of the CI pass/fail.

Run with ``make bench`` (or ``.venv/bin/python infra/run.py bench -- -v``); README.md here says
what each figure means. Everything is committed (fixture ``committed_db``) in a test database of
its own that is dropped at the end. The tests build on each other's agencies when run in file
order (a: 21, b: tops up to 100, d: adds 40) but each also runs alone (``-k``).

Each measurement starts on a fresh database connection: the cost of an onboarding depends on how
many onboardings the same PostgreSQL backend has already done (see d and README.md), so figures
must not depend on which test ran before.
"""

import math
import statistics
import time

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from tenants import dbroles
from tenants.models import Agency
from tenants.services import _schema_create, agency_onboard, template_schema_ensure

ONBOARD_SAMPLES = 20
MIGRATE_AGENCIES = 100
FRESH_SAMPLES = 10
SAME_CONNECTION_SAMPLES = 30
GROUP = 10
CLONE_VS_REPLAY_SAMPLES = 5
MEDIAN_TARGET_S = 2.0


# --- helpers -----------------------------------------------------------------------------------


def summary(samples: list[float]) -> dict[str, float]:
    """min / median / p95 (nearest rank) / max of durations in seconds."""
    ordered = sorted(samples)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


def fmt(stats: dict[str, float]) -> str:
    return " / ".join(f"{key} {value:.3f}s" for key, value in stats.items())


def report(title: str, lines: list[str]) -> None:
    print(f"\n[bench] {title}", flush=True)
    for line in lines:
        print(f"[bench]   {line}", flush=True)


def fresh_connection() -> None:
    """Start on a new PostgreSQL backend (Django reconnects on the next query)."""
    connection.close()
    connection.set_schema_to_public()


def onboard(slug: str) -> Agency:
    return agency_onboard(
        slug=slug,
        name_ar=f"جهة {slug}",
        name_en=f"Agency {slug}",
        admin_email=f"admin@{slug}.example",
    )


def timed(func, *args, **kwargs) -> float:
    started = time.perf_counter()
    func(*args, **kwargs)
    elapsed = time.perf_counter() - started
    connection.set_schema_to_public()
    return elapsed


def next_slugs(prefix: str, count: int) -> list[str]:
    """`count` unused slugs prefix-000, prefix-001, ... (tests may run alone or in any order)."""
    taken = set(Agency.objects.filter(slug__startswith=prefix).values_list("slug", flat=True))
    slugs, i = [], 0
    while len(slugs) < count:
        slug = f"{prefix}-{i:03d}"
        if slug not in taken:
            slugs.append(slug)
        i += 1
    return slugs


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def template_migrations() -> tuple[int, int]:
    """(rows in the template's django_migrations, of which migrations of tenant apps)."""
    tenant_labels = [
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    ]
    table = f'"{settings.TENANT_BASE_SCHEMA}".django_migrations'
    return (
        scalar(f"SELECT count(*) FROM {table}"),
        scalar(f"SELECT count(*) FROM {table} WHERE app = ANY(%s)", [tenant_labels]),
    )


def table_count(schema: str) -> int:
    return scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [schema]
    )


def backend_memory() -> str:
    """What this PostgreSQL backend holds for PL/pgSQL functions and cached plans."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE name = 'PL/pgSQL function'),"
                " coalesce(sum(total_bytes) FILTER (WHERE name = 'PL/pgSQL function'), 0),"
                " count(*) FILTER (WHERE name = 'CachedPlanSource'),"
                " sum(total_bytes)"
                " FROM pg_backend_memory_contexts"
            )
            functions, function_bytes, plans, total = cursor.fetchone()
    except DatabaseError:  # PostgreSQL < 14, or a role without pg_read_all_stats
        return "n/a (pg_backend_memory_contexts not readable)"
    return (
        f"{functions} compiled PL/pgSQL functions ({function_bytes / 2**20:.0f} MB), "
        f"{plans} cached plans, {total / 2**20:.0f} MB in all"
    )


def warm_template() -> None:
    """Migrated template + one throw-away onboarding (installs the clone function, warms caches)."""
    with dbroles.owner_connection():  # DDL: the owner role's
        template_schema_ensure()
    connection.set_schema_to_public()
    if not Agency.objects.filter(slug="warm-up").exists():
        onboard("warm-up")
    connection.set_schema_to_public()


# --- a) one onboarding -------------------------------------------------------------------------


def test_onboard_one_agency(committed_db):
    fresh_connection()
    warm_template()
    samples = []
    for slug in next_slugs("onb", ONBOARD_SAMPLES):
        # One onboarding as a web request does it. On one long-lived connection each onboarding
        # is slower than the one before (django-tenants re-creates its clone function): see d.
        fresh_connection()
        samples.append(timed(onboard, slug))
    stats = summary(samples)
    recorded, tenant = template_migrations()
    report(
        f"a) agency_onboard, {ONBOARD_SAMPLES} agencies one after the other "
        "(template warmed, new connection each)",
        [
            fmt(stats),
            f"template {settings.TENANT_BASE_SCHEMA}: {recorded} rows in django_migrations "
            f"({tenant} of tenant apps), recorded in each clone, none replayed",
            f"target: median < {MEDIAN_TARGET_S:.1f}s",
        ],
    )
    assert stats["median"] < MEDIAN_TARGET_S


# --- b) migrations over 100 agencies -----------------------------------------------------------


def test_migrate_100_agencies(committed_db):
    fresh_connection()
    warm_template()
    started = time.perf_counter()
    slugs = next_slugs("mig", max(0, MIGRATE_AGENCIES - Agency.objects.count()))
    for slug in slugs:
        # Setup, not measured: a new connection for each keeps it from slowing down (see d).
        fresh_connection()
        onboard(slug)
    setup = time.perf_counter() - started
    connection.set_schema_to_public()
    agencies = Agency.objects.count()
    assert agencies >= MIGRATE_AGENCIES

    standard = timed(call_command, "migrate_agencies", executor="standard", verbosity=0)
    # The multiprocessing executor closes this connection and forks workers with their own.
    multiproc = timed(call_command, "migrate_agencies", executor="multiprocessing", verbosity=0)
    tenant_only = timed(
        call_command, "migrate_schemas", tenant=True, interactive=False, verbosity=0
    )
    processes = getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2)
    report(
        f"b) migrations with nothing pending over {agencies} agencies",
        [
            f"migrate_agencies --executor=standard:        {standard:6.2f}s "
            f"({standard / agencies * 1000:.0f} ms/agency)",
            f"migrate_agencies --executor=multiprocessing: {multiproc:6.2f}s "
            f"({processes} processes, {multiproc / agencies * 1000:.0f} ms/agency)",
            f"migrate_schemas --tenant (standard):         {tenant_only:6.2f}s "
            f"({tenant_only / agencies * 1000:.0f} ms/agency)",
            f"(setup: {len(slugs)} agencies onboarded in {setup:.1f}s, new connection each)",
        ],
    )


# --- c) clone vs replay ------------------------------------------------------------------------


def _schema_replay(schema_name: str) -> None:
    with dbroles.owner_connection():  # DDL: the owner role's
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema_name}"')
        call_command("migrate_schemas", schema_name=schema_name, interactive=False, verbosity=0)


def test_clone_vs_replay(committed_db):
    fresh_connection()
    with dbroles.owner_connection():
        template_schema_ensure()
    taken = set(scalar("SELECT array_agg(nspname::text) FROM pg_namespace") or [])
    run = next(i for i in range(1000) if f"agency_bench_clone_{i}_0" not in taken)
    clone, replay = [], []
    for i in range(CLONE_VS_REPLAY_SAMPLES):  # interleaved, so drift hits both alike
        clone.append(timed(_schema_create, f"agency_bench_clone_{run}_{i}"))
        replay.append(timed(_schema_replay, f"bench_replay_{run}_{i}"))
    # Both ways must give the same schema, or the comparison means nothing.
    cloned, replayed = f"agency_bench_clone_{run}_0", f"bench_replay_{run}_0"
    assert table_count(cloned) == table_count(replayed)
    assert scalar(f"SELECT count(*) FROM {cloned}.django_migrations") == scalar(
        f"SELECT count(*) FROM {replayed}.django_migrations"
    )
    recorded, tenant = template_migrations()
    clone_s, replay_s = summary(clone), summary(replay)
    report(
        f"c) new agency schema ({table_count(cloned)} tables), {CLONE_VS_REPLAY_SAMPLES} each, "
        "interleaved, fresh connection",
        [
            f"clone  (tenants.services._schema_create):          {fmt(clone_s)}",
            f"replay (CREATE SCHEMA + migrate_schemas --schema): {fmt(replay_s)}",
            f"replay / clone (median): {replay_s['median'] / clone_s['median']:.2f}x, with "
            f"{recorded} migrations recorded of which {tenant} of tenant apps create objects",
            f"replay: {replay_s['median'] / recorded * 1000:.1f} ms per recorded migration, and "
            "more per migration that creates objects; clone: grows with tables, not migrations",
        ],
    )


# --- d) onboarding with 100 agencies: new connection vs one long-lived connection --------------


def test_onboard_connection_history(committed_db):
    """Is a slow onboarding due to the number of agencies, or to the connection's history?

    django-tenants re-creates its clone_schema PL/pgSQL functions (new OIDs) before every clone;
    each backend keeps every compiled version with its cached plans, so one connection gets
    slower (and bigger) with each onboarding it performs."""
    fresh_connection()
    warm_template()
    present = Agency.objects.count()
    fresh = []
    for slug in next_slugs("fresh", FRESH_SAMPLES):
        fresh_connection()
        fresh.append(timed(onboard, slug))
    fresh_connection()
    before = backend_memory()
    same = [timed(onboard, slug) for slug in next_slugs("same", SAME_CONNECTION_SAMPLES)]
    after = backend_memory()
    lines = [f"new connection for each of {FRESH_SAMPLES}: {fmt(summary(fresh))}"]
    lines.append(f"{SAME_CONNECTION_SAMPLES} on one new connection, median per group of {GROUP}:")
    for start in range(0, SAME_CONNECTION_SAMPLES, GROUP):
        group = same[start : start + GROUP]
        lines.append(
            f"  onboardings {start + 1:2d}-{start + len(group):2d}: "
            f"median {statistics.median(group):.3f}s, max {max(group):.3f}s"
        )
    lines += [f"that backend before: {before}", f"that backend after:  {after}"]
    report(f"d) agency_onboard with {present}+ agencies present: connection history", lines)
