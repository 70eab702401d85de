"""Telling people things: one call renders, records and schedules every channel (R-7)."""

import logging
import smtplib
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.backends.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.backends.sms import get_sms_backend
from notifications.events import EMAIL, EVENTS, INAPP, SMS, Event
from notifications.models import ChannelPreference, Delivery, Notification
from portal.accounts.models import User
from tenants.models import Agency

logger = logging.getLogger("muamalat.notifications")


def _render(event: str, part: str, context: dict[str, Any]) -> str:
    name = f"notifications/events/{event}/{part}"
    if part.endswith(".html"):
        return render_to_string(name, context).strip()
    # Plain text (subject, SMS, in-app, text email) is not HTML: escaping would put "&amp;" into
    # a subject or an SMS. Pages escape these texts when they show them.
    return get_template(name).template.render(Context(context, autoescape=False)).strip()


def channels_for(*, recipient: User, event: Event, code: str) -> list[str]:
    """The event's channels the recipient keeps (mandatory events ignore preferences), minus
    channels with no address (no mobile: no SMS)."""
    channels = list(event.channels)
    if not event.mandatory:
        preference = ChannelPreference.objects.filter(user=recipient, event=code).first()
        if preference is not None:
            channels = [channel for channel in channels if preference.allows(channel)]
    if not recipient.mobile:
        channels = [c for c in channels if c != SMS]
    if not recipient.email:
        channels = [c for c in channels if c != EMAIL]
    return channels


def notification_send(
    *,
    recipient: User,
    event: str,
    context: dict[str, Any] | None = None,
    agency: Agency | None = None,
    idempotency_key: str | None = None,
    link: str = "",
) -> Notification:
    """Render ``event`` in the recipient's language, record it, and schedule each channel.

    Runs in the caller's transaction: the delivery jobs are rows in the same transaction, so they
    exist only if it commits, and the live push leaves only after commit. A repeated
    ``idempotency_key`` returns the existing notification instead of sending twice.
    """
    spec = EVENTS.get(event)
    if spec is None:
        raise ValidationError(_("Unknown notification event %(event)s") % {"event": event})
    from notifications import tasks

    key = idempotency_key or f"{event}:{recipient.pk}:{timezone.now().timestamp()}"
    with transaction.atomic():
        existing = Notification.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        language = recipient.preferred_language or settings.LANGUAGE_CODE
        channels = channels_for(recipient=recipient, event=spec, code=event)
        with translation.override(language):
            ctx = {
                "recipient": recipient,
                "agency": agency,
                "link": link,
                "site_url": settings.SITE_URL,
                **(context or {}),
            }
            notification = Notification.objects.create(
                recipient=recipient,
                agency=agency,
                event=event,
                language=language,
                title=_render(event, "subject.txt", ctx),
                body=_render(event, "inapp.txt", ctx) if INAPP in channels else "",
                link=link,
                idempotency_key=key,
            )
            deliveries = []
            for channel in channels:
                delivery = Delivery(notification=notification, channel=channel)
                if channel == EMAIL:
                    delivery.address = recipient.email
                    delivery.subject = notification.title
                    delivery.body = _render(event, "email.txt", ctx)
                    delivery.html = _render(event, "email.html", ctx)
                elif channel == SMS:
                    delivery.address = recipient.mobile
                    delivery.body = _render(event, "sms.txt", ctx)
                else:
                    delivery.address = f"user:{recipient.pk}"
                    delivery.body = notification.body
                    delivery.status = Delivery.SENT
                deliveries.append(delivery)
            Delivery.objects.bulk_create(deliveries)
        for delivery in deliveries:
            if delivery.channel in (EMAIL, SMS):
                tasks.deliver.defer(delivery_id=delivery.pk)
        if INAPP in channels:
            transaction.on_commit(lambda: notification_push(notification=notification))
    return notification


def notification_push(*, notification: Notification) -> None:
    """Push the in-app notification to the recipient's open pages (after commit). Each page
    gets the unread count its bell shows: all on the portal, that agency's in a workspace."""
    from portal.consumers import user_group

    layer = get_channel_layer()
    recipient_id = notification.recipient_id
    base = {
        "type": "notification",
        "event": notification.event,
        "id": notification.pk,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "language": notification.language,
    }
    unread = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True)
    targets = [(user_group(settings.PUBLIC_SCHEMA_NAME, recipient_id), unread.count())]
    if notification.agency_id:
        targets.append(
            (
                user_group(notification.agency.schema_name, recipient_id),
                unread.filter(agency_id=notification.agency_id).count(),
            )
        )
    try:
        for group, count in targets:
            async_to_sync(layer.group_send)(
                group, {"type": "user.event", "payload": {**base, "unread": count}}
            )
    except Exception:  # noqa: BLE001 - a push is best effort; the bell reads the database
        logger.exception("live push failed for notification %s", notification.pk)


def _ses_errors() -> tuple[type[Exception], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return ()
    return (ClientError, BotoCoreError)


def _ses_error(exc: Exception) -> Exception:
    """Amazon SES refusals that retrying cannot fix are permanent; the rest (throttling,
    5xx, connection) are retried."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    permanent = {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "InvalidParameterValue",
        "AccountSendingPausedException",
    }
    reason = f"SES {code or exc.__class__.__name__}: {exc}"[:500]
    if code in permanent:
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(reason)


def _send_email(delivery: Delivery) -> str:
    notification = delivery.notification
    message = EmailMultiAlternatives(
        delivery.subject,
        delivery.body,
        settings.DEFAULT_FROM_EMAIL,
        [delivery.address],
        headers={
            "Message-ID": f"<{notification.idempotency_key.replace(':', '.')}"
            f".{delivery.pk}@muamalat>"
        },
    )
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    try:
        message.send()
    except _ses_errors() as exc:
        raise _ses_error(exc) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"address refused: {exc.recipients}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    return message.extra_headers.get("X-SES-Message-Id") or message.extra_headers["Message-ID"]


def delivery_attempt(*, delivery_id: int, final_attempt: bool = False) -> Delivery | None:
    """Send one delivery once. Safe to repeat: a delivery already sent, delivered or failed is
    left alone (the idempotency guard for retried or re-run jobs).

    The row is locked and marked ``sending`` with the attempt counted, and that is committed
    before the provider is called, so a crash is visible and the next run knows.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("notification")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status in Delivery.FINAL:
            return delivery
        delivery.status = Delivery.SENDING
        delivery.attempts += 1
        delivery.save(update_fields=["status", "attempts", "updated_at"])
    try:
        if delivery.channel == SMS:
            result = get_sms_backend().send(to=delivery.address, body=delivery.body)
            provider_id, segments = result.message_id, result.segments
        elif delivery.channel == EMAIL:
            provider_id, segments = _send_email(delivery), None
        else:
            raise PermanentDeliveryError(f"channel {delivery.channel} is not sent by jobs")
    except TransientDeliveryError as exc:
        _delivery_mark(
            delivery,
            status=Delivery.FAILED if final_attempt else Delivery.QUEUED,
            reason=str(exc)[:500],
        )
        if final_attempt:
            return delivery
        raise
    except PermanentDeliveryError as exc:
        _delivery_mark(delivery, status=Delivery.FAILED, reason=str(exc)[:500])
        return delivery
    except Exception as exc:  # noqa: BLE001 - an unknown failure must not leave it "sending"
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        logger.exception("delivery %s failed unexpectedly", delivery.pk)
        _delivery_mark(
            delivery, status=Delivery.FAILED if final_attempt else Delivery.QUEUED, reason=reason
        )
        if final_attempt:
            return delivery
        raise TransientDeliveryError(reason) from exc
    extra = {}
    if EVENTS.get(delivery.notification.event, Event("", ())).sensitive:
        extra["body"] = "[" + _("removed after sending") + "]"
    _delivery_mark(
        delivery,
        status=Delivery.SENT,
        provider_message_id=provider_id,
        segments=segments,
        reason="",
        **extra,
    )
    return delivery


def _delivery_mark(delivery: Delivery, *, status: str, reason: str = "", **fields) -> None:
    delivery.status = status
    delivery.failure_reason = reason
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.save(update_fields=["status", "failure_reason", "updated_at", *fields])


TWILIO_STATUSES = {
    "accepted": Delivery.SENDING,
    "queued": Delivery.SENDING,
    "sending": Delivery.SENDING,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "undelivered": Delivery.FAILED,
    "failed": Delivery.FAILED,
}


def delivery_status_update(
    *, provider_message_id: str, provider_status: str, error_code: str = "", error_message: str = ""
) -> Delivery | None:
    """Apply a provider's delivery report. Reports may arrive out of order: a delivered or
    failed message never goes back to sent."""
    status = TWILIO_STATUSES.get(provider_status)
    if status is None or not provider_message_id:
        return None
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(provider_message_id=provider_message_id)
            .first()
        )
        if delivery is None:
            return None
        if delivery.status in (Delivery.DELIVERED, Delivery.FAILED) or status == Delivery.SENDING:
            return delivery
        reason = ""
        if status == Delivery.FAILED:
            reason = f"{provider_status} {error_code} {error_message}".strip()[:500]
        _delivery_mark(delivery, status=status, reason=reason)
    return delivery


def notification_mark_read(
    *, user: User, notification_id: int | None = None, agency: Agency | None = None
) -> int:
    """Mark one notification (or all, optionally of one agency) read; returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs.update(read_at=timezone.now())


def preferences_save(*, user: User, choices: dict[str, set[str]]) -> None:
    """Store the channels a person keeps for each configurable event."""
    from notifications.events import configurable_events

    with transaction.atomic():
        for code in configurable_events():
            kept = choices.get(code, set())
            ChannelPreference.objects.update_or_create(
                user=user,
                event=code,
                defaults={channel: channel in kept for channel in (EMAIL, SMS, INAPP)},
            )
