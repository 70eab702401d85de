"""Issue 10, points 3 and 11: the Content-Security-Policy header on every page; HSTS settable."""

import os
import subprocess
import sys
from pathlib import Path

from portal.keys import generate_keys

EXPECTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "media-src": "'self' blob:",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy_of(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip()
    )


def test_every_kind_of_page_carries_the_policy(client, db):
    for url, status in [("/", 200), ("/accounts/login/", 200), ("/nowhere/", 404)]:
        response = client.get(url)
        assert response.status_code == status
        policy = policy_of(response)
        for directive, value in EXPECTED.items():
            assert policy.get(directive) == value, (url, directive, policy)
        assert policy["connect-src"].startswith("'self' ws")
    # even the early refusal of a NUL byte
    assert "script-src 'self'" in client.get("/?q=%00").headers["Content-Security-Policy"]


def test_hsts_is_configurable():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(
        generate_keys(),
        DEBUG="0",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    code = (
        "import portal.settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["31536000", "True", "True"], result.stderr


def test_deploy_check_is_clean_with_production_settings():
    """What `make deploy-check` (CI) runs: check --deploy --fail-level WARNING."""
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(
        generate_keys(),
        DEBUG="0",
        SECURE_COOKIES="1",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        ALLOWED_HOSTS="portal.example",
        SITE_URL="https://portal.example",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        SMS_BACKEND="notifications.backends.sms.TwilioSmsBackend",
    )
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # and a development key is flagged (DEBUG=1: settings start, the deploy check complains)
    env.update(DEBUG="1", SECRET_KEY="dev-only-insecure-key-change-me-in-production-0123456789")
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "muamalat.W001" in result.stderr + result.stdout
