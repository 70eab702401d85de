"""The user's own live stream (notifications, queue updates) over a websocket.

Authentication comes from the session (AuthMiddlewareStack). For /ws/a/<slug>/... the agency is
resolved from the path and membership is checked inside ``schema_context`` in the sync helper:
Django connections are per thread, so the schema must be set where the query runs.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django_tenants.utils import schema_context

from core.realtime import session_group, user_group, user_sockets_group
from tenants.models import Agency

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _agency_schema_for_member(slug: str, user_id: int) -> str | None:
    agency = Agency.objects.filter(slug=slug, is_active=True).only("schema_name").first()
    if agency is None:
        return None
    from tenants.staff.models import Membership

    with schema_context(agency.schema_name):
        if Membership.objects.filter(user_id=user_id, is_active=True).exists():
            return agency.schema_name
    return None


@database_sync_to_async
def _two_factor_allows(scope, slug: str, user) -> bool:
    from accounts.two_factor import session_allows_agency

    agency = Agency.objects.get(slug=slug)
    return session_allows_agency(scope["session"], user, agency)


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


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        slug = self.scope["url_route"]["kwargs"].get("agency_slug")
        if slug:
            schema = await _agency_schema_for_member(slug, user.pk)
            # Two-factor sign-in required by the agency and not used by this session.
            if schema is not None and not await _two_factor_allows(self.scope, slug, user):
                schema = None
            if schema is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
        else:
            # A session opened without the code of an existing authenticator opens nothing
            # until the code is entered (as its pages, accounts.two_factor.gate).
            if await _second_factor_pending(self.scope, user):
                await self.close(code=CLOSE_FORBIDDEN)
                return
            schema = settings.PUBLIC_SCHEMA_NAME
        self.scope["schema_name"] = schema
        self.group = user_group(schema, user.pk)
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        if not session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.session_group = session_group(session_key)
        self.sockets_group = user_sockets_group(user.pk)
        for group in self._groups():
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "schema": schema})

    def _groups(self) -> list[str]:
        names = ("group", "session_group", "sockets_group")
        return [group for group in (getattr(self, name, None) for name in names) if group]

    async def _leave(self, code: int) -> None:
        """Stop pushing to this socket and close it."""
        for group in self._groups():
            await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.session_group = self.sockets_group = None
        await self.close(code=code)

    async def disconnect(self, code):
        for group in self._groups():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def user_event(self, event):
        """Messages published to the user's group by services after commit."""
        await self.send_json(event["payload"])

    async def user_notification(self, event):
        """An in-app notification on the portal's socket, as this session may see it."""
        payload = await _notification_for_session(self.scope, self.scope["user"], event)
        if payload is not None:
            await self.send_json(payload)

    async def session_ended(self, event):
        """The session this socket was opened with logged out: stop pushing, close."""
        await self._leave(CLOSE_UNAUTHENTICATED)

    async def credentials_changed(self, event):
        """The user's password changed or was reset: Django no longer accepts the sessions it
        did not keep (the session auth hash), so their sockets close too."""
        if self.session_group not in event.get("keep", ()):
            await self._leave(CLOSE_UNAUTHENTICATED)

    async def membership_ended(self, event):
        """The user's membership of this socket's agency was deactivated (sent to the
        agency's user group, so only workspace sockets of that agency get it)."""
        await self._leave(CLOSE_FORBIDDEN)
