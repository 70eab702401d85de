"""Agency schemas are created once per test session (cloned from the template) and reused;
each test runs in a transaction that is rolled back. No test may use ``transactional_db``:
its flush would empty the public tables the session's agencies live in."""

import pytest
from django.db import connection

from tenants.models import Agency


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
    return agencies["alpha"]


@pytest.fixture
def agency_b(agencies, db) -> Agency:
    return agencies["beta"]


@pytest.fixture(autouse=True)
def _fast_hashing_and_public_schema(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    yield
    connection.set_schema_to_public()
