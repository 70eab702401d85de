"""Benchmark fixtures: committed data in a test database of their own.

The benchmarks commit what they create (the multiprocessing migration executor forks workers
that open their own connections and only see committed rows), so they never run inside the
per-test transaction of pytest-django's ``db`` fixture. Two consequences handled here:

* pytest-django creates the test database only for aliases that some collected test asks for
  through ``db``/``django_db``; benchmarks ask for none, so tests/conftest.py's
  ``django_db_setup`` creates (and finally drops) the default test database. Without this, the
  benchmarks would write into the development database.
* unless TEST_DATABASE_NAME names one (``infra/run.py bench`` does, per run), the test database
  gets a ``_bench`` suffix, so a benchmark run and a test run on the same PostgreSQL cluster
  never share (or drop) each other's database.
"""

import logging

import pytest
from django.db import connection


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings) -> None:
    from django.conf import settings
    from pytest_django.fixtures import _set_suffix_to_test_databases

    if not settings.DATABASES["default"].get("TEST", {}).get("NAME"):
        _set_suffix_to_test_databases(suffix="bench")


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access outside any test transaction: everything written is committed.

    INFO logs (one "onboarded ... in ...s" line per agency, job deferrals) are muted so the
    figures stay readable; the root level is restored afterwards."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            yield
            connection.set_schema_to_public()
    finally:
        root.setLevel(level)
