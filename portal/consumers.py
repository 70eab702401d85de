"""The user's own live stream (notifications, queue updates) over a websocket.

Authentication comes from the session (AuthMiddlewareStack). For /ws/a/<slug>/... the agency is
resolved from the path and membership is checked inside ``schema_context`` in the sync helper:
Django connections are per thread, so the schema must be set where the query runs.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django_tenants.utils import schema_context

from core.realtime import session_group, user_group
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
            schema = settings.PUBLIC_SCHEMA_NAME
        self.scope["schema_name"] = schema
        self.group = user_group(schema, user.pk)
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None) if session is not None else None
        if not session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.session_group = session_group(session_key)
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "schema": schema})

    async def disconnect(self, code):
        for group in (getattr(self, "group", None), getattr(self, "session_group", None)):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def user_event(self, event):
        """Messages published to the user's group by services after commit."""
        await self.send_json(event["payload"])

    async def session_ended(self, event):
        """The session this socket was opened with logged out: stop pushing, close."""
        for group in (getattr(self, "group", None), getattr(self, "session_group", None)):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.session_group = None
        await self.close(code=CLOSE_UNAUTHENTICATED)
