from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Delivery, Notification
from tenants.models import Agency


def inbox(*, user: User, agency: Agency | None = None) -> QuerySet[Notification]:
    """A person's notifications, newest first (in a workspace: that agency's only)."""
    qs = Notification.objects.filter(recipient=user)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs.order_by("-created_at", "-id")


def unread_count(*, user: User, agency: Agency | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs.count()


def delivery_log(
    *, agency: Agency | None, status: str = "", channel: str = "", query: str = ""
) -> QuerySet[Delivery]:
    """What was sent to whom for one agency (or, with agency=None, the platform's own)."""
    qs = Delivery.objects.select_related("notification", "notification__recipient")
    qs = (
        qs.filter(notification__agency=agency)
        if agency
        else qs.filter(notification__agency__isnull=True)
    )
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if query:
        qs = qs.filter(address__icontains=query)
    return qs.order_by("-id")
