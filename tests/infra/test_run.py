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
