"""The hash chain over the audit logs (issue 10, "a gap or change is detectable"):
tenants/audit_chain.py, the trigger of migrations 0004 and ``manage.py audit_verify``.

Most tests run in the usual rolled-back transaction as the app role. Tampering needs the owner
role (the only one that may disable the append-only trigger) on a separate connection, which
sees only committed rows, and the concurrency test needs real connections: those use a
dedicated agency onboarded and committed once for this module (``chain_agency``), whose audit
log they leave intact (each tampering is undone) and which is deactivated at the end."""

import hashlib
import threading
import uuid
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django_tenants.utils import schema_context
from psycopg import errors

from core import audit
from tenants.audit_chain import GENESIS, chain_verify
from tenants.models import Agency
from tenants.services import agency_onboard
from tests import roles

AGENCY_TABLE = "agency_audit_event"


def _chain(schema: str, table: str, since: int = 0) -> list[tuple]:
    """(id, chain_seq, prev_hash, row_hash, the content as hashed) in chain order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', 'UTC', true)")
        cursor.execute(
            f"SELECT id, chain_seq, prev_hash, row_hash, jsonb_strip_nulls(to_jsonb(t) - "
            f"'{{chain_seq,prev_hash,row_hash}}'::text[])::text FROM {schema}.{table} t "
            "WHERE chain_seq > %s ORDER BY chain_seq",
            [since],
        )
        return cursor.fetchall()


def _assert_linked(rows: list[tuple], before: tuple | None = None) -> None:
    """Each row's hash is sha256(prev_hash + content), recomputed here in Python, and its
    prev_hash is the row before's hash (or the genesis)."""
    previous = before
    for id_, seq, prev_hash, row_hash, content in rows:
        assert seq == (previous[1] + 1 if previous else 1), id_
        assert prev_hash == (previous[3] if previous else GENESIS), id_
        assert row_hash == hashlib.sha256((prev_hash + content).encode()).hexdigest(), id_
        previous = (id_, seq, prev_hash, row_hash)


def _head(schema: str, table: str) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, chain_seq, prev_hash, row_hash FROM {schema}.{table} "
            "ORDER BY chain_seq DESC LIMIT 1"
        )
        return cursor.fetchone()


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def _verify_broken(*args: str) -> str:
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("audit_verify", *args, stdout=out)
    assert info.value.returncode == 1  # manage.py exits with it
    return out.getvalue()


# --- the chain as the application writes it ------------------------------------------------


def test_platform_events_are_chained(db):
    head = _head("public", "platform_audit_event")
    events = [audit.platform_record(action=f"test.chain.{i}", after={"i": i}) for i in range(3)]
    rows = _chain("public", "platform_audit_event", since=head[1] if head else 0)
    assert [row[0] for row in rows] == [event.pk for event in events]
    _assert_linked(rows, before=head)
    # RETURNING brought the values the trigger set back onto the instances.
    assert [(e.chain_seq, e.prev_hash, e.row_hash) for e in events] == [r[1:4] for r in rows]
    assert "all chains intact" in _verify("--schema", "public")


def test_agency_events_are_chained(agency_a):
    schema = agency_a.schema_name
    head = _head(schema, AGENCY_TABLE)
    with schema_context(schema):
        for i in range(3):
            audit.agency_record(action=f"test.chain.{i}", before={"a": [1, None]}, after=None)
    rows = _chain(schema, AGENCY_TABLE, since=head[1] if head else 0)
    assert len(rows) == 3
    _assert_linked(rows, before=head)
    assert f"ok      {schema}.{AGENCY_TABLE}" in _verify("--schema", schema)


def test_an_agency_onboarded_at_runtime_starts_its_own_chain(db, agencies):
    """The columns, the unique position and the trigger come through the template clone."""
    agency = agency_onboard(
        slug="chain-new", name_ar="جهة", name_en="Chain", admin_email="admin@chain-new.example"
    )
    schema = agency.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = %s::regclass "
            "AND NOT t.tgisinternal ORDER BY 1",
            [f"{schema}.{AGENCY_TABLE}"],
        )
        assert [name for (name,) in cursor.fetchall()] == [
            "agency_audit_event_chain",
            "agency_audit_event_no_truncate",
            "agency_audit_event_no_update",
        ]
    with schema_context(schema):
        audit.agency_record(action="test.chain.new")
        audit.agency_record(action="test.chain.new", after={"n": 2})
    rows = _chain(schema, AGENCY_TABLE)
    assert len(rows) >= 2  # the onboarding's own events, then these
    assert rows[0][1:3] == (1, GENESIS)
    _assert_linked(rows)
    assert "all chains intact" in _verify("--schema", schema)


def test_bulk_inserts_in_one_statement_are_chained(agency_a):
    from tenants.staff.models import AuditEvent

    schema = agency_a.schema_name
    head = _head(schema, AGENCY_TABLE)
    with schema_context(schema):
        AuditEvent.objects.bulk_create([AuditEvent(action=f"test.bulk.{i}") for i in range(5)])
    rows = _chain(schema, AGENCY_TABLE, since=head[1] if head else 0)
    assert len(rows) == 5
    _assert_linked(rows, before=head)


def test_the_app_role_cannot_choose_the_chain_values(agency_a):
    schema = agency_a.schema_name
    head = _head(schema, AGENCY_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {schema}.{AGENCY_TABLE} (created_at, actor_display, action, "
            "object_type, object_id, object_repr, chain_seq, prev_hash, row_hash) "
            "VALUES (now(), '', 'test.forged', '', '', '', 1, %s, %s) "
            "RETURNING chain_seq, prev_hash, row_hash",
            [GENESIS, "f" * 64],
        )
        seq, prev_hash, row_hash = cursor.fetchone()
    assert (seq, prev_hash) == (head[1] + 1, head[3])
    assert row_hash != "f" * 64
    _assert_linked(_chain(schema, AGENCY_TABLE, since=head[1]), before=head)
    # Nor switch the chain off (it does not own the table).
    for statement in (
        f"ALTER TABLE {schema}.{AGENCY_TABLE} DISABLE TRIGGER agency_audit_event_chain",
        "CREATE OR REPLACE FUNCTION public.audit_chain_link() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "ALTER FUNCTION public.audit_chain_hash(text, jsonb) RENAME TO forged",
    ):
        with pytest.raises(DatabaseError) as info, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
        assert isinstance(info.value.__cause__, errors.InsufficientPrivilege), statement


def test_chain_order_not_id_order(agency_a):
    """The predecessor is the last chain position, not the highest id: ids are taken from the
    sequence before the trigger and may commit out of order (here: chosen by hand)."""
    schema = agency_a.schema_name
    head = _head(schema, AGENCY_TABLE)
    insert = (
        f"INSERT INTO {schema}.{AGENCY_TABLE} (id, created_at, actor_display, action, "
        "object_type, object_id, object_repr) VALUES (%s, now(), '', 'test.order', '', '', '')"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [head[0] + 1_000_000])
        cursor.execute(insert, [head[0] + 500_000])
    rows = _chain(schema, AGENCY_TABLE, since=head[1])
    assert [row[0] for row in rows] == [head[0] + 1_000_000, head[0] + 500_000]
    _assert_linked(rows, before=head)
    assert chain_verify(schema, AGENCY_TABLE).broken is None


def test_a_clean_database_verifies_with_exit_status_0(db, agencies):
    output = _verify()  # --all: public and every agency
    assert "all chains intact" in output
    assert "public.platform_audit_event" in output
    for agency in agencies.values():
        assert f"{agency.schema_name}.{AGENCY_TABLE}" in output
    assert "checked " in output and " rows in " in output


def test_unknown_schema_is_refused(db):
    with pytest.raises(CommandError, match="no readable audit log"):
        _verify("--schema", "agency_nope")


# --- committed work: tampering by the owner role, concurrent writers -------------------------


@pytest.fixture(scope="module")
def chain_agency(django_db_setup, django_db_blocker):
    """An agency of this module's own, committed, with a few committed audit rows."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        tag = uuid.uuid4().hex[:8]
        agency = agency_onboard(
            slug=f"chain-{tag}",
            name_ar="جهة السلسلة",
            name_en="Chain Agency",
            admin_email=f"admin-{tag}@chain.example",
        )
        with schema_context(agency.schema_name):
            for i in range(6):
                audit.agency_record(action=f"test.committed.{i}", after={"i": i})
        connection.set_schema_to_public()
        assert not connection.in_atomic_block
        try:
            yield agency
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE procrastinate_jobs SET status = 'cancelled' "
                    "WHERE status = 'todo' AND args::text LIKE %s",
                    [f"%chain-{tag}%"],
                )
            Agency.objects.filter(pk=agency.pk).update(is_active=False)
            connections.close_all()


@pytest.fixture
def committed(chain_agency, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield chain_agency
        finally:
            connection.set_schema_to_public()
            connections.close_all()


def _as_owner(*statements: tuple[str, list | None]) -> None:
    """Run and COMMIT statements as the owner role, append-only trigger disabled meanwhile."""
    with roles.owner_cursor() as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)
        cursor.connection.commit()


def _rows(schema: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, action FROM {schema}.{AGENCY_TABLE} ORDER BY chain_seq")
        return cursor.fetchall()


def test_a_row_changed_by_the_owner_is_detected(committed):
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    target_id, action = _rows(schema)[3]
    change = f"UPDATE {table} SET action = %s WHERE id = %s"
    _as_owner(
        (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
        (change, ["forged", target_id]),
        (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
    )
    try:
        output = _verify_broken("--schema", schema)
        assert f"BROKEN  {table} at id {target_id} " in output
        assert ": changed: " in output
    finally:
        _as_owner(
            (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
            (change, [action, target_id]),
            (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
        )
    assert "all chains intact" in _verify("--schema", schema)


def test_a_row_changed_and_rehashed_by_the_owner_is_detected_at_the_next_row(committed):
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    rows = _rows(schema)
    (target_id, action), (next_id, _) = rows[2], rows[3]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_hash FROM {table} WHERE id = %s", [target_id])
        (saved_hash,) = cursor.fetchone()
    rehash = (
        f"UPDATE {table} t SET action = %s, row_hash = public.audit_chain_hash(t.prev_hash, "
        "to_jsonb(t) || jsonb_build_object('action', %s::text)) WHERE id = %s"
    )
    _as_owner(
        ("SET TimeZone = 'UTC'", None),
        (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
        (rehash, ["forged", "forged", target_id]),
        (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
    )
    try:
        output = _verify_broken("--schema", schema)
        assert f"at id {next_id} " in output
        assert f"does not link to the row before it (id {target_id})" in output
    finally:
        _as_owner(
            (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
            (
                f"UPDATE {table} SET action = %s, row_hash = %s WHERE id = %s",
                [action, saved_hash, target_id],
            ),
            (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
        )
    assert "all chains intact" in _verify("--schema", schema)


def test_a_row_deleted_in_the_middle_is_detected(committed):
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    rows = _rows(schema)
    (deleted_id, _), (next_id, _) = rows[2], rows[3]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chain_seq, row_to_json(t)::text FROM {table} t WHERE id = %s", [deleted_id]
        )
        deleted_seq, saved = cursor.fetchone()
    _as_owner(
        (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
        (f"DELETE FROM {table} WHERE id = %s", [deleted_id]),
        (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
    )
    try:
        output = _verify_broken("--schema", schema)
        assert f"BROKEN  {table} at id {next_id} " in output
        assert f": missing: rows missing (deleted) before id {next_id}" in output
        assert f"chain positions {deleted_seq}..{deleted_seq}" in output
    finally:
        # The very row back (the chain trigger would re-chain it: off meanwhile).
        _as_owner(
            (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_chain", None),
            (f"INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, %s)", [saved]),
            (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_chain", None),
        )
    assert "all chains intact" in _verify("--schema", schema)


def _swap_positions(table: str, first_id: int, second_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, chain_seq FROM {table} WHERE id IN (%s, %s)", [first_id, second_id]
        )
        positions = dict(cursor.fetchall())
    _as_owner(
        (f"ALTER TABLE {table} DISABLE TRIGGER agency_audit_event_no_update", None),
        (
            f"UPDATE {table} SET chain_seq = -chain_seq WHERE id IN (%s, %s)",
            [first_id, second_id],
        ),
        (
            f"UPDATE {table} SET chain_seq = CASE id WHEN %s THEN %s ELSE %s END "
            "WHERE id IN (%s, %s)",
            [first_id, positions[second_id], positions[first_id], first_id, second_id],
        ),
        (f"ALTER TABLE {table} ENABLE TRIGGER agency_audit_event_no_update", None),
    )


def test_rows_swapped_in_the_chain_are_detected(committed):
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    rows = _rows(schema)
    (first_id, _), (second_id, _) = rows[1], rows[2]
    _swap_positions(table, first_id, second_id)
    try:
        output = _verify_broken("--schema", schema)
        assert f"BROKEN  {table} at id {second_id} " in output
        assert f": reordered: row id {second_id} was chained after id {first_id}" in output
    finally:
        _swap_positions(table, first_id, second_id)
    assert "all chains intact" in _verify("--schema", schema)


def _app_connection() -> psycopg.Connection:
    app = roles.credentials("app")
    params = {
        "dbname": connection.settings_dict["NAME"],
        "user": app["USER"] or None,
        "password": app["PASSWORD"] or None,
        "host": app["HOST"] or None,
        "port": app["PORT"] or None,
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v})


def test_concurrent_writers_keep_one_linear_chain(committed):
    """Two connections insert 2 rows per transaction, interleaved: the chain stays linear."""
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    before = len(_rows(schema))
    per_thread = 40
    start = threading.Barrier(2)
    failures = []

    def write(name: str) -> None:
        try:
            with _app_connection() as conn:
                start.wait(timeout=30)
                for i in range(per_thread // 2):
                    with conn.transaction(), conn.cursor() as cursor:
                        for j in range(2):
                            cursor.execute(
                                f"INSERT INTO {table} (created_at, actor_display, action, "
                                "object_type, object_id, object_repr, after) VALUES "
                                "(clock_timestamp(), %s, 'test.concurrent', '', '', '', %s)",
                                [name, psycopg.types.json.Jsonb({"i": i, "j": j})],
                            )
                            cursor.execute("SELECT pg_sleep(0.001)")
        except Exception as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = _chain(schema, AGENCY_TABLE)
    assert len(rows) == before + 2 * per_thread
    _assert_linked(rows)
    # Both writers' rows are in it, interleaved.
    writers = [content for *_, content in rows[before:]]
    assert any('"actor_display": "a"' in c for c in writers)
    assert any('"actor_display": "b"' in c for c in writers)
    assert "all chains intact" in _verify("--schema", schema)


def test_a_stale_snapshot_cannot_fork_the_chain(committed):
    """REPEATABLE READ: a writer whose snapshot predates the head fails, the chain stays."""
    schema = committed.schema_name
    table = f"{schema}.{AGENCY_TABLE}"
    insert = (
        f"INSERT INTO {table} (created_at, actor_display, action, object_type, object_id, "
        "object_repr) VALUES (now(), '', 'test.snapshot', '', '', '')"
    )
    with _app_connection() as stale, _app_connection() as other:
        stale.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with stale.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # the snapshot is taken
            with other.cursor() as writer:
                writer.execute(insert)
            other.commit()
            with pytest.raises(errors.UniqueViolation):
                cursor.execute(insert)
        stale.rollback()
    assert "all chains intact" in _verify("--schema", schema)
