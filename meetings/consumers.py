"""The meeting's socket: ``/ws/meetings/<agency_slug>/<meeting_id>/``, for the meeting's
participants only (employees and outside members alike; an employee who merely sees every
meeting reads the page but does not join the live group).

Services publish to the meeting's group after their commit with
``core.realtime.publish_on_commit(MEETING_KIND, schema, meeting_id, {"type": "meeting.event",
"event": <name>, "data": {...}})``; the socket forwards ``{"type": <name>, **data}`` to the
page. What is published must be what every participant may see (presence counts, the current
agenda item, how many have voted, a named poll's tallies), never one person's private note or a
secret ballot's tallies before the close. Access is checked at connect; a participant removed
from the meeting gets ``meeting.removed`` on their own user group, which closes the socket.
"""

from channels.db import database_sync_to_async
from django_tenants.utils import schema_context

from core.realtime import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    SessionBoundConsumer,
    object_group,
    scope_session_key,
)
from meetings.constants import MEETING_KIND
from tenants.models import Agency


def meeting_socket_access(*, slug: str, user, meeting_id) -> tuple[str | None, int | None]:
    """The schema of the meeting's agency when ``user`` is one of its participants, else the
    close code: 4404 for an unknown agency or meeting, or one the user is not invited to (not
    told apart). Sync: call through ``database_sync_to_async``."""
    from meetings.models import Meeting
    from meetings.policies import can_take_part

    agency = Agency.objects.filter(slug=slug, is_active=True).first()
    if agency is None:
        return None, CLOSE_NOT_FOUND
    with schema_context(agency.schema_name):
        meeting = Meeting.objects.filter(pk=meeting_id).first()
        if meeting is None or not can_take_part(user, meeting):
            return None, CLOSE_NOT_FOUND
    return agency.schema_name, None


class MeetingConsumer(SessionBoundConsumer):
    meeting_id: int | None = None

    async def connect(self):
        user = self.scope.get("user")
        session_key = scope_session_key(self.scope)
        if user is None or not user.is_authenticated or not session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        schema, refusal = await database_sync_to_async(meeting_socket_access)(
            slug=kwargs.get("agency_slug", ""), user=user, meeting_id=kwargs.get("meeting_id")
        )
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.meeting_id = kwargs["meeting_id"]
        self.scope["schema_name"] = schema
        await self.join(
            [
                object_group(MEETING_KIND, schema, self.meeting_id),
                *self.personal_groups(schema, user.pk, session_key),
            ]
        )
        await self.accept()
        await self.send_json({"type": "hello", "kind": MEETING_KIND, "id": self.meeting_id})

    async def meeting_event(self, event):
        """Something every participant may see changed: forwarded as it was published."""
        await self.send_json({"type": event["event"], **event.get("data", {})})

    async def meeting_removed(self, event):
        """The user is no longer a participant of this socket's meeting."""
        if event.get("meeting_id") == self.meeting_id:
            await self._leave(CLOSE_FORBIDDEN)

    async def membership_ended(self, event):
        """An employee deactivated by the agency keeps their invitations as a person: the
        meeting socket stays open (the workspace sockets close)."""
        return

    async def user_event(self, event):
        """The user's own stream (notifications) is the notification socket's."""
        return
