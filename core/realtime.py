"""Channel-layer group names, shared by the consumers that join them and the services that
publish to them."""

import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(schema_name: str, user_id: int) -> str:
    """Channel-layer group of one user inside one schema (public or an agency)."""
    return f"user.{schema_name}.{user_id}"


def user_sockets_group(user_id: int) -> str:
    """Every socket of one user, whatever the endpoint and session: a password change or
    reset sends ``credentials.changed`` to it (portal.signals)."""
    return f"sockets.user.{user_id}"


def session_group(session_key: str) -> str:
    """Channel-layer group of every socket opened by one browser session (both endpoints).

    Logging out sends ``session.ended`` to it (portal.signals), which closes them all. The key
    is hashed: group names end up in Redis and must not carry a usable session key.
    """
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


logger = logging.getLogger(__name__)


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a channel layer outage must not make logging out or the change fail
        logger.exception("could not close websockets (%s)", message["type"])


def session_sockets_close(session_key: str) -> None:
    """Tell every socket of this session (notifications and workspace) to close."""
    if session_key:
        _send(session_group(session_key), {"type": "session.ended"})


def user_sockets_close(user_id: int, *, keep_session_keys=()) -> None:
    """Close every socket of the user except those opened by the sessions kept."""
    keep = sorted({session_group(key) for key in keep_session_keys if key})
    _send(user_sockets_group(user_id), {"type": "credentials.changed", "keep": keep})


def membership_sockets_close(schema_name: str, user_id: int) -> None:
    """Close the user's workspace sockets of one agency (after the deactivation commits)."""
    transaction.on_commit(
        lambda: _send(user_group(schema_name, user_id), {"type": "membership.ended"})
    )
