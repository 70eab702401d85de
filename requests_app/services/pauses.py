"""SLA clocks stop while a request waits on the beneficiary or is postponed."""

from datetime import datetime

from django.utils import timezone

from requests_app.constants import PAUSED_STATUSES
from requests_app.models import Request, StatusPause


def pause_track(*, item: Request, old_status: str, now: datetime | None = None) -> None:
    """Open a pause when ``item`` enters a paused status, close it when it leaves one."""
    now = now or timezone.now()
    if old_status == item.status:
        return
    if old_status in PAUSED_STATUSES:
        StatusPause.objects.filter(request=item, ended_at__isnull=True).update(ended_at=now)
    if item.status in PAUSED_STATUSES:
        StatusPause.objects.create(request=item, status=item.status, started_at=now)
