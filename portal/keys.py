"""Keys of the identity-number protection and the production key check (issue 10, point 3).

Imported by the settings module: standard library and cryptography only, no Django.
"""

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet

DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"


def derived_key(label: str, secret: str) -> bytes:
    return hashlib.sha256(f"{label}:{secret}".encode()).digest()


def derived_development_values(secret: str) -> tuple[str, bytes]:
    """(FIELD_ENCRYPTION_KEY, IDENTITY_HASH_KEY) as derived from ``secret`` when unset."""
    return (
        base64.urlsafe_b64encode(derived_key("field-encryption", secret)).decode(),
        derived_key("identity-hash", secret),
    )


def production_key_problems(environ) -> list[str]:
    """What is wrong with the keys of ``environ`` for DEBUG=0 (empty list: fine)."""
    problems = []
    secret = (environ.get("SECRET_KEY") or "").strip()
    field = (environ.get("FIELD_ENCRYPTION_KEY") or "").strip()
    lookup = (environ.get("IDENTITY_HASH_KEY") or "").strip()
    previous = (environ.get("IDENTITY_HASH_KEY_PREVIOUS") or "").strip()
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", secret),
            ("FIELD_ENCRYPTION_KEY", field),
            ("IDENTITY_HASH_KEY", lookup),
        )
        if not value
    ]
    if missing:
        problems.append("not set: " + ", ".join(missing))
    dev_field, dev_lookup = derived_development_values(DEV_SECRET_KEY)
    weak = {DEV_SECRET_KEY, dev_field, dev_lookup.hex()}
    if secret and secret in weak:
        problems.append("SECRET_KEY is the development key")
    if secret and len(secret) < 50:
        problems.append("SECRET_KEY is shorter than 50 characters")
    field_keys = [key.strip() for key in field.split(",") if key.strip()]
    for position, key in enumerate(field_keys, 1):
        if key in weak or key == derived_development_values(secret)[0]:
            problems.append(f"FIELD_ENCRYPTION_KEY #{position} is a development or derived key")
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(
                f"FIELD_ENCRYPTION_KEY #{position} is not a Fernet key (32 url-safe base64 bytes)"
            )
    for name, value in (("IDENTITY_HASH_KEY", lookup), ("IDENTITY_HASH_KEY_PREVIOUS", previous)):
        if not value:
            continue
        if value in weak or value.encode() == derived_development_values(secret)[1]:
            problems.append(f"{name} is a development or derived key")
        if len(value) < 32:
            problems.append(f"{name} is shorter than 32 characters")
    if secret and (secret in field_keys or secret == lookup):
        problems.append("SECRET_KEY must differ from FIELD_ENCRYPTION_KEY and IDENTITY_HASH_KEY")
    return problems


def generate_keys() -> dict[str, str]:
    """Fresh random values for the three keys (tests, benchmarks, first deployment)."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "IDENTITY_HASH_KEY": secrets.token_urlsafe(32),
    }


if __name__ == "__main__":
    for name, value in generate_keys().items():
        print(f"{name}={value}")
