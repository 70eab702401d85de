"""Realtime building blocks: channel-layer group names, publishing after commit, and the base of
every socket that closes with the session or right it was opened with.

Group names carry the schema (``user.<schema>.<id>``, ``<kind>.<schema>.<id>``): a consumer
joins only groups of its agency and of objects it authorised at connect. What is published to an
object group reaches every socket of that object, so it says *that* something changed (and what
kind of change), never the content: the page fetches that through its permission-checked view.
"""

import functools
import hashlib
import logging
import re

from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction

# Close codes of refused or ended sockets (the client does not reconnect after a 44xx).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

logger = logging.getLogger(__name__)

# Channels accepts ASCII letters, digits, hyphens, underscores and periods, under 100 characters.
_GROUP_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_GROUP_MAX_LENGTH = 99


def user_group(schema_name: str, user_id: int) -> str:
    """Channel-layer group of one user inside one schema (public or an agency)."""
    return f"user.{schema_name}.{user_id}"


def user_sockets_group(user_id: int) -> str:
    """Every socket of one user, whatever the endpoint and session: a password change or
    reset sends ``credentials.changed`` to it (portal.signals)."""
    return f"sockets.user.{user_id}"


def session_group(session_key: str) -> str:
    """Channel-layer group of every socket opened by one browser session (every endpoint).

    Logging out sends ``session.ended`` to it (portal.signals), which closes them all. The key
    is hashed: group names end up in Redis and must not carry a usable session key.
    """
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def object_group(kind: str, schema_name: str, object_id) -> str:
    """Channel-layer group of one object of one agency: ``<kind>.<schema>.<id>``
    (``request.agency_alpha.42``). Raises ValueError for a part channels would refuse."""
    parts = (kind, schema_name, str(object_id))
    if not all(_GROUP_PART.match(part) for part in parts):
        raise ValueError(f"not a valid group name part: {parts!r}")
    name = ".".join(parts)
    if len(name) > _GROUP_MAX_LENGTH:
        raise ValueError(f"group name too long: {name!r}")
    return name


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a channel layer outage must not make the change or the logout fail
        logger.exception("could not send %s to the channel layer", message.get("type"))


def publish_on_commit(kind: str, schema_name: str, object_id, message: dict) -> None:
    """Send ``message`` (its ``type`` names the consumer's handler, e.g. ``object.changed``) to
    the object's group once the current transaction commits: nothing is sent if it rolls back,
    and a channel layer that is down is logged, not raised. Outside a transaction it is sent
    at once."""
    group = object_group(kind, schema_name, object_id)
    transaction.on_commit(functools.partial(_send, group, message))


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


def scope_session_key(scope) -> str | None:
    """The session key the socket was opened with (None without a saved session)."""
    session = scope.get("session")
    return getattr(session, "session_key", None) if session is not None else None


class SessionBoundConsumer(AsyncJsonWebsocketConsumer):
    """A socket that closes when what it was opened with ends: the session logs out
    (``session.ended``), the user's password changes or is reset (``credentials.changed``), the
    membership of its agency is deactivated (``membership.ended``, sent to ``user_group``).

    A subclass authenticates in ``connect``, then calls :meth:`join` with its own groups plus
    :meth:`personal_groups` before accepting. Client messages other than ``ping`` are ignored.
    """

    joined: tuple[str, ...] = ()
    session_group_name: str | None = None

    async def dispatch(self, message):
        """Channels' own dispatch (4.2+) first hops to the shared sync thread to close stale
        database connections, once per message: a push to a meeting's group is one message per
        socket, so 500 sockets made 500 hops per push, which held back the pushes and the votes
        of a large poll (tests/bench/README.md). These consumers never touch the database on
        the event loop (Django refuses it there); each of their database calls runs through
        ``database_sync_to_async``, which closes stale connections of its thread before and
        after, or on the meeting votes' own threads, which keep theirs on purpose."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def personal_groups(self, schema_name: str, user_id: int, session_key: str) -> list[str]:
        """The user's group in this schema, the session's and the user's sockets' groups."""
        self.session_group_name = session_group(session_key)
        return [
            user_group(schema_name, user_id),
            self.session_group_name,
            user_sockets_group(user_id),
        ]

    async def join(self, groups: list[str]) -> None:
        self.joined = (*self.joined, *groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave_groups(self) -> None:
        joined, self.joined = self.joined, ()
        for group in joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _leave(self, code: int) -> None:
        """Stop pushing to this socket and close it."""
        await self._leave_groups()
        await self.close(code=code)

    async def disconnect(self, code):
        await self._leave_groups()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Answer ``ping``; ignore anything else, malformed JSON and binary frames included."""
        if not text_data:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def session_ended(self, event):
        """The session this socket was opened with logged out: stop pushing, close."""
        await self._leave(CLOSE_UNAUTHENTICATED)

    async def credentials_changed(self, event):
        """The user's password changed or was reset: Django no longer accepts the sessions it
        did not keep (the session auth hash), so their sockets close too."""
        if self.session_group_name not in event.get("keep", ()):
            await self._leave(CLOSE_UNAUTHENTICATED)

    async def membership_ended(self, event):
        """The user's membership of this socket's agency was deactivated (sent to the
        agency's user group, so only workspace sockets of that agency get it)."""
        await self._leave(CLOSE_FORBIDDEN)

    async def meeting_removed(self, event):
        """The user was removed from a meeting (sent to the agency's user group): only the
        meeting's own socket acts on it (meetings.consumers overrides this); the workspace
        and notification sockets ignore it."""
        return
