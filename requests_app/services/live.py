"""Open workspace pages of a request learn that it changed (core.realtime): after the commit of
the change, a message on the request's group that says only what kind of change it was and who
made it; the page offers to reload, which shows the change through the permission-checked
view."""

from datetime import UTC, datetime

from core import context
from core.realtime import publish_on_commit
from tenants.models import Agency

# The group kind of a request: ``request.<schema>.<id>`` (requests_app.consumers joins it).
REQUEST_KIND = "request"


def request_changed_publish(*, agency: Agency, request_id: int, what: str) -> None:
    """Tell the request's sockets that it changed, once the current transaction commits
    (nothing if it rolls back). ``by`` is the acting user (the action context), so a page
    ignores its own user's changes."""
    actor = context.current().actor
    by = getattr(actor, "pk", None) if actor is not None else None
    publish_on_commit(
        REQUEST_KIND,
        agency.schema_name,
        request_id,
        {"type": "object.changed", "what": what, "by": by},
    )


def request_version(updated_at: datetime) -> str:
    """The request's version as its page and its socket's ``hello`` carry it (every change
    through index_sync saves the request, which moves ``updated_at``)."""
    return updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
