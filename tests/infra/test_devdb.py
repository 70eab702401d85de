"""The private clusters of infra/devdb.py: `make run`'s is durable, `make test`'s is fast, both
have the owner and app roles, and a cluster of an earlier version (superuser-owned database) is
upgraded in place. Each test starts a throwaway cluster in a temporary directory and stops it."""

import shutil
import tempfile
from pathlib import Path

import pytest

from infra import devdb

pytestmark = pytest.mark.skipif(
    shutil.which("pg_ctl") is None and not list(devdb.Path("/usr/lib/postgresql").glob("*/bin")),
    reason="no PostgreSQL binaries on this machine",
)


def _cluster(tmp_path, durable: bool) -> devdb.Cluster:
    return devdb.Cluster(
        tmp_path / "pgdata",
        tmp_path / "pgsock",
        tmp_path / "pgport",
        tmp_path / "postgres.log",
        durable=durable,
        shared_buffers="16MB",
    )


@pytest.fixture
def cluster_dir():
    """A directory under the project's var/ rather than pytest's tmp_path: pytest takes the
    group and other bits off /tmp/pytest-of-<user> whenever a pytest session starts, which would
    cut the `postgres` server user off from a cluster under it in the middle of its run."""
    var = devdb.VAR
    var.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="devdb-test-", dir=var))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def started(cluster_dir):
    tmp_path = cluster_dir
    clusters = []

    def start(durable: bool):
        cluster = _cluster(tmp_path, durable)
        clusters.append(cluster)
        urls, _started = devdb.start(cluster)
        return cluster, int(cluster.port_file.read_text()), urls

    yield start
    for cluster in clusters:
        devdb.stop(cluster)


def test_the_run_cluster_keeps_postgresql_durable_defaults(started):
    _cluster, port, _urls = started(durable=True)
    for setting in ("fsync", "synchronous_commit", "full_page_writes"):
        assert devdb.psql(port, f"SHOW {setting}") == "on", setting


def test_run_serves_from_the_durable_cluster_and_tests_from_the_fast_one():
    assert devdb.RUN.durable and devdb.RUN.data.name == "pgdata"
    assert not devdb.TEST.durable and devdb.TEST.data != devdb.RUN.data
    assert "fsync=off" in devdb.TEST.options(5999)
    assert "fsync" not in devdb.RUN.options(5999)


def test_the_cluster_has_an_owner_and_an_app_role_neither_superuser(started):
    _cluster, port, urls = started(durable=False)
    assert devdb.psql(port, "SHOW fsync") == "off"
    assert urls["DATABASE_URL"].startswith(f"postgresql://{devdb.APP_ROLE}@127.0.0.1:{port}/")
    assert urls["DATABASE_OWNER_URL"].startswith(f"postgresql://{devdb.OWNER_ROLE}@")
    roles = devdb.psql(
        port,
        "SELECT string_agg(rolname || ':' || rolsuper || ':' || rolcreatedb, ',' ORDER BY "
        f"rolname) FROM pg_roles WHERE rolname IN ('{devdb.OWNER_ROLE}', '{devdb.APP_ROLE}')",
    )
    assert roles == f"{devdb.APP_ROLE}:false:false,{devdb.OWNER_ROLE}:false:true"
    owner = devdb.psql(
        port, f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{devdb.DB_NAME}'"
    )
    assert owner == devdb.OWNER_ROLE
    # No temporary objects for the app role (they could shadow catalogs in the owner's
    # SECURITY DEFINER clone function); the owner keeps them.
    temporary = devdb.psql(
        port,
        f"SELECT has_database_privilege('{devdb.APP_ROLE}', '{devdb.DB_NAME}', 'TEMPORARY'), "
        f"has_database_privilege('{devdb.OWNER_ROLE}', '{devdb.DB_NAME}', 'TEMPORARY')",
    )
    assert temporary == "f|t"


def test_a_cluster_of_an_earlier_version_is_upgraded_in_place(started, cluster_dir):
    """Earlier versions: one superuser `muamalat` owning the database and everything in it."""
    tmp_path = cluster_dir
    cluster = _cluster(tmp_path, durable=False)
    bin_, owner = devdb.bindir(), devdb._owner()
    devdb._directories_prepare(cluster, owner)
    devdb._initdb(bin_, owner, cluster)
    port = devdb._free_port()
    cluster.port_file.write_text(str(port))
    devdb._pg_ctl(bin_, owner, cluster, "start", port)
    try:
        devdb._wait_ready(port)
        devdb.psql(port, f"CREATE DATABASE {devdb.DB_NAME}")
        devdb.psql(
            port,
            "CREATE SCHEMA agency_x; CREATE TABLE agency_x.entered (id serial PRIMARY KEY, "
            "what text); INSERT INTO agency_x.entered (what) VALUES ('kept');"
            "CREATE TABLE public.other (id int)",
            dbname=devdb.DB_NAME,
        )
    finally:
        devdb.stop(cluster)

    upgraded, port, _urls = started(durable=False)  # same directory: upgraded

    def owners(sql: str) -> set[str]:
        return set(devdb.psql(port, sql, dbname=devdb.DB_NAME).split())

    assert (
        devdb.psql(
            port, "SELECT what FROM agency_x.entered", user=devdb.OWNER_ROLE, dbname=devdb.DB_NAME
        )
        == "kept"
    )
    assert owners(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE nspname IN ('public', 'agency_x')"
    ) == {devdb.OWNER_ROLE}
    assert owners(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'agency_x'"
    ) == {devdb.OWNER_ROLE}
    assert devdb.BACKUP_NAME in devdb.psql(port, "SELECT string_agg(datname, ' ') FROM pg_database")
    # A second start changes nothing; the app role gets its privileges from migrate_agencies.
    devdb.start(upgraded)
    assert devdb.psql(port, "SELECT what FROM agency_x.entered", dbname=devdb.DB_NAME) == "kept"
    assert (
        devdb.psql(
            port,
            f"SELECT has_schema_privilege('{devdb.APP_ROLE}', 'agency_x', 'USAGE')",
            dbname=devdb.DB_NAME,
        )
        == "f"
    )
