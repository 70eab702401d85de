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

A participant may also vote over the socket they already have open (the vote page's HTTP path
stays): ``{"type": "vote", "poll": <id>, "voter": <participant id>, "choices": [<position>, ...],
"ref": <anything, echoed>}`` runs the same service as the HTTP vote (``voting.poll_vote``, which
checks the actor may vote), and answers this socket only: ``{"type": "vote_recorded", "poll",
"ref", "code"}`` with the receipt code, or ``{"type": "vote_refused", "poll", "ref", "errors":
[...]}`` with nothing changed. A 500-member vote then costs no HTTP request, session load or
middleware per ballot (tests/bench/README.md, "A meeting of 500 members voting").
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection
from django.utils.translation import gettext as _
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

logger = logging.getLogger(__name__)


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


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def meeting_socket_vote(*, schema: str, meeting_id: int, user, content: dict) -> dict:
    """A vote sent over the meeting's socket: the poll is looked up in this socket's meeting
    only, then ``voting.poll_vote`` decides (participant, entitlement, proxy, open poll, once).
    Returns the answer for this socket. Sync: call through ``database_sync_to_async``."""
    from meetings.models_voting import Poll
    from meetings.services import voting

    poll_id = _int(content.get("poll"))
    voter_id = _int(content.get("voter"))
    raw_choices = content.get("choices")
    choices = [_int(c) for c in raw_choices] if isinstance(raw_choices, list) else [None]
    answer = {"poll": poll_id, "ref": str(content.get("ref", ""))[:40]}
    with schema_context(schema):
        try:
            poll = (
                Poll.objects.filter(meeting_id=meeting_id, pk=poll_id)
                .select_related("meeting")
                .order_by()
                .first()
                if poll_id and voter_id and choices and None not in choices
                else None
            )
            if poll is None:
                return {
                    "type": "vote_refused",
                    **answer,
                    "errors": [_("This vote cannot be cast.")],
                }
            code = voting.poll_vote(actor=user, poll=poll, voter_id=voter_id, choices=choices)
        except PermissionDenied as exc:
            return {"type": "vote_refused", **answer, "errors": [str(exc)]}
        except ValidationError as exc:
            return {"type": "vote_refused", **answer, "errors": list(exc.messages)}
        except DatabaseError as exc:
            # Nothing was recorded (the vote's transaction rolled back); the socket gets an
            # answer instead of none. Django marked the connection; the next vote on this
            # thread drops it if it is broken (_on_kept_connection). Only the error's kind is
            # logged: nothing of the ballot.
            logger.warning("a socket vote failed on a database error (%s)", type(exc).__name__)
            return {
                "type": "vote_refused",
                **answer,
                "errors": [_("The vote could not be recorded. Please send it again.")],
            }
    return {"type": "vote_recorded", **answer, "code": code}


# Socket votes of this process run on threads of their own, not on the one thread that Django's
# sync views share under ASGI: each vote is its own transaction, and concurrent votes queue on
# the poll row's lock in the database. The threads keep their database connection from one vote
# to the next (DB_CONN_MAX_AGE=0 would otherwise open a connection per vote, about a third of a
# vote's cost: tests/bench/README.md); there are few of them and they live as long as the
# process, so the connections they hold are bounded (VOTE_THREADS per process). Two: a poll's
# votes queue on its row anyway, and every further thread takes the interpreter lock from the
# event loop that forwards the pushes (4 threads: push p95 1.1-1.5 s for 500 votes; 2: about
# 0.4-0.5 s, the votes as fast). The threads are shared by the process's meetings, first come
# first served: another meeting's socket vote waits behind a large poll's burst (seconds; the
# pages vote over HTTP, which does not use these threads). Holding a poll to fewer threads
# made the votes a quarter slower (each then waits for the busy event loop to hand it over).
VOTE_THREADS = 2
_vote_executor = ThreadPoolExecutor(max_workers=VOTE_THREADS, thread_name_prefix="meeting-vote")


def _on_kept_connection(func):
    """Run ``func`` on this thread's connection, kept open between calls; one that failed
    (the server restarted, a network error) is dropped and opened again."""

    def run(**kwargs):
        if connection.connection is not None and connection.errors_occurred:
            if not connection.is_usable():
                connection.close()
            connection.errors_occurred = False
        return func(**kwargs)

    return run


class MeetingConsumer(SessionBoundConsumer):
    meeting_id: int | None = None
    # Tests run votes on the test's thread (True) so that they see the test's transaction.
    vote_thread_sensitive = False

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
        self._votes: set[asyncio.Future] = set()
        self._vote_lock = asyncio.Lock()
        self.scope["schema_name"] = schema
        await self.join(
            [
                object_group(MEETING_KIND, schema, self.meeting_id),
                *self.personal_groups(schema, user.pk, session_key),
            ]
        )
        await self.accept()
        await self.send_json({"type": "hello", "kind": MEETING_KIND, "id": self.meeting_id})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Text frames of JSON go to :meth:`receive_json`; malformed JSON and binary frames
        are ignored, as the base class does."""
        if not text_data:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        """``ping`` (answered by the base class) and ``vote`` (module doc); anything else, or
        any message before the socket was accepted, is ignored."""
        if not isinstance(content, dict) or self.meeting_id is None:
            return
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        elif content.get("type") == "vote":
            # Not awaited here: a consumer handles one message at a time, so waiting for the
            # vote would hold back every push to this socket until its vote is recorded (the
            # benchmark: 40 s behind when 500 votes queue at once). One vote at a time per socket.
            task = asyncio.ensure_future(self._vote(content))
            self._votes.add(task)
            task.add_done_callback(self._votes.discard)

    async def _vote(self, content: dict) -> None:
        cast = (
            database_sync_to_async(meeting_socket_vote, thread_sensitive=True)
            if self.vote_thread_sensitive
            else sync_to_async(
                _on_kept_connection(meeting_socket_vote),
                thread_sensitive=False,
                executor=_vote_executor,
            )
        )
        async with self._vote_lock:
            answer = await cast(
                schema=self.scope["schema_name"],
                meeting_id=self.meeting_id,
                user=self.scope["user"],
                content=content,
            )
        await self.send_json(answer)

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
