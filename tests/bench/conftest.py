"""Benchmark fixtures: committed data in a test database of their own.

The benchmarks commit what they create (the multiprocessing migration executor forks workers
that open their own connections and only see committed rows), so they never run inside the
per-test transaction of pytest-django's ``db`` fixture. Two consequences handled here:

* pytest-django creates the test database only for aliases that some collected test asks for
  through ``db``/``django_db``; benchmarks ask for none, so ``django_db_setup`` is overridden to
  always create (and finally drop) the default test database. Without this, the benchmarks
  would write into the development database.
* unless TEST_DATABASE_NAME names one (``infra/run.py bench`` does, per run), the test database
  gets a ``_bench`` suffix, so a benchmark run and a test run on the same PostgreSQL cluster
  never share (or drop) each other's database.
"""

import logging

import pytest
from django.db import connection


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    from django.conf import settings
    from pytest_django.fixtures import _set_suffix_to_test_databases

    if not settings.DATABASES["default"].get("TEST", {}).get("NAME"):
        _set_suffix_to_test_databases(suffix="bench")


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
):
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    configured_name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"})
    # Never benchmark (commit 100 agencies) in the configured, non-test database.
    assert connection.settings_dict["NAME"] != configured_name, "no test database was set up"
    yield
    with django_db_blocker.unblock():
        connection.close()
        teardown_databases(db_cfg, verbosity=verbosity)


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
