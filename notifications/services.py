"""Telling people things (R-7): one call records the event and its context in the caller's
transaction; a job renders every channel, records the deliveries and sends them."""

import json
import logging
import smtplib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection, models, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.identity import decrypt_identity, encrypt_identity
from accounts.models import User
from frontend.human import FSI, PDI
from notifications.backends.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.backends.sms import GSM7, get_sms_backend
from notifications.events import EMAIL, EVENTS, INAPP, SMS, Event
from notifications.models import AccountEmail, ChannelPreference, Delivery, Notification
from tenants.models import Agency

logger = logging.getLogger("muamalat.notifications")


def _render(event: str, part: str, context: dict[str, Any]) -> str:
    name = f"notifications/events/{event}/{part}"
    if part.endswith(".html"):
        return render_to_string(name, context).strip()
    # Plain text (subject, SMS, in-app, text email) is not HTML: escaping would put "&amp;" into
    # a subject or an SMS. Pages escape these texts when they show them.
    return get_template(name).template.render(Context(context, autoescape=False)).strip()


def _sms_text(text: str) -> str:
    """An SMS without its isolation marks when they are all that keeps it from GSM-7: Latin
    inside Latin needs no isolation, and the marks would make it UCS-2 (70 characters a
    segment instead of 160). A text with Arabic is UCS-2 anyway and keeps them."""
    bare = text.replace(FSI, "").replace(PDI, "")
    return bare if all(char in GSM7 for char in bare) else text


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
    attachments: list[dict[str, str]] | None = None,
) -> Notification:
    """Record ``event`` for the recipient and defer the job that renders and sends it.

    Runs in the caller's transaction, which is often a business transaction holding row locks,
    so it only writes: the notification (channels decided now, from the preferences; the
    context as JSON, encrypted for a sensitive event) and one ``notifications.render`` job, a
    row of the same transaction (it exists only if the caller commits). The title and in-app
    text, which pages show, are rendered here (two cached templates, no query, no I/O); the
    job renders the email/SMS texts in the recipient's language, writes the deliveries, queues
    their sending and pushes the notification live. A repeated ``idempotency_key`` returns the
    existing notification instead of sending twice. ``attachments`` (``{"name", "mimetype",
    "content"}`` with text content, e.g. an .ics) go with the email only.
    """
    spec = EVENTS.get(event)
    if spec is None:
        raise ValidationError(_("Unknown notification event %(event)s") % {"event": event})
    from notifications import tasks

    key = idempotency_key or f"{event}:{recipient.pk}:{timezone.now().timestamp()}"
    language = recipient.preferred_language or settings.LANGUAGE_CODE
    # Serialised and rendered before the first statement: a context that cannot be stored or a
    # template error fails here, leaving the caller's transaction usable.
    with translation.override(language):
        stored = context_dump(context or {})
        base = _base_context(recipient=recipient, agency=agency, link=link)
        # What stays in clear (title, in-app text) never sees a sensitive event's context.
        clear = base if spec.sensitive else {**base, **(context or {})}
        title = _render(event, "subject.txt", clear)
        inapp = _render(event, "inapp.txt", clear) if INAPP in spec.channels else ""
    if spec.sensitive and stored:
        stored = {SEALED: seal(json.dumps(stored))}
    # No savepoint of its own: inside the caller's transaction every row of it stands or falls
    # with the caller's; outside one, this is the transaction.
    with transaction.atomic(savepoint=False):
        existing = Notification.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        channels = channels_for(recipient=recipient, event=spec, code=event)
        body = inapp if INAPP in channels else ""
        notification = Notification.objects.create(
            recipient=recipient,
            agency=agency,
            event=event,
            language=language,
            title=title,
            body=body,
            link=link,
            idempotency_key=key,
            channels=channels,
            context=stored,
            attachments=attachments_clean(attachments),
            rendered_at=None if channels else timezone.now(),
        )
        if channels:
            tasks.render.defer(notification_id=notification.pk)
    return notification


def attachments_clean(attachments: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Email attachments as stored: a name, a MIME type and text content each."""
    cleaned = []
    for item in attachments or []:
        name, mimetype, content = item.get("name"), item.get("mimetype"), item.get("content")
        if not (isinstance(name, str) and isinstance(mimetype, str) and isinstance(content, str)):
            raise ValueError("an attachment is {name, mimetype, content} with text content")
        cleaned.append({"name": name[:100], "mimetype": mimetype[:100], "content": content})
    return cleaned


def _attach(message: EmailMessage, attachments: list[dict[str, str]]) -> None:
    for item in attachments or []:
        message.attach(item["name"], item["content"], item["mimetype"])


def _base_context(*, recipient: User | None, agency: Agency | None, link: str) -> dict[str, Any]:
    return {"recipient": recipient, "agency": agency, "link": link, "site_url": settings.SITE_URL}


SEALED = "_sealed"
_MODEL, _DATETIME, _DATE, _DECIMAL = "_model", "_datetime", "_date", "_decimal"


def context_dump(value: Any) -> Any:
    """A notification context as JSON: plain values as they are, dates and decimals tagged,
    model instances by reference (``{"_model": "app.Model", "pk": n, "schema": s}``, resolved
    by the job in that schema), lazy translations in the active language (the recipient's).
    Anything else is refused, so nothing is pickled or silently turned into its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str) or name.startswith("_"):
                raise TypeError(f"notification context key {name!r}: a string not starting with _")
        return {name: context_dump(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [context_dump(item) for item in value]
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    if isinstance(value, models.Model):
        if value.pk is None:
            raise TypeError(f"notification context: unsaved {value._meta.label} instance")
        return {_MODEL: value._meta.label, "pk": value.pk, "schema": connection.schema_name}
    raise TypeError(f"notification context cannot hold {type(value).__name__}")


def context_load(value: Any) -> Any:
    """The inverse of ``context_dump``; model references are fetched in their schema (one
    query each; a row deleted since becomes None)."""
    if isinstance(value, list):
        return [context_load(item) for item in value]
    if not isinstance(value, dict):
        return value
    if _MODEL in value:
        model = apps.get_model(value[_MODEL])
        with schema_context(value.get("schema") or settings.PUBLIC_SCHEMA_NAME):
            return model._default_manager.filter(pk=value["pk"]).first()
    if _DATETIME in value:
        return datetime.fromisoformat(value[_DATETIME])
    if _DATE in value:
        return date.fromisoformat(value[_DATE])
    if _DECIMAL in value:
        return Decimal(value[_DECIMAL])
    return {name: context_load(item) for name, item in value.items()}


def notification_render(*, notification_id: int, queue: str | None = None) -> Notification | None:
    """The job's half of ``notification_send``: render the email/SMS texts in the
    notification's language from its stored context, write one delivery per channel (a
    sensitive event's texts sealed, its stored context emptied), queue each email/SMS
    delivery's sending and, after commit, push the notification live. Runs once: the row is
    locked and a rendered notification is left alone (a retried or re-run job). ``queue``: where
    the delivery jobs go (the rendering job's own queue; default, the task's)."""
    from notifications import tasks

    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient", "agency")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.rendered_at is not None:
            return notification
        event, recipient = notification.event, notification.recipient
        spec = EVENTS.get(event, Event("", ()))
        stored = notification.context or {}
        if SEALED in stored:
            stored = json.loads(unseal(stored[SEALED]))
        with translation.override(notification.language):
            ctx = {
                **_base_context(
                    recipient=recipient, agency=notification.agency, link=notification.link
                ),
                **context_load(stored),
            }
            deliveries = []
            for channel in notification.channels:
                delivery = Delivery(notification=notification, channel=channel)
                if channel == EMAIL:
                    delivery.address = recipient.email or ""
                    delivery.subject = notification.title
                    delivery.body = _render(event, "email.txt", ctx)
                    delivery.html = _render(event, "email.html", ctx)
                elif channel == SMS:
                    delivery.address = recipient.mobile or ""
                    delivery.body = _sms_text(_render(event, "sms.txt", ctx))
                else:
                    delivery.address = f"user:{recipient.pk}"
                    delivery.body = notification.body
                    delivery.status = Delivery.SENT
                if spec.sensitive and channel in (EMAIL, SMS):
                    delivery.body, delivery.html = seal(delivery.body), seal(delivery.html)
                    delivery.sealed = True
                deliveries.append(delivery)
        Delivery.objects.bulk_create(deliveries)
        notification.rendered_at = timezone.now()
        fields = ["rendered_at"]
        if spec.sensitive:
            notification.context = {}
            fields.append("context")
        notification.save(update_fields=fields)
        deliver = tasks.deliver.configure(queue=queue).defer if queue else tasks.deliver.defer
        for delivery in deliveries:
            if delivery.channel in (EMAIL, SMS):
                deliver(delivery_id=delivery.pk)
        if INAPP in notification.channels:
            transaction.on_commit(lambda: notification_push(notification=notification))
    return notification


def notification_push(*, notification: Notification) -> None:
    """Push the in-app notification to the recipient's open pages (after commit). A workspace
    page gets it with that agency's unread count; the portal's pages get it as
    ``user.notification``, which each socket filters and counts for its own session (an
    agency's notification is withheld where the session does not meet its two-factor
    requirement: portal.consumers)."""
    from core.realtime import user_group

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
    messages = [
        (
            user_group(settings.PUBLIC_SCHEMA_NAME, recipient_id),
            {"type": "user.notification", "agency_id": notification.agency_id, "payload": base},
        )
    ]
    if notification.agency_id:
        unread = Notification.objects.filter(
            recipient_id=recipient_id, read_at__isnull=True, agency_id=notification.agency_id
        )
        messages.append(
            (
                user_group(notification.agency.schema_name, recipient_id),
                {"type": "user.event", "payload": {**base, "unread": unread.count()}},
            )
        )
    try:
        for group, message in messages:
            async_to_sync(layer.group_send)(group, message)
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


def _email_send(message: EmailMultiAlternatives) -> str:
    """Send one email; returns the provider's id. Refusals are classified as in
    ``delivery_attempt``: a refused address is permanent, server/connection errors transient."""
    try:
        message.send()
    except _ses_errors() as exc:
        raise _ses_error(exc) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"address refused: {exc.recipients}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    return message.extra_headers.get("X-SES-Message-Id") or message.extra_headers["Message-ID"]


def _send_email(delivery: Delivery, body: str, html: str) -> str:
    notification = delivery.notification
    message = EmailMultiAlternatives(
        delivery.subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [delivery.address],
        headers={
            "Message-ID": f"<{notification.idempotency_key.replace(':', '.')}"
            f".{delivery.pk}@muamalat>"
        },
    )
    if html:
        message.attach_alternative(html, "text/html")
    _attach(message, notification.attachments)
    return _email_send(message)


def seal(text: str) -> str:
    """Encrypt an outbox text holding a secret (Fernet under FIELD_ENCRYPTION_KEY, the key of
    the identity numbers): readable only by the application, not by whoever reads the table."""
    return encrypt_identity(text) if text else ""


def unseal(text: str) -> str:
    return decrypt_identity(text) if text else ""


def _removed(*, sent: bool) -> str:
    """What a secret text becomes once sent (or given up on): a placeholder saying so."""
    if sent:
        return "[" + _("removed after sending") + "]"
    return "[" + _("removed: not sent") + "]"


def _outbox_attempt(
    *, model, pk: int, final_attempt: bool, send, scrub, related: tuple[str, ...] = ()
):
    """Send one outbox row (a Delivery or an AccountEmail) once; shared by both jobs.

    The row is locked and marked ``sending`` with the attempt counted, and that is committed
    before the provider is called, so a crash is visible and the next run knows. A row already
    sent, delivered or failed is left alone (the guard for retried or re-run jobs).
    ``send(row)`` returns the fields to record on success; ``scrub(row, sent=…)`` the fields that
    replace its secret texts once it is sent or finally failed (empty: nothing to remove).
    """
    with transaction.atomic():
        row = model.objects.select_for_update().select_related(*related).filter(pk=pk).first()
        if row is None or row.status in Delivery.FINAL:
            return row
        row.status = Delivery.SENDING
        row.attempts += 1
        row.save(update_fields=["status", "attempts", "updated_at"])
    try:
        result = send(row)
    except TransientDeliveryError as exc:
        if final_attempt:
            _delivery_mark(row, status=Delivery.FAILED, reason=str(exc)[:500], **scrub(row, False))
            return row
        _delivery_mark(row, status=Delivery.QUEUED, reason=str(exc)[:500])
        raise
    except PermanentDeliveryError as exc:
        _delivery_mark(row, status=Delivery.FAILED, reason=str(exc)[:500], **scrub(row, False))
        return row
    except Exception as exc:  # noqa: BLE001 - an unknown failure must not leave it "sending"
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        logger.exception("%s %s failed unexpectedly", model._meta.model_name, row.pk)
        if final_attempt:
            _delivery_mark(row, status=Delivery.FAILED, reason=reason, **scrub(row, False))
            return row
        _delivery_mark(row, status=Delivery.QUEUED, reason=reason)
        raise TransientDeliveryError(reason) from exc
    _delivery_mark(row, status=Delivery.SENT, reason="", **result, **scrub(row, True))
    return row


def _delivery_send(delivery: Delivery) -> dict[str, Any]:
    body, html = delivery.body, delivery.html
    if delivery.sealed:
        body, html = unseal(body), unseal(html)
    if delivery.channel == SMS:
        result = get_sms_backend().send(to=delivery.address, body=body)
        return {"provider_message_id": result.message_id, "segments": result.segments}
    if delivery.channel == EMAIL:
        return {"provider_message_id": _send_email(delivery, body, html), "segments": None}
    raise PermanentDeliveryError(f"channel {delivery.channel} is not sent by jobs")


def _delivery_scrub(delivery: Delivery, sent: bool) -> dict[str, Any]:
    if not (delivery.sealed or EVENTS.get(delivery.notification.event, Event("", ())).sensitive):
        return {}
    return {"body": _removed(sent=sent), "html": "", "sealed": False}


def delivery_attempt(*, delivery_id: int, final_attempt: bool = False) -> Delivery | None:
    """Send one delivery once (see ``_outbox_attempt``). A sensitive event's texts are
    decrypted only to hand them to the provider, and removed once sent or finally failed."""
    return _outbox_attempt(
        model=Delivery,
        pk=delivery_id,
        final_attempt=final_attempt,
        send=_delivery_send,
        scrub=_delivery_scrub,
        related=("notification",),
    )


def address_email_send(
    *,
    address: str,
    event: str,
    context: dict[str, Any],
    agency: Agency | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> AccountEmail:
    """Email one event's message to an address that belongs to no verified account (e.g. an
    invitation whose address an unconfirmed account merely claims): no notification row, no
    in-app note to that account; the texts go through the encrypted account-email outbox.
    Rendered in the platform's default language, since the reader is not known yet."""
    if event not in EVENTS:
        raise ValidationError(_("Unknown notification event %(event)s") % {"event": event})
    with translation.override(settings.LANGUAGE_CODE):
        ctx = {"recipient": None, "agency": agency, "link": "", "site_url": settings.SITE_URL}
        ctx.update(context)
        message = EmailMultiAlternatives(
            _render(event, "subject.txt", ctx),
            _render(event, "email.txt", ctx),
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
        message.attach_alternative(_render(event, "email.html", ctx), "text/html")
    return account_email_queue(message, attachments=attachments)


def account_email_queue(
    message: EmailMessage, *, attachments: list[dict[str, str]] | None = None
) -> AccountEmail:
    """Queue an account email rendered by allauth (password reset, email confirmation, sign-in
    code…): its texts are stored encrypted and the job carries only the row's id, so neither
    the job table nor the worker's log lines ever hold the link or code."""
    from notifications import tasks

    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    if message.content_subtype == "html":
        html, body = message.body, ""
    else:
        body = message.body
    with transaction.atomic():
        email = AccountEmail.objects.create(
            to=list(message.to),
            from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
            subject=str(message.subject)[:255],
            body=seal(body),
            html=seal(html),
            headers={str(k): str(v) for k, v in message.extra_headers.items()},
            attachments=attachments_clean(attachments),
        )
        tasks.send_account_email.defer(email_id=email.pk)
    return email


def _account_email_send(email: AccountEmail) -> dict[str, Any]:
    headers = {"Message-ID": f"<account.{email.pk}@muamalat>", **email.headers}
    message = EmailMultiAlternatives(
        email.subject, unseal(email.body), email.from_email, email.to, headers=headers
    )
    html = unseal(email.html)
    if html:
        message.attach_alternative(html, "text/html")
    _attach(message, email.attachments)
    _email_send(message)
    return {}


def account_email_attempt(*, email_id: int, final_attempt: bool = False) -> AccountEmail | None:
    """Send one queued account email once; its texts are removed once sent or finally failed."""
    return _outbox_attempt(
        model=AccountEmail,
        pk=email_id,
        final_attempt=final_attempt,
        send=_account_email_send,
        scrub=lambda email, sent: {"body": _removed(sent=sent), "html": ""},
    )


def _delivery_mark(delivery, *, status: str, reason: str = "", **fields) -> None:
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
    *,
    user: User,
    notification_id: int | None = None,
    agency: Agency | None = None,
    session=None,
) -> int:
    """Mark one notification (or all, optionally of one agency) read; returns how many. Only
    those the session may read (an agency's withheld ones stay unread for when it may)."""
    from notifications.selectors import visible_notifications

    qs = visible_notifications(user=user, agency=agency, session=session).filter(
        read_at__isnull=True
    )
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
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
