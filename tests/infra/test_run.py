"""`make run`'s environment (infra/run.py serve_env): the links in emails follow HOST and PORT,
an explicit SITE_URL wins, and Django's settings take what the runner computed."""

import os
import subprocess
import sys

import pytest

from infra import run


def test_site_url_follows_port():
    env = {"PORT": "8123"}
    assert run.serve_env(env) == ("127.0.0.1", "8123")
    assert env["SITE_URL"] == "http://127.0.0.1:8123"
    assert env["DEBUG"] == "1"
    assert env["ALLOWED_HOSTS"] == "127.0.0.1,localhost"


def test_site_url_follows_host_and_allows_it():
    env = {"HOST": "dev.example.test", "PORT": "9000"}
    run.serve_env(env)
    assert env["SITE_URL"] == "http://dev.example.test:9000"
    assert env["ALLOWED_HOSTS"].split(",") == ["127.0.0.1", "localhost", "dev.example.test"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000"),  # listening everywhere: link to this machine
        ("::", "http://[::1]:8000"),
        ("::1", "http://[::1]:8000"),
        ("", "http://127.0.0.1:8000"),
    ],
)
def test_site_url_of_wildcard_and_ipv6_hosts(host, expected):
    env = {"HOST": host}
    run.serve_env(env)
    assert env["SITE_URL"] == expected


def test_explicit_site_url_and_allowed_hosts_win():
    env = {
        "PORT": "8123",
        "SITE_URL": "https://portal.example",
        "ALLOWED_HOSTS": "portal.example",
        "DEBUG": "0",
    }
    run.serve_env(env)
    assert env["SITE_URL"] == "https://portal.example"
    assert env["ALLOWED_HOSTS"] == "portal.example"
    assert env["DEBUG"] == "0"


def test_empty_site_url_counts_as_unset():
    env = {"PORT": "8123", "SITE_URL": ""}
    run.serve_env(env)
    assert env["SITE_URL"] == "http://127.0.0.1:8123"


def test_django_settings_take_the_computed_site_url():
    """What the server and the worker load: SITE_URL (email links, invitation links) and the
    CSP's websocket origin on the port served."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SITE_URL", "ALLOWED_HOSTS", "HOST", "PORT", "DEBUG"}
    }
    env.update(PORT="8123", DJANGO_SETTINGS_MODULE="portal.settings")
    run.serve_env(env)
    script = (
        "import django; django.setup(); from django.conf import settings;"
        "print(settings.SITE_URL);"
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src'][1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=run.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["http://127.0.0.1:8123", "ws://127.0.0.1:8123"]


@pytest.fixture
def local(tmp_path, monkeypatch):
    """A var/ of its own with a `make run` cluster's directory and attachments; stopping the
    cluster is recorded instead of done (it is not running)."""
    var = tmp_path / "var"
    cluster = run.devdb.Cluster(
        var / "pgdata", var / "pgsock", var / "pgport", var / "postgres.log", durable=True
    )
    (var / "pgdata" / "base").mkdir(parents=True)
    (var / "pgdata" / "PG_VERSION").write_text("15\n")
    (var / "private" / "agency_moh").mkdir(parents=True)
    (var / "private" / "agency_moh" / "scan.pdf").write_bytes(b"%PDF")
    (var / "pgtest").mkdir()
    (var / "pgport").write_text("54321")
    stopped = []
    monkeypatch.setattr(run.devdb, "VAR", var)
    monkeypatch.setattr(run.devdb, "stop", lambda which=None: stopped.append(which))
    return var, cluster, stopped


def test_reset_deletes_the_run_database_and_attachments_after_yes(local):
    var, cluster, stopped = local
    assert run.reset(env={}, ask=lambda prompt: "yes", cluster=cluster) == 0
    assert stopped == [cluster]  # stopped before its files go
    assert not (var / "pgdata").exists() and not (var / "private").exists()
    assert not (var / "pgport").exists()
    assert (var / "pgtest").exists()  # the test cluster is not make run's


@pytest.mark.parametrize("answer", ["", "no", "y"])
def test_reset_without_yes_deletes_nothing(local, answer):
    var, cluster, stopped = local
    assert run.reset(env={}, ask=lambda prompt: answer, cluster=cluster) == 1
    assert stopped == []
    assert (var / "pgdata" / "PG_VERSION").exists()
    assert (var / "private" / "agency_moh" / "scan.pdf").exists()


def test_reset_yes_flag_does_not_ask(local):
    var, cluster, stopped = local

    def ask(prompt):
        raise AssertionError("asked")

    assert run.reset(yes=True, env={}, ask=ask, cluster=cluster) == 0
    assert not (var / "pgdata").exists()


def test_reset_leaves_a_configured_database_and_outside_media_alone(local, tmp_path):
    var, cluster, stopped = local
    assert run.reset(yes=True, env={"DATABASE_URL": "postgresql://x@h/db"}, cluster=cluster) == 1
    assert (var / "pgdata").exists() and stopped == []
    outside = tmp_path / "media"
    outside.mkdir()
    assert run.reset(yes=True, env={"PRIVATE_MEDIA_ROOT": str(outside)}, cluster=cluster) == 0
    assert outside.exists() and not (var / "pgdata").exists()
    assert (var / "private").exists()  # not the attachments folder configured
