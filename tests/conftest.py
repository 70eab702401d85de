"""Agency schemas are created once per test session (cloned from the template) and reused;
each test runs in a transaction that is rolled back. No test may use ``transactional_db``:
its flush would empty the public tables the session's agencies live in.

Two database roles, as in production (tenants/dbroles.py): the test database is created and
migrated by the OWNER role (DATABASE_OWNER_URL), which then installs the template schema and
grants the APP role its privileges; every test body, the session's agencies, the browser tests'
server and the job workers then run as the APP role (DATABASE_URL), which owns nothing. With
one role configured (DATABASE_OWNER_URL unset) and that role a superuser, a role
``muamalat_test_app`` is created to play the app (tests/roles.py)."""

import pytest
from django.db import connection
from django.utils import translation

from tenants.models import Agency
from tests import roles


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings) -> None:
    """The test database is created (and finally dropped) by the owner role."""
    roles.use("owner")


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    """pytest-django's setup, then (as the owner) the template schema and the app role's
    privileges; then the connection switches to the app role for the whole session.

    pytest-django creates a test database only for aliases that some collected test requests
    through ``db``/``transactional_db``/``django_db``; the browser tests, the benchmarks and the
    concurrency tests request none, so running only them would otherwise use the development
    database: the default test database is then created here."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    from tenants import dbroles

    aliases, _serialized = _get_databases_for_setup(request.session.items)
    created = None
    configured_name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        if "default" not in aliases:
            created = setup_databases(
                verbosity=request.config.option.verbose, interactive=False, aliases={"default"}
            )
            assert connection.settings_dict["NAME"] != configured_name, "no test database"
        roles.app_role_ensure()
        dbroles.database_install()
        roles.use("app")
    yield
    with django_db_blocker.unblock():
        roles.use("owner")
        if created is not None:
            connection.close()
            teardown_databases(created, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def agencies(django_db_setup, django_db_blocker) -> dict[str, Agency]:
    from tenants.services import agency_onboard

    with django_db_blocker.unblock():
        result = {}
        for slug, ar, en, code in [
            ("alpha", "جهة ألفا", "Alpha Agency", "ALP"),
            ("beta", "جهة بيتا", "Beta Agency", "BET"),
        ]:
            agency = Agency.objects.filter(slug=slug).first()
            result[slug] = agency or agency_onboard(
                slug=slug, name_ar=ar, name_en=en, code=code, admin_email=f"admin@{slug}.example"
            )
        from tests.jobs import run_pending_jobs

        run_pending_jobs()  # the admins' invitations: leave no committed job for tests to find
        connection.set_schema_to_public()
        return result


@pytest.fixture
def agency_a(agencies, db) -> Agency:
    # The session's object, reloaded: a test may change it in memory (e.g. deactivate it) and
    # only its database change is rolled back.
    agencies["alpha"].refresh_from_db()
    return agencies["alpha"]


@pytest.fixture
def agency_b(agencies, db) -> Agency:
    agencies["beta"].refresh_from_db()
    return agencies["beta"]


@pytest.fixture(autouse=True)
def _fast_hashing_and_public_schema(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Presence writes are throttled per minute, which would make query counts depend on the
    # order of visits; tests/insights turn them on where they are the subject.
    settings.PRESENCE_TRACKING = False
    # Every test starts in the portal's default language: a request made by the test client
    # activates its language in this thread, and it would otherwise leak into the next test.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _jobs_baseline(request):
    """Jobs a test runs with tests.jobs.run_pending_jobs are the ones it deferred itself."""
    from tests import jobs

    if "db" not in request.fixturenames or "transactional_db" in request.fixturenames:
        yield
        return
    definitions = request._fixturemanager.getfixturedefs("db", request.node) or ()
    if not definitions or definitions[-1].func.__module__ != "pytest_django.fixtures":
        yield  # a module with its own "db" (e.g. the real-worker tests) manages its data
        return
    request.getfixturevalue("db")
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
        jobs.BASELINE = cursor.fetchone()[0]
    yield
    jobs.BASELINE = None
