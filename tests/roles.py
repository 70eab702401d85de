"""The test session's two database roles (see tests/conftest.py and tenants/dbroles.py).

``use("owner")`` / ``use("app")`` log the default connection in as one or the other; the test
database is created, migrated and dropped as the owner, the tests run as the app role."""

import contextlib
import hashlib

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

from tenants import dbroles

KEYS = ("USER", "PASSWORD", "HOST", "PORT")
TEST_APP_ROLE = "muamalat_test_app"
_ROLES: dict[str, dict] = {}


def _init() -> None:
    if _ROLES:
        return
    configured = {key: connection.settings_dict[key] for key in KEYS}
    _ROLES["app"] = configured
    _ROLES["owner"] = dbroles.owner_settings() or dict(configured)


def credentials(role: str) -> dict:
    _init()
    return dict(_ROLES[role])


def use(role: str) -> None:
    _init()
    wanted = _ROLES[role]
    if all(connection.settings_dict[key] == wanted[key] for key in KEYS):
        return
    connection.close()
    connection.settings_dict.update(wanted)


def two_roles() -> bool:
    _init()
    return _ROLES["app"]["USER"] != _ROLES["owner"]["USER"]


def app_role_ensure() -> None:
    """As the owner, with one role configured for both: when that role is a superuser (a
    laptop's `postgres`), create a role without privileges to play the app, so that the suite
    exercises the app role's limits wherever it runs."""
    _init()
    if two_roles():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return
        password = hashlib.sha256(
            f"{TEST_APP_ROLE}:{_ROLES['owner']['PASSWORD']}".encode()
        ).hexdigest()
        cursor.execute(
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "PASSWORD {}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; "
                "END $$"
            ).format(sql.Identifier(TEST_APP_ROLE), sql.Literal(password))
        )
    _ROLES["app"] = dict(_ROLES["owner"], USER=TEST_APP_ROLE, PASSWORD=password)
    settings.DATABASE_APP_ROLE = TEST_APP_ROLE
    settings.DATABASE_OWNER = dict(_ROLES["owner"])


@contextlib.contextmanager
def owner_cursor():
    """A cursor of a separate connection to the test database as the owner role, in a
    transaction rolled back at the end (it sees only committed rows)."""
    owner = credentials("owner")
    params = {
        "dbname": connection.settings_dict["NAME"],
        "user": owner["USER"] or None,
        "password": owner["PASSWORD"] or None,
        "host": owner["HOST"] or None,
        "port": owner["PORT"] or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}) as conn:
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.rollback()
