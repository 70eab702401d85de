"""Publishing to a meeting's live group (see meetings.consumers for what may be published)."""

from typing import Any

from django.db import connection

from core.realtime import publish_on_commit
from meetings.constants import MEETING_KIND


def meeting_publish(meeting_id: int, event: str, **data: Any) -> None:
    """After the current transaction commits, tell every participant's page that ``event``
    happened, with ``data`` (JSON; only what every participant may see)."""
    publish_on_commit(
        MEETING_KIND,
        connection.schema_name,
        meeting_id,
        {"type": "meeting.event", "event": event, "data": data},
    )
