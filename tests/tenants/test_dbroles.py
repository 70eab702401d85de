"""The application's database role cannot tamper with the audit trail (issue 10, point 4).

The suite runs every test body as the app role (tests/conftest.py); the owner role created and
migrated the test database. Each refusal must come from the privilege system (the role does not
own the table, or lacks the privilege), not from the append-only trigger the app could otherwise
disable."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context
from psycopg import errors, sql

from core import audit
from tenants.services import agency_onboard
from tests import roles

pytestmark = pytest.mark.usefixtures("_two_roles")


@pytest.fixture
def _two_roles(db):
    if not roles.two_roles():
        pytest.skip(
            "one database role for owner and app, and not a superuser that could create a test "
            "app role: set DATABASE_OWNER_URL (make test's private cluster does)"
        )


def _sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _refused(statement: str, params=None) -> None:
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        _sql(statement, params)
    cause = info.value.__cause__
    assert isinstance(cause, errors.InsufficientPrivilege), repr(cause)
    # The privilege system refused it, not the append-only trigger.
    assert "append-only" not in str(cause), str(cause)


TAMPERING = [
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
    "ALTER TABLE {table} DISABLE TRIGGER {name}_no_update",
    "UPDATE {table} SET action = 'forged'",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "DROP TABLE {table}",
    "ALTER TABLE {table} OWNER TO CURRENT_USER",
    "CREATE TRIGGER forged BEFORE INSERT ON {table} FOR EACH ROW "
    "EXECUTE FUNCTION public.audit_refuse_change()",
]


def _audit_cannot_be_tampered_with(table: str, name: str) -> None:
    # INSERT and SELECT work (the application writes and reads its trail) ...
    _sql(
        f"INSERT INTO {table} (created_at, actor_display, action, object_type, object_id, "
        "object_repr) VALUES (now(), '', 'test.roles', '', '', '')"
    )
    assert _sql(f"SELECT count(*) FROM {table} WHERE action = 'test.roles'")[0][0] >= 1
    # ... nothing else.
    for statement in TAMPERING:
        _refused(statement.format(table=table, name=name))
    assert _sql(f"SELECT count(*) FROM {table} WHERE action = 'forged'")[0][0] == 0


def test_the_app_role_is_no_superuser_and_owns_nothing(db):
    user, superuser, createrole, createdb = _sql(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = current_user"
    )[0]
    assert user == settings.DATABASE_APP_ROLE
    assert user == connection.settings_dict["USER"]
    assert not (superuser or createrole or createdb)
    owned = _sql(
        "SELECT count(*) FROM pg_class WHERE relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
    )[0][0]
    schemas = _sql(
        "SELECT count(*) FROM pg_namespace WHERE nspowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
    )[0][0]
    assert (owned, schemas) == (0, 0)
    assert not _sql("SELECT has_database_privilege(current_database(), 'CREATE')")[0][0]
    _refused("CREATE SCHEMA forged")
    _refused("CREATE TABLE public.forged (id int)")


def test_platform_audit_table_refuses_the_app_role(db):
    audit.platform_record(action="test.platform")
    _audit_cannot_be_tampered_with("public.platform_audit_event", "platform_audit_event")


def test_session_agency_audit_table_refuses_the_app_role(agency_a):
    with schema_context(agency_a.schema_name):
        audit.agency_record(action="test.agency")
    _audit_cannot_be_tampered_with(
        f"{agency_a.schema_name}.agency_audit_event", "agency_audit_event"
    )


def test_agency_onboarded_at_runtime_by_the_app_role_gets_the_same_grants(db, agencies):
    agency = agency_onboard(
        slug="roles-new", name_ar="جهة", name_en="Roles", admin_email="admin@roles-new.example"
    )
    schema = agency.schema_name
    # Its ordinary tables are usable (the first admin's invitation and the audit event of the
    # onboarding were written by the app role) ...
    assert _sql(f"SELECT count(*) FROM {schema}.staff_invitation")[0][0] == 1
    assert _sql(f"SELECT count(*) FROM {schema}.staff_membership")[0][0] == 0
    _sql(f"UPDATE {schema}.staff_role SET name_en = name_en")
    assert _sql(f"SELECT count(*) FROM {schema}.agency_audit_event")[0][0] >= 1
    # ... and it belongs to the owner, not to the app role.
    owner = _sql("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", [schema])
    assert owner[0][0] != connection.settings_dict["USER"]
    _audit_cannot_be_tampered_with(f"{schema}.agency_audit_event", "agency_audit_event")


def test_the_clone_function_accepts_only_a_new_agency_schema(db, agencies):
    for name in ("public", settings.TENANT_BASE_SCHEMA, 'agency_x"; DROP SCHEMA public; --', ""):
        with pytest.raises(DatabaseError) as info, transaction.atomic():
            _sql("SELECT public.agency_schema_clone(%s)", [name])
        assert isinstance(info.value.__cause__, errors.InvalidSchemaName), name
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        _sql("SELECT public.agency_schema_clone(%s)", [agencies["alpha"].schema_name])
    assert isinstance(info.value.__cause__, errors.DuplicateSchema)
    # django-tenants' clone_schema itself runs with the caller's rights: none to create.
    _refused(
        "SELECT public.clone_schema(%s, 'agency_forged', 'DATA')", [settings.TENANT_BASE_SCHEMA]
    )


def test_the_app_role_cannot_touch_the_template_schema(db):
    # A row planted in the template would be copied into every agency onboarded later.
    base = settings.TENANT_BASE_SCHEMA
    _refused(f"SELECT count(*) FROM {base}.django_migrations")
    _refused(f"INSERT INTO {base}.staff_role (codename) VALUES ('forged')")


def test_the_owner_is_still_stopped_by_the_append_only_trigger(agencies, db):
    """Defence in depth: even the owner (migrations) cannot change a row without first
    disabling the trigger, which only the owner may do."""
    schema = agencies["alpha"].schema_name
    with roles.owner_cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != connection.settings_dict["USER"]
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            cursor.execute(f"UPDATE {schema}.agency_audit_event SET action = 'forged'")


# The app role must not reach the owner's rights through the SECURITY DEFINER clone function.
# django-tenants' clone_schema (which it calls) sets search_path to the template schema and names
# the catalogs unqualified; a session's temporary schema is then searched first for relations and
# types, so a temporary view named pg_collation fed it a collation name that it pasted into DDL
# and EXECUTEd as the owner (independent review of issue 10).
_FORGED_COLLATION_TAIL = (
    "ALTER TABLE public.platform_audit_event DISABLE TRIGGER USER; "
    "UPDATE public.platform_audit_event SET action = 'forged-by-app'; "
    "ALTER TABLE public.platform_audit_event ENABLE TRIGGER USER; "
    "GRANT UPDATE, DELETE, TRUNCATE, TRIGGER ON public.platform_audit_event TO CURRENT_USER"
)


@pytest.fixture
def _app_may_create_temporary_objects(db):
    """What a database left with PostgreSQL's default (TEMPORARY for PUBLIC) would allow: the
    clone function's own refusal is then the only guard."""
    app = sql.Identifier(connection.settings_dict["USER"])
    with roles.owner_cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), app
            )
        )
        cursor.connection.commit()
    try:
        yield
    finally:
        with roles.owner_cursor() as cursor:
            cursor.execute(
                sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(
                    sql.Identifier(connection.settings_dict["NAME"]), app
                )
            )
            cursor.connection.commit()


def _platform_audit_rows():
    return _sql("SELECT id, action FROM public.platform_audit_event ORDER BY id")


def test_the_app_role_cannot_create_temporary_objects(db):
    assert not _sql("SELECT has_database_privilege(current_database(), 'TEMPORARY')")[0][0]
    _refused("CREATE TEMP TABLE forged (id int)")
    _refused("CREATE TEMP VIEW pg_collation AS SELECT * FROM pg_catalog.pg_collation")


def test_a_temporary_view_cannot_hijack_the_clone_function(
    agencies, _app_may_create_temporary_objects
):
    audit.platform_record(action="test.before-hijack")
    before = _platform_audit_rows()
    collname = (
        f"a\" (provider = libc, locale = 'C'); {_FORGED_COLLATION_TAIL}; "
        'CREATE COLLATION agency_hijack."b'
    )
    _sql(
        "CREATE TEMP VIEW pg_collation AS "
        "SELECT oid, collname::text AS collname, collnamespace, collowner, collprovider, "
        "collcollate, colliculocale FROM pg_catalog.pg_collation UNION ALL "
        "SELECT 0::oid, %s::text, (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %s), "
        "10::oid, 'c'::\"char\", 'C'::text, 'C'::text",
        [collname, settings.TENANT_BASE_SCHEMA],
    )
    _sql("GRANT SELECT ON pg_temp.pg_collation TO PUBLIC")  # readable by the owner
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        _sql("SELECT public.agency_schema_clone('agency_hijack')")
    assert isinstance(info.value.__cause__, errors.InsufficientPrivilege), repr(info.value)
    assert "temporary" in str(info.value.__cause__)
    assert _platform_audit_rows() == before
    assert not _sql("SELECT has_table_privilege('public.platform_audit_event', 'UPDATE')")[0][0]
    assert not _sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'agency_hijack'")[0][0]


def test_a_temporary_table_also_stops_the_clone_function(
    agencies, _app_may_create_temporary_objects
):
    _sql("CREATE TEMP TABLE scratch (id int)")
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        _sql("SELECT public.agency_schema_clone('agency_hijack')")
    assert isinstance(info.value.__cause__, errors.InsufficientPrivilege), repr(info.value)


def test_a_large_object_comment_stops_the_clone_function(agencies, db):
    """The app role can own large objects and pick their OIDs; the library joins
    pg_description on the OID alone, so a comment on a large object numbered like a template
    table would be copied onto the new agency's table."""
    table = _sql(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = 'staff_role'",
        [settings.TENANT_BASE_SCHEMA],
    )[0][0]
    _sql("SELECT lo_create(%s)", [table])
    _sql(f"COMMENT ON LARGE OBJECT {int(table)} IS 'planted by the app role'")
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        _sql("SELECT public.agency_schema_clone('agency_planted')")
    assert isinstance(info.value.__cause__, errors.InsufficientPrivilege), repr(info.value)
    assert not _sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'agency_planted'")[0][0]


def _audit_sequence(table: str) -> str:
    return _sql("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]


def _sequence_cannot_be_moved(table: str) -> None:
    sequence = _audit_sequence(table)
    assert sequence
    # nextval works (the application inserts rows) ...
    _sql("SELECT nextval(%s)", [sequence])
    # ... but the app can neither fake a gap nor rewind it into duplicate keys.
    _refused("SELECT setval(%s, 1000000)", [sequence])
    _refused("SELECT setval(%s, 1, false)", [sequence])
    _refused(f"ALTER SEQUENCE {sequence} RESTART")


def test_the_app_role_cannot_move_the_audit_sequences(agencies, db):
    _sequence_cannot_be_moved("public.platform_audit_event")
    _sequence_cannot_be_moved(f"{agencies['alpha'].schema_name}.agency_audit_event")
    # Ordinary sequences keep their privileges.
    ordinary = _sql("SELECT pg_get_serial_sequence('public.tenants_agency', 'id')")[0][0]
    assert _sql("SELECT has_sequence_privilege(%s, 'UPDATE')", [ordinary])[0][0]


def test_default_privileges_do_not_let_the_app_move_new_sequences(db):
    """Objects the owner creates later (a migration, a clone) get the default privileges until
    the grants are applied: sequences without UPDATE (no setval), so a new audit table's
    sequence is never movable by the app, not even for a moment."""
    rows = _sql("SELECT defaclacl::text FROM pg_default_acl WHERE defaclobjtype = 'S'")
    app = connection.settings_dict["USER"]
    grants = [item for (acl,) in rows for item in acl.strip("{}").split(",")]
    mine = [item for item in grants if item.startswith(f"{app}=")]
    assert mine, grants
    assert all("w" not in item.split("=")[1].split("/")[0] for item in mine), mine
