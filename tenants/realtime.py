"""Workspace sockets: the agency from the path and the employee's access to it (shared with the
user's own stream, portal.consumers), and :class:`AgencyObjectConsumer`, the base of every
socket that follows one object of one agency (a request, a meeting, a voucher).

Django's connections are per thread: every database read of a consumer runs in a sync helper
(``database_sync_to_async``) that opens ``schema_context`` itself.
"""

from channels.db import database_sync_to_async
from django_tenants.utils import schema_context

from accounts.two_factor import session_allows_agency
from core.realtime import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    SessionBoundConsumer,
    object_group,
    scope_session_key,
)
from tenants.backends import clear_permission_cache
from tenants.models import Agency
from tenants.staff.models import Membership


def agency_socket_access(*, slug: str, user, session) -> tuple[Agency | None, int | None]:
    """The agency of a workspace socket (``/ws/a/<slug>/…``) when ``user`` may open it in this
    session, else the close code refusing it: 4404 for an unknown or inactive agency, 4403 for
    someone who is not its active employee or whose session has not met its two-factor
    requirement. Sync: call through ``database_sync_to_async``."""
    agency = Agency.objects.filter(slug=slug, is_active=True).first()
    if agency is None:
        return None, CLOSE_NOT_FOUND
    with schema_context(agency.schema_name):
        is_member = Membership.objects.filter(user_id=user.pk, is_active=True).exists()
    if not is_member or not session_allows_agency(session, user, agency):
        return None, CLOSE_FORBIDDEN
    return agency, None


@database_sync_to_async
def _in_schema(schema_name: str, function, *args):
    with schema_context(schema_name):
        return function(*args)


class AgencyObjectConsumer(SessionBoundConsumer):
    """A workspace socket on one object: ``/ws/a/<agency_slug>/<…>/<object id>/``.

    A subclass names its ``kind`` (the group's first part, the same the services publish with:
    ``publish_on_commit(kind, schema, id, {"type": "object.changed", …})``), the URL kwarg of
    the id (``object_kwarg``) and implements :meth:`authorize`. On connect: anonymous or
    without a session → 4401; unknown or inactive agency → 4404; not an active employee, or the
    agency's two-factor requirement not met by this session → 4403; ``authorize`` false → 4404
    (an object that does not exist and one the user may not open are not told apart). Then the
    socket joins the object's group and the groups that close it at logout, password change
    and deactivation, is accepted and says ``hello``.

    Access is checked at connect: what is published to the group must therefore say only that
    the object changed, never its content (see core.realtime).
    """

    kind: str = ""
    object_kwarg: str = "object_id"

    def authorize(self, user, object_id) -> bool:
        """Whether ``user`` (an active employee of the agency) may follow this object. Runs in
        the agency's schema, in a thread (sync ORM calls are fine)."""
        raise NotImplementedError

    def version(self, object_id) -> str | None:
        """A value that changes whenever the object does (runs like :meth:`authorize`), sent in
        ``hello``: a page that rendered another version learns it missed a change made before
        its socket joined. None: not tracked."""
        return None

    async def connect(self):
        user = self.scope.get("user")
        session_key = scope_session_key(self.scope)
        if user is None or not user.is_authenticated or not session_key:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        agency, refusal = await database_sync_to_async(agency_socket_access)(
            slug=kwargs.get("agency_slug", ""), user=user, session=self.scope.get("session")
        )
        if refusal is not None:
            await self.close(code=refusal)
            return
        schema = agency.schema_name
        object_id = kwargs.get(self.object_kwarg)
        if object_id is None or not await _in_schema(schema, self.authorize, user, object_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.scope["schema_name"] = schema
        self.agency = agency
        self.object_id = object_id
        # Joined before the version is read: a change after that read arrives as a message.
        await self.join(
            [
                object_group(self.kind, schema, object_id),
                *self.personal_groups(schema, user.pk, session_key),
            ]
        )
        version = await _in_schema(schema, self.version, object_id)
        await self.accept()
        await self.send_json(
            {"type": "hello", "kind": self.kind, "id": object_id, "version": version}
        )

    async def object_changed(self, event):
        """A change published after its commit: forwarded with ``mine`` (whether this socket's
        user made it) instead of the author's id — to a user who may still open the object
        (asked again, with fresh permissions: they may have been reassigned away, lost a role
        or moved department since they connected); otherwise the socket is closed."""
        user = self.scope["user"]
        schema = self.scope["schema_name"]
        if not await _in_schema(schema, self._still_allowed, user, self.object_id):
            await self._leave(CLOSE_NOT_FOUND)
            return
        message = {key: value for key, value in event.items() if key != "by"}
        message["mine"] = event.get("by") is not None and event.get("by") == self.scope["user"].pk
        await self.send_json(message)

    def _still_allowed(self, user, object_id) -> bool:
        clear_permission_cache(user)
        return self.authorize(user, object_id)

    async def user_event(self, event):
        """The user's own stream (notifications) is the notification socket's; not this one's."""
