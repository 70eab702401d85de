"""Websockets close when the session or the right they were opened with ends (issue 10, point 6):
at logout (every socket of that session), after a password change or reset (the sockets of the
sessions Django no longer accepts) and when a membership is deactivated (that agency's
workspace sockets of that person)."""

import logging

from allauth.account.signals import password_changed, password_reset, password_set
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.dispatch import receiver

from portal.consumers import session_group, user_group, user_sockets_group

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


@receiver(user_logged_out, dispatch_uid="portal.close_session_sockets")
def close_session_sockets(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        session_sockets_close(session_key)


@receiver(password_changed, dispatch_uid="portal.close_sockets_on_password_change")
@receiver(password_set, dispatch_uid="portal.close_sockets_on_password_set")
def close_other_sessions_sockets(sender, request, user, **kwargs):
    """A password change keeps the session that made it (update_session_auth_hash, which gives
    it a new key: its sockets were opened with the key the browser sent) and ends the others."""
    keep = []
    if getattr(request, "user", None) is not None and request.user.pk == user.pk:
        keep = [request.COOKIES.get(settings.SESSION_COOKIE_NAME), request.session.session_key]
    user_sockets_close(user.pk, keep_session_keys=keep)


@receiver(password_reset, dispatch_uid="portal.close_sockets_on_password_reset")
def close_sockets_on_password_reset(sender, request, user, **kwargs):
    """A reset ends every session of the user (none gets the new auth hash)."""
    user_sockets_close(user.pk)
