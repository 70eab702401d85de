"""The SLA clock of the workspace request page's side panel (selectors.sla_clock)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from requests_app.constants import Status
from requests_app.models import Request
from requests_app.selectors import sla_clock

NOW = timezone.now()


@pytest.mark.parametrize(
    ("status", "due_in", "is_late", "state"),
    [
        (Status.IN_PROGRESS, timedelta(hours=5), False, "due"),
        (Status.NEW, timedelta(hours=-1), False, "late"),  # passed, before the sweep marks it
        (Status.IN_PROGRESS, timedelta(hours=5), True, "late"),
        (Status.AWAITING_BENEFICIARY, timedelta(hours=5), False, "paused"),
        (Status.POSTPONED, timedelta(hours=-5), False, "paused"),  # the clock does not run
        (Status.CLOSED, timedelta(hours=-5), True, "closed"),
        (Status.IN_PROGRESS, None, False, ""),
    ],
)
def test_sla_clock_states(status, due_in, is_late, state):
    due_at = NOW + due_in if due_in is not None else None
    item = Request(status=status, due_at=due_at, is_late=is_late)
    clock = sla_clock(item=item, now=NOW)
    assert clock.state == state
    assert clock.due_at == due_at
