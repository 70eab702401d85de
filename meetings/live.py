"""Publishing to a meeting's live group (see meetings.consumers for what may be published), and
the settle that brings a large poll's page up to date between its progress steps."""

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections

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


@dataclass
class _Slot:
    timer: threading.Timer
    push: Callable[[], None]


class Settle:
    """A push ``delay`` seconds after the first offer for a key that nothing has pushed since:
    offers in between only replace what will be pushed, ``discard`` drops it (a push that
    made it needless went out). The push reads the state when it runs, so the last state is
    pushed within ``delay`` of any change, at most once per ``delay`` per key and process."""

    def __init__(self, delay: float):
        self.delay = delay
        self._lock = threading.Lock()
        self._slots: dict[Hashable, _Slot] = {}

    def offer(self, key: Hashable, push: Callable[[], None]) -> None:
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None:
                slot.push = push
                return
            timer = threading.Timer(self.delay, self._fire, [key])
            timer.daemon = True
            self._slots[key] = slot = _Slot(timer=timer, push=push)
        timer.start()

    def discard(self, key: Hashable) -> None:
        with self._lock:
            slot = self._slots.pop(key, None)
        if slot is not None:
            slot.timer.cancel()

    def pending(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._slots

    def _fire(self, key: Hashable) -> None:
        with self._lock:
            slot = self._slots.pop(key, None)
        if slot is None:
            return
        try:
            slot.push()
        finally:
            # this timer thread's own database connection, if the push opened one
            connections.close_all()
