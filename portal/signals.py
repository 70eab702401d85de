"""Websockets close when the session or the right they were opened with ends (issue 10, point 6):
at logout (every socket of that session), after a password change or reset (the sockets of the
sessions Django no longer accepts) and when a membership is deactivated (that agency's
workspace sockets of that person)."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from core.realtime import session_sockets_close, user_sockets_close


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
