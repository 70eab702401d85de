"""Channel-layer group names, shared by the consumers that join them and the services that
publish to them."""

import hashlib


def user_group(schema_name: str, user_id: int) -> str:
    """Channel-layer group of one user inside one schema (public or an agency)."""
    return f"user.{schema_name}.{user_id}"


def session_group(session_key: str) -> str:
    """Channel-layer group of every socket opened by one browser session (both endpoints).

    Logging out sends ``session.ended`` to it (portal.signals), which closes them all. The key
    is hashed: group names end up in Redis and must not carry a usable session key.
    """
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]
