"""Issue 10, point 3: production fails closed on keys; key rotation.

Settings are imported in a subprocess with a controlled environment, as a server would start.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts import identity
from accounts.backends import user_find_by_identifier
from accounts.models import User
from portal.keys import DEV_SECRET_KEY, derived_development_values, generate_keys
from tests.factories import make_beneficiary, national_id

ROOT = Path(__file__).resolve().parents[2]
KEY_NAMES = ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "IDENTITY_HASH_KEY")


def import_settings(**env: str) -> subprocess.CompletedProcess:
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in KEY_NAMES + ("DEBUG", "IDENTITY_HASH_KEY_PREVIOUS")
    }
    base.setdefault("ALLOW_CONSOLE_DELIVERY", "1")
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print('started', s.DEBUG)"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(result: subprocess.CompletedProcess, *names: str) -> bool:
    return (
        result.returncode != 0
        and "ImproperlyConfigured" in result.stderr
        and all(name in result.stderr for name in names)
        and "started" not in result.stdout
    )


DEV_FIELD, DEV_HASH = derived_development_values(DEV_SECRET_KEY)


def test_production_refuses_to_start_without_keys():
    result = import_settings(DEBUG="0")
    assert refused(result, "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "IDENTITY_HASH_KEY")
    # DEBUG unset means production too
    assert refused(import_settings(), "SECRET_KEY")
    for missing in KEY_NAMES:
        keys = generate_keys()
        del keys[missing]
        assert refused(import_settings(DEBUG="0", **keys), missing), missing


@pytest.mark.parametrize(
    "name,value",
    [
        pytest.param("SECRET_KEY", DEV_SECRET_KEY, id="dev-secret-key"),
        pytest.param("FIELD_ENCRYPTION_KEY", DEV_FIELD, id="dev-field-key"),
        pytest.param(
            "FIELD_ENCRYPTION_KEY",
            f"{Fernet.generate_key().decode()},{DEV_FIELD}",
            id="dev-field-key-among-others",
        ),
        pytest.param("IDENTITY_HASH_KEY", DEV_HASH.hex(), id="dev-hash-key"),
        pytest.param("FIELD_ENCRYPTION_KEY", "not-a-fernet-key", id="malformed-field-key"),
        pytest.param("IDENTITY_HASH_KEY", "short", id="short-hash-key"),
        pytest.param("SECRET_KEY", "short", id="short-secret-key"),
    ],
)
def test_production_refuses_development_or_weak_keys(name, value):
    keys = generate_keys()
    keys[name] = value
    assert refused(import_settings(DEBUG="0", **keys), name)


def test_production_refuses_keys_derived_from_its_secret():
    keys = generate_keys()
    keys["FIELD_ENCRYPTION_KEY"] = derived_development_values(keys["SECRET_KEY"])[0]
    assert refused(import_settings(DEBUG="0", **keys), "FIELD_ENCRYPTION_KEY")


def test_production_starts_with_real_keys_and_debug_keeps_dev_defaults():
    result = import_settings(DEBUG="0", **generate_keys())
    assert result.returncode == 0 and "started False" in result.stdout, result.stderr
    keys = generate_keys()
    keys["FIELD_ENCRYPTION_KEY"] += "," + Fernet.generate_key().decode()  # rotation: two keys
    assert import_settings(DEBUG="0", **keys).returncode == 0
    result = import_settings(DEBUG="1")  # make run
    assert result.returncode == 0 and "started True" in result.stdout, result.stderr


def test_deploy_check_flags_development_keys(settings, monkeypatch):
    from portal.checks import keys_are_not_development_ones

    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings.SECRET_KEY = DEV_SECRET_KEY
    settings.FIELD_ENCRYPTION_KEY, settings.IDENTITY_HASH_KEY = DEV_FIELD, DEV_HASH
    messages = [str(m) for m in keys_are_not_development_ones(None)]
    assert any("SECRET_KEY is the development key" in m for m in messages)
    assert any("FIELD_ENCRYPTION_KEY, IDENTITY_HASH_KEY" in m for m in messages)
    fresh = generate_keys()
    for name, value in fresh.items():
        monkeypatch.setenv(name, value)
    settings.SECRET_KEY = fresh["SECRET_KEY"]
    settings.FIELD_ENCRYPTION_KEY = fresh["FIELD_ENCRYPTION_KEY"]
    settings.IDENTITY_HASH_KEY = fresh["IDENTITY_HASH_KEY"].encode()
    assert keys_are_not_development_ones(None) == []


def test_the_suite_runs_with_real_keys(settings):
    """infra/run.py exports random keys for the tests (and the servers they start)."""
    assert settings.SECRET_KEY != DEV_SECRET_KEY
    assert settings.FIELD_ENCRYPTION_KEY != DEV_FIELD
    assert settings.IDENTITY_HASH_KEY != derived_development_values(settings.SECRET_KEY)[1]


def test_rotation_re_encrypts_and_rehashes(settings, db):
    session_field = settings.FIELD_ENCRYPTION_KEY  # rows of other tests in the database
    old_field, new_field = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_hash, new_hash = b"o" * 40, b"n" * 40
    settings.FIELD_ENCRYPTION_KEY, settings.IDENTITY_HASH_KEY = old_field, old_hash
    numbers = [national_id(7_100_000 + n) for n in range(3)]
    users = []
    for number in numbers:
        user = make_beneficiary()
        user.set_identity(identity.NATIONAL_ID, number)
        user.save()
        users.append(user)
    before = {u.pk: u.identity_encrypted for u in users}

    # Deploy the new keys, the old ones kept for reading and finding.
    settings.FIELD_ENCRYPTION_KEY = f"{new_field},{old_field},{session_field}"
    settings.IDENTITY_HASH_KEY, settings.IDENTITY_HASH_KEY_PREVIOUS = new_hash, old_hash
    assert User.objects.get_by_identity(numbers[0]).pk == users[0].pk
    assert user_find_by_identifier(numbers[1]).pk == users[1].pk

    call_command("rotate_identity_keys", batch_size=2, stdout=open(os.devnull, "w"))

    # The old keys are removed: every number still reads and is still found.
    settings.FIELD_ENCRYPTION_KEY, settings.IDENTITY_HASH_KEY_PREVIOUS = new_field, b""
    for user, number in zip(users, numbers, strict=True):
        user.refresh_from_db()
        assert user.identity_encrypted != before[user.pk]
        assert user.identity_number == number
        assert user.identity_hash == identity.identity_lookup_hash(number, new_hash)
        assert User.objects.get_by_identity(number).pk == user.pk
        assert user_find_by_identifier(number).pk == user.pk
        with pytest.raises(Exception):  # noqa: B017 - InvalidToken: the old key cannot read it
            Fernet(old_field.encode()).decrypt(user.identity_encrypted.encode())


def test_rotation_reports_numbers_no_key_can_read(settings, db):
    session_field = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    user = make_beneficiary()
    token = user.identity_encrypted
    settings.FIELD_ENCRYPTION_KEY = session_field  # the key of this row was dropped too early
    with pytest.raises(CommandError, match=f"could not be decrypted .*user ids {user.pk}"):
        call_command("rotate_identity_keys", stdout=open(os.devnull, "w"))
    user.refresh_from_db()
    assert user.identity_encrypted == token


def test_production_refuses_the_console_delivery_backends():
    """They print reset links and codes: refused with DEBUG=0 unless explicitly allowed."""
    keys = generate_keys()
    email = "django.core.mail.backends.console.EmailBackend"
    sms = "notifications.backends.sms.ConsoleSmsBackend"
    real_email = "django.core.mail.backends.smtp.EmailBackend"
    real_sms = "notifications.backends.sms.TwilioSmsBackend"
    for backends in (
        {"EMAIL_BACKEND": email, "SMS_BACKEND": real_sms},
        {
            "EMAIL_BACKEND": "notifications.backends.email.ConsoleEmailBackend",
            "SMS_BACKEND": real_sms,
        },
        {"EMAIL_BACKEND": real_email, "SMS_BACKEND": sms},
        {},  # both default to the console
    ):
        result = import_settings(DEBUG="0", ALLOW_CONSOLE_DELIVERY="0", **keys, **backends)
        assert refused(result, "EMAIL_BACKEND", "SMS_BACKEND"), backends
    started = import_settings(
        DEBUG="0",
        ALLOW_CONSOLE_DELIVERY="0",
        EMAIL_BACKEND=real_email,
        SMS_BACKEND=real_sms,
        **keys,
    )
    assert started.returncode == 0 and "started False" in started.stdout, started.stderr
    allowed = import_settings(DEBUG="0", ALLOW_CONSOLE_DELIVERY="1", **keys)
    assert allowed.returncode == 0, allowed.stderr
    development = import_settings(DEBUG="1", ALLOW_CONSOLE_DELIVERY="0")
    assert development.returncode == 0 and "started True" in development.stdout
