"""Publishing to a meeting's live group (see meetings.consumers for what may be published), and
the throttle that keeps a large poll's progress pushes to a few per second."""

import threading
import time
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
    last: float
    timer: threading.Timer | None = None
    push: Callable[[], None] | None = None


class Throttle:
    """At most one push per ``interval`` seconds for each key in this process: the first of a
    burst goes at once, the rest are folded into one trailing push at the end of the interval,
    so the last state is always pushed. A push reads the state when it runs (not when it was
    offered), so what it sends is never older than the offer.

    Each push goes to every participant's socket: a 500-member poll pushing once per vote would
    be 500 × 500 = 250,000 messages; at 5 a second it is 2,500 a second whatever the voting
    rate (tests/bench/README.md). Several processes each keep their own pace."""

    def __init__(self, interval: float):
        self.interval = interval
        self._lock = threading.Lock()
        self._slots: dict[Hashable, _Slot] = {}

    def offer(self, key: Hashable, push: Callable[[], None]) -> None:
        now = time.monotonic()
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None and slot.timer is not None:
                slot.push = push  # the trailing push is already due
                return
            if slot is None or now - slot.last >= self.interval:
                self._prune(now)
                self._slots[key] = _Slot(last=now)
            else:
                slot.push = push
                slot.timer = threading.Timer(slot.last + self.interval - now, self._trail, [key])
                slot.timer.daemon = True
                slot.timer.start()
                return
        push()

    def _trail(self, key: Hashable) -> None:
        with self._lock:
            slot = self._slots[key]
            push, slot.push, slot.timer, slot.last = slot.push, None, None, time.monotonic()
        try:
            if push is not None:
                push()
        finally:
            # this timer thread's own database connection, if the push opened one
            connections.close_all()

    def _prune(self, now: float) -> None:
        if len(self._slots) > 1000:
            for key in [k for k, s in self._slots.items() if s.timer is None and now - s.last > 60]:
                del self._slots[key]
