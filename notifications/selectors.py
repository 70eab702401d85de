from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Delivery, Notification
from tenants.models import Agency


def visible_notifications(
    *, user: User, agency: Agency | None = None, session=None
) -> QuerySet[Notification]:
    """A person's notifications that this session may read (in a workspace: that agency's
    only). Notifications of an agency whose two-factor requirement the session does not meet
    are left out, in the same query (a subquery, whatever the number of rows); ``session=None``
    counts as a session that did not use a second factor."""
    from accounts.two_factor import agencies_withheld_from_session

    qs = Notification.objects.filter(recipient=user)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs.exclude(agency__in=agencies_withheld_from_session(session, user).values("pk"))


def inbox(*, user: User, agency: Agency | None = None, session=None) -> QuerySet[Notification]:
    """A person's notifications, newest first (see visible_notifications)."""
    return visible_notifications(user=user, agency=agency, session=session).order_by(
        "-created_at", "-id"
    )


def unread_count(*, user: User, agency: Agency | None = None, session=None) -> int:
    return (
        visible_notifications(user=user, agency=agency, session=session)
        .filter(read_at__isnull=True)
        .count()
    )


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


@dataclass(frozen=True)
class OutboxEntry:
    kind: str  # "sms" or "email"
    to: str
    subject: str
    body: str
    created_at: datetime
    id: int


def console_outbox(*, limit: int = 100) -> list[OutboxEntry]:
    """What the console backends kept (accounts.SmsMessage, ConsoleEmail): the newest
    ``limit`` messages of both kinds, newest first (two queries). For the developer outbox."""
    from accounts.models import SmsMessage
    from notifications.models import ConsoleEmail

    entries = [
        OutboxEntry("sms", sms.to, "", sms.body, sms.created_at, sms.pk)
        for sms in SmsMessage.objects.order_by("-id")[:limit]
    ] + [
        OutboxEntry("email", email.to, email.subject, email.body, email.created_at, email.pk)
        for email in ConsoleEmail.objects.order_by("-id")[:limit]
    ]
    entries.sort(key=lambda entry: (entry.created_at, entry.id), reverse=True)
    return entries[:limit]
