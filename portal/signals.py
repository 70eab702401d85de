"""Logging out closes every websocket the session opened (issue 10, point 6)."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from portal.consumers import session_group

logger = logging.getLogger(__name__)


def session_sockets_close(session_key: str) -> None:
    """Tell every socket of this session (notifications and workspace) to close."""
    layer = get_channel_layer()
    if layer is None or not session_key:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "session.ended"})
    except Exception:  # a channel layer outage must not make logging out fail
        logger.exception("could not close the websockets of a session at logout")


@receiver(user_logged_out, dispatch_uid="portal.close_session_sockets")
def close_session_sockets(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        session_sockets_close(session_key)
