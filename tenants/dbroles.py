"""Two database roles: the owner runs migrations, the application owns nothing.

* The OWNER role (DATABASE_OWNER_URL) owns the database, every schema, table, sequence and
  function; `migrate_agencies` runs as it (``owner_connection``) and ends with
  ``privileges_apply``.
* The APP role (DATABASE_URL; DATABASE_APP_ROLE names it for the grants) runs daphne, the
  workers and the test bodies. It may SELECT/INSERT/UPDATE/DELETE ordinary tables and use
  sequences in public and in every agency schema, but only SELECT and INSERT the append-only
  audit tables (those carrying the ``audit_refuse_change`` trigger). Not owning them, it can
  neither UPDATE/DELETE/TRUNCATE their rows nor ``ALTER TABLE … DISABLE TRIGGER``. It has no
  privilege at all on the template schema new agencies are cloned from (a row planted there
  would be copied into every new agency).
  It may not move their id sequences either (no UPDATE: ``nextval`` yes, ``setval`` no: no
  faked gap, no rewind into duplicate keys), nor create temporary objects (TEMPORARY is revoked
  on the database from PUBLIC and from it).
* Onboarding (an operator in the web UI, i.e. the app role) clones the template through
  ``public.agency_schema_clone(name)``: a SECURITY DEFINER function owned by the owner, with a
  fixed search_path, that accepts only a new ``agency_…`` schema name and applies the same grants
  and revocations to the new schema. Only the app role may EXECUTE it.

  It runs django-tenants' ``clone_schema`` (third-party PL/pgSQL) with the owner's rights, so
  whatever in the caller's reach that function reads is closed first. It sets search_path to the
  template and names catalogs unqualified: the session's temporary schema, searched first for
  relations and types, could shadow them (a temporary view ``pg_collation`` fed it a name it
  pastes into EXECUTEd DDL: SQL as the owner). Hence no TEMPORARY privilege, and the function
  refuses a session holding any temporary object. It joins ``pg_description`` on the OID alone,
  and the app role can own large objects with the OIDs it picks: the function refuses while
  any large object carries a comment. The rest of what it reads (the template, owned by the
  owner and closed to the app; catalogs the app cannot write to; from ``pg_settings`` only
  ``server_version`` (no session can set it) and the search_path (pinned here, as is
  standard_conforming_strings for the literals it builds); a target name checked against a
  strict pattern) is out of the app's reach. Cloning through an owner connection in the web process
  was rejected: it would put the owner's credentials in the process the role split protects.

* Fast numbers (core.numbering) come from sequences created on first use, one per schema, key
  and year: ``public.muamalat_number_next(schema, key, year)`` is the other SECURITY DEFINER
  function of the owner, with a fixed search_path; it accepts only a key that can name a
  sequence and the public or an agency schema (not the template), creates the sequence if
  needed and returns its next value (core/numbering/function.py). Only the app role may
  EXECUTE it; the app needs no privilege on the sequences themselves.

With one role for both (DATABASE_OWNER_URL unset, or naming DATABASE_URL's role) the functions
are still installed and used, and the grants are skipped.
"""

import logging
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction
from psycopg import sql

from core.numbering import function as numbering_function

CLONE_FUNCTION = "public.agency_schema_clone(text)"
LIBRARY_CLONE_FUNCTION = "public.clone_schema(text, text, public.cloneparms[])"
AGENCY_SCHEMA_PATTERN = "^agency_[a-z0-9_]{1,50}$"
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"
# What the owner's later sequences get before the grants are applied: no UPDATE (setval), so
# a new audit table's sequence is never movable by the app, not even until privileges_apply.
DEFAULT_SEQUENCE_PRIVILEGES = "USAGE, SELECT"
# On the append-only tables' own sequences: nextval (USAGE) yes, setval no.
AUDIT_SEQUENCE_REVOKED = "UPDATE"
# Everything but SELECT and INSERT, on the append-only tables.
AUDIT_REVOKED = "UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
_CONNECTION_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
logger = logging.getLogger("muamalat.tenants")


def owner_settings() -> dict | None:
    """The owner's connection settings when it is another role than the default connection's,
    else None (one role does both)."""
    owner = settings.DATABASE_OWNER
    if not owner:
        return None
    current = connections["default"].settings_dict
    if all(owner[key] == current[key] for key in _CONNECTION_KEYS):
        return None
    return {key: owner[key] for key in _CONNECTION_KEYS}


@contextmanager
def owner_connection():
    """Run the block with the default connection logged in as the owner role (migrations,
    grants). Outside any transaction; the connection is closed on the way in and out."""
    owner = owner_settings()
    if owner is None:
        yield
        return
    conn = connections["default"]
    if conn.in_atomic_block:
        raise RuntimeError("owner_connection() cannot start inside a transaction")
    saved = {key: conn.settings_dict[key] for key in _CONNECTION_KEYS}
    conn.close()
    conn.settings_dict.update(owner)
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.update(saved)


def app_role() -> str:
    return settings.DATABASE_APP_ROLE


def _clone_function_sql(app: str, base: str) -> sql.Composed:
    return sql.SQL(
        """
CREATE OR REPLACE FUNCTION public.agency_schema_clone(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET standard_conforming_strings = on
AS $fn$
DECLARE
    app_role CONSTANT text := {app};
    base CONSTANT text := {base};
    temp_schema CONSTANT oid := pg_catalog.pg_my_temp_schema();
    audit_table regclass;
    audit_sequence regclass;
BEGIN
    IF target IS NULL OR target !~ {pattern} OR target = base THEN
        RAISE EXCEPTION 'not a new agency schema name: %', target
            USING ERRCODE = 'invalid_schema_name';
    END IF;
    IF EXISTS (SELECT FROM pg_namespace WHERE nspname = target) THEN
        RAISE EXCEPTION 'schema % already exists', target USING ERRCODE = 'duplicate_schema';
    END IF;
    -- clone_schema runs with search_path = the template: the caller's temporary relations and
    -- types would be found before the catalogs it names unqualified.
    IF temp_schema <> 0 AND (
        EXISTS (SELECT FROM pg_class WHERE relnamespace = temp_schema)
        OR EXISTS (SELECT FROM pg_type WHERE typnamespace = temp_schema)
        OR EXISTS (SELECT FROM pg_proc WHERE pronamespace = temp_schema)
        OR EXISTS (SELECT FROM pg_operator WHERE oprnamespace = temp_schema)
        OR EXISTS (SELECT FROM pg_collation WHERE collnamespace = temp_schema)
    ) THEN
        RAISE EXCEPTION 'agency_schema_clone refuses a session holding temporary objects'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- It joins pg_description on the OID alone; large objects (which the caller may own,
    -- with the OIDs it picks) are the only commented objects the caller can own.
    IF EXISTS (SELECT FROM pg_description
               WHERE classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass) THEN
        RAISE EXCEPTION 'agency_schema_clone refuses while a large object carries a comment'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM public.clone_schema(base, target, 'DATA');
    IF app_role <> current_user THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', target, app_role);
        EXECUTE format('GRANT {tables} ON ALL TABLES IN SCHEMA %I TO %I', target, app_role);
        EXECUTE format('GRANT {sequences} ON ALL SEQUENCES IN SCHEMA %I TO %I', target, app_role);
        FOR audit_table IN
            SELECT DISTINCT t.tgrelid::regclass FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = target::regnamespace
              AND t.tgfoid = 'public.audit_refuse_change()'::regprocedure
        LOOP
            EXECUTE format('REVOKE {revoked} ON %s FROM PUBLIC, %I', audit_table, app_role);
            FOR audit_sequence IN
                SELECT d.objid::regclass FROM pg_depend d
                JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = audit_table AND d.deptype IN ('a', 'i')
            LOOP
                EXECUTE format('REVOKE {sequence_revoked} ON SEQUENCE %s FROM PUBLIC, %I',
                               audit_sequence, app_role);
            END LOOP;
        END LOOP;
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION public.agency_schema_clone(text) FROM PUBLIC;
"""
    ).format(
        app=sql.Literal(app),
        base=sql.Literal(base),
        pattern=sql.Literal(AGENCY_SCHEMA_PATTERN),
        tables=sql.SQL(TABLE_PRIVILEGES),
        sequences=sql.SQL(SEQUENCE_PRIVILEGES),
        revoked=sql.SQL(AUDIT_REVOKED),
        sequence_revoked=sql.SQL(AUDIT_SEQUENCE_REVOKED),
    )


def clone_function_install() -> None:
    """As the owner (after django-tenants' clone_schema is installed): the onboarding entry
    point, executable by the app role only."""
    app = app_role()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_clone_function_sql(app, settings.TENANT_BASE_SCHEMA))
        # django-tenants' function is for the owner only (the entry point above calls it).
        cursor.execute(f"REVOKE ALL ON FUNCTION {LIBRARY_CLONE_FUNCTION} FROM PUBLIC")
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] != app:
            app_id = sql.Identifier(app)
            cursor.execute(
                sql.SQL("REVOKE ALL ON FUNCTION {} FROM {}").format(
                    sql.SQL(LIBRARY_CLONE_FUNCTION), app_id
                )
            )
            cursor.execute(
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    sql.SQL(CLONE_FUNCTION), app_id
                )
            )


def number_function_install() -> None:
    """As the owner: the fast numbers' entry point (see the module docstring), executable by
    the app role only."""
    app = app_role()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            numbering_function.function_sql(
                base_schema=settings.TENANT_BASE_SCHEMA,
                agency_schema_pattern=AGENCY_SCHEMA_PATTERN,
            )
        )
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] != app:
            cursor.execute(
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    sql.SQL(numbering_function.FUNCTION), sql.Identifier(app)
                )
            )


def clone_function_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure(%s)", [CLONE_FUNCTION])
        return cursor.fetchone()[0] is not None


def can_create_schemas() -> bool:
    """Whether the current connection may run DDL (the owner, or a single-role setup)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_database_privilege(current_database(), 'CREATE')")
        return cursor.fetchone()[0]


def privileges_apply() -> None:
    """As the owner, after the migrations: the app role's privileges on every schema the owner
    owns (public and the agencies), none on the template, only SELECT/INSERT on the append-only
    tables; default privileges so that what the owner creates later is usable by the app.
    Idempotent; a no-op when the app role is the owner."""
    app = app_role()
    base = settings.TENANT_BASE_SCHEMA
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        if owner != app:
            _grant(cursor, owner, app, base)
    clone_function_install()
    number_function_install()


def _grant(cursor, owner: str, app: str, base: str) -> None:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app])
    row = cursor.fetchone()
    if row is None:
        raise ImproperlyConfigured(f"DATABASE_APP_ROLE {app!r}: no such database role")
    app_id = sql.Identifier(app)

    def run(statement: str, *identifiers: str) -> None:
        cursor.execute(
            sql.SQL(statement).format(*(sql.Identifier(i) for i in identifiers), app=app_id)
        )

    # Before PostgreSQL 15 every role may create objects in public (a function planted
    # there could be picked up by the owner's code); since 15 it is the default.
    cursor.execute(
        "DO $$ BEGIN REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
        "EXCEPTION WHEN insufficient_privilege THEN "
        "RAISE WARNING 'not owner of schema public: CREATE left as it is'; END $$"
    )
    cursor.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = 'public' OR "
        "(nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "AND nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema')"
    )
    schemas = sorted(name for (name,) in cursor.fetchall())
    _temporary_revoke(cursor, app)
    for schema in schemas:
        if schema == base:
            run("REVOKE ALL ON SCHEMA {} FROM {app}", schema)
            run("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {app}", schema)
            run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {app}", schema)
            continue
        run("GRANT USAGE ON SCHEMA {} TO {app}", schema)
        run(f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {{}} TO {{app}}", schema)
        run(f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {{}} TO {{app}}", schema)
    cursor.execute(
        "SELECT DISTINCT n.nspname, c.relname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE t.tgfoid = to_regprocedure('public.audit_refuse_change()')"
    )
    for schema, table in cursor.fetchall():
        cursor.execute(
            sql.SQL("REVOKE {} ON {} FROM PUBLIC, {}").format(
                sql.SQL(AUDIT_REVOKED), sql.Identifier(schema, table), app_id
            )
        )
    # Their id sequences (identity or serial, owned by the table).
    cursor.execute(
        "SELECT DISTINCT n.nspname, s.relname FROM pg_trigger t "
        "JOIN pg_depend d ON d.refobjid = t.tgrelid AND d.refclassid = 'pg_class'::regclass "
        "AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_namespace n ON n.oid = s.relnamespace "
        "WHERE t.tgfoid = to_regprocedure('public.audit_refuse_change()')"
    )
    for schema, sequence in cursor.fetchall():
        cursor.execute(
            sql.SQL("REVOKE {} ON SEQUENCE {} FROM PUBLIC, {}").format(
                sql.SQL(AUDIT_SEQUENCE_REVOKED), sql.Identifier(schema, sequence), app_id
            )
        )
    for kind, privileges in (
        ("TABLES", TABLE_PRIVILEGES),
        ("SEQUENCES", DEFAULT_SEQUENCE_PRIVILEGES),
        ("FUNCTIONS", "EXECUTE"),
        ("SCHEMAS", "USAGE"),
    ):
        run(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {{}} GRANT {privileges} ON {kind} TO {{app}}",
            owner,
        )
    # Granted by earlier versions.
    run("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE UPDATE ON SEQUENCES FROM {app}", owner)


def _temporary_revoke(cursor, app: str) -> None:
    """No temporary objects for the app role (PostgreSQL grants TEMPORARY to PUBLIC on every
    new database): they would shadow catalogs for code that runs with search_path unqualified,
    such as the SECURITY DEFINER clone. Nothing in the application uses temporary tables."""
    cursor.execute("SELECT current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    cursor.execute(
        sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(
            database, sql.Identifier(app)
        )
    )
    cursor.execute("SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')", [app])
    if cursor.fetchone()[0]:
        # Not the database's owner, or TEMPORARY granted to a role the app is a member of:
        # agency_schema_clone still refuses a session holding temporary objects.
        logger.warning(
            "DATABASE_APP_ROLE %s keeps TEMPORARY on the database: revoke it as its owner", app
        )


def database_install() -> None:
    """What a freshly migrated public schema still needs before agencies can be onboarded: the
    template schema, the clone functions and the app role's privileges (as the owner)."""
    from tenants.services import template_schema_ensure

    template_schema_ensure()
    privileges_apply()
