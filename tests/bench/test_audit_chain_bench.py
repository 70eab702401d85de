"""What the audit hash chain (tenants/audit_chain.py) costs an insert: 2,000 audit rows
inserted one transaction each, as the application does, into an agency's audit table (chain
trigger, advisory lock, sha256 in SQL) and into a copy of that table without the chain columns
and trigger (same indexes and append-only triggers), alternately in rounds; then the time
``audit_verify`` takes over that agency's log.

    .venv/bin/python infra/run.py bench -- -k audit_chain
"""

import statistics
import time
import uuid
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from core import audit
from tenants.services import agency_onboard
from tests import roles
from tests.bench.helpers import bench, load, pct

ROWS = 2000
ROUNDS = 10
INSERT = (
    "INSERT INTO {table} (created_at, actor_id, actor_display, action, object_type, object_id, "
    "object_repr, ip_address, before, after) VALUES (now(), 42, 'موظف الاختبار', "
    "'staff.membership.update', 'staff.membership', %s, 'عضوية', '10.1.2.3', "
    '\'{{"roles": ["agent"]}}\', \'{{"roles": ["agent", "supervisor"]}}\')'
)


def _insert_rows(table: str, n: int, offset: int) -> list[float]:
    """n inserts, each its own transaction (autocommit); seconds each."""
    timings = []
    sql = INSERT.format(table=table)
    with connection.cursor() as cursor:
        for i in range(n):
            started = time.perf_counter()
            cursor.execute(sql, [str(offset + i)])
            timings.append(time.perf_counter() - started)
    return timings


def test_bench_audit_chain_insert_cost(committed_db):
    tag = uuid.uuid4().hex[:8]
    agency = agency_onboard(
        slug=f"chainbench-{tag}",
        name_ar="جهة القياس",
        name_en="Chain bench",
        admin_email=f"admin-{tag}@bench.example",
    )
    schema = agency.schema_name
    chained = f"{schema}.agency_audit_event"
    plain = f"{schema}.bench_audit_plain"
    app = roles.credentials("app")["USER"]
    with roles.owner_cursor() as cursor:
        cursor.execute(f"CREATE TABLE {plain} (LIKE {chained} INCLUDING ALL)")
        cursor.execute(
            f"ALTER TABLE {plain} DROP COLUMN chain_seq, DROP COLUMN prev_hash, "
            "DROP COLUMN row_hash"
        )
        for trigger in ("no_update", "no_truncate"):
            cursor.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname = %s",
                [chained, f"agency_audit_event_{trigger}"],
            )
            (definition,) = cursor.fetchone()
            cursor.execute(
                definition.replace(f"agency_audit_event_{trigger}", f"plain_{trigger}").replace(
                    chained, plain
                )
            )
        cursor.execute(f'GRANT SELECT, INSERT ON {plain} TO "{app}"')
        cursor.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO "{app}"')
        cursor.connection.commit()
    assert not connection.in_atomic_block  # every insert below commits on its own

    per_round = ROWS // ROUNDS
    times = {"chain": [], "plain": []}
    _insert_rows(plain, 100, 0)  # warm-up (plans, caches)
    _insert_rows(chained, 100, 0)
    for r in range(ROUNDS):
        order = ("plain", "chain") if r % 2 == 0 else ("chain", "plain")
        for kind in order:
            table = chained if kind == "chain" else plain
            times[kind] += _insert_rows(table, per_round, (r + 1) * per_round)

    # The application's own path (Django model, RETURNING of the chain columns).
    with schema_context(schema):
        started = time.perf_counter()
        for i in range(ROWS):
            audit.agency_record(action="bench.chain", after={"i": i})
        through_django = (time.perf_counter() - started) / ROWS

    out = StringIO()
    started = time.perf_counter()
    call_command("audit_verify", "--schema", schema, stdout=out)
    verify_s = time.perf_counter() - started
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {chained}")
        (verified_rows,) = cursor.fetchone()
    assert "all chains intact" in out.getvalue()

    def line(kind: str) -> str:
        values = times[kind]
        return (
            f"{kind:5}: {ROWS} inserts in {sum(values):.2f} s, mean "
            f"{statistics.mean(values) * 1e6:.0f} µs, median {pct(values, 0.5) * 1e6:.0f} µs, "
            f"p95 {pct(values, 0.95) * 1e6:.0f} µs"
        )

    overhead = statistics.mean(times["chain"]) - statistics.mean(times["plain"])
    bench(
        "audit chain: insert cost (one transaction per insert, raw SQL, same indexes)",
        line("plain"),
        line("chain"),
        f"chain overhead: {overhead * 1e6:+.0f} µs per insert "
        f"({overhead / statistics.mean(times['plain']) * 100:+.0f} %)",
        f"through audit.agency_record (Django): {through_django * 1e6:.0f} µs per insert",
        f"audit_verify over {verified_rows} rows: {verify_s:.2f} s",
        load(),
    )
