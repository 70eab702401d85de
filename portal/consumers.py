"""The user's own live stream (notifications, queue updates) over a websocket.

Authentication comes from the session (AuthMiddlewareStack). For /ws/a/<slug>/... the agency,
membership and two-factor requirement are checked by tenants.realtime.agency_socket_access (in
``schema_context`` inside a sync helper: Django connections are per thread, so the schema must
be set where the query runs). Closing at logout, password change and deactivation comes from
core.realtime.SessionBoundConsumer.
"""

from channels.db import database_sync_to_async
from django.conf import settings

from core.realtime import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    SessionBoundConsumer,
    scope_session_key,
    user_group,
)
from tenants.realtime import agency_socket_access

__all__ = ["CLOSE_FORBIDDEN", "CLOSE_UNAUTHENTICATED", "NotificationConsumer", "user_group"]


@database_sync_to_async
def _second_factor_pending(scope, user) -> bool:
    from accounts.two_factor import second_factor_pending

    return second_factor_pending(scope.get("session"), user)


@database_sync_to_async
def _notification_for_session(scope, user, event) -> dict | None:
    """What a portal socket shows of a notification: nothing when it belongs to an agency
    whose two-factor requirement this session does not meet; else the payload with the
    unread count the portal's bell shows to this session."""
    from accounts.two_factor import agencies_withheld_from_session
    from notifications.selectors import unread_count

    session = scope.get("session")
    agency_id = event.get("agency_id")
    if (
        agency_id is not None
        and agencies_withheld_from_session(session, user).filter(pk=agency_id).exists()
    ):
        return None
    return {**event["payload"], "unread": unread_count(user=user, session=session)}


class NotificationConsumer(SessionBoundConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        slug = self.scope["url_route"]["kwargs"].get("agency_slug")
        if slug:
            agency, refusal = await database_sync_to_async(agency_socket_access)(
                slug=slug, user=user, session=self.scope.get("session")
            )
            # Unknown or inactive agency, not its active employee, or its two-factor sign-in
            # required and not used by this session: all refused alike on this socket.
            if refusal is not None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            schema = agency.schema_name
        else:
            # A session opened without the code of an existing authenticator opens nothing
            # until the code is entered (as its pages, accounts.two_factor.gate).
            if await _second_factor_pending(self.scope, user):
                await self.close(code=CLOSE_FORBIDDEN)
                return
            schema = settings.PUBLIC_SCHEMA_NAME
        self.scope["schema_name"] = schema
        session_key = scope_session_key(self.scope)
        if not session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(self.personal_groups(schema, user.pk, session_key))
        await self.accept()
        await self.send_json({"type": "hello", "schema": schema})

    async def user_event(self, event):
        """Messages published to the user's group by services after commit."""
        await self.send_json(event["payload"])

    async def user_notification(self, event):
        """An in-app notification on the portal's socket, as this session may see it."""
        payload = await _notification_for_session(self.scope, self.scope["user"], event)
        if payload is not None:
            await self.send_json(payload)
