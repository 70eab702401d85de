"""SMS backends. The default writes to the database outbox and the log; Twilio in production.

Select with the ``SMS_BACKEND`` setting. A backend's ``send`` returns the provider's id and the
segment count, or raises TransientDeliveryError / PermanentDeliveryError.
"""

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.backends.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.backends.outbox import outbox_trim

logger = logging.getLogger("muamalat.sms")

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def sms_segments(body: str) -> int:
    """Segments a message takes: GSM-7 160/153 characters, UCS-2 (Arabic) 70/67."""
    if all(char in GSM7 for char in body):
        single, multi = 160, 153
        length = sum(2 if char in "^{}\\[~]|€" else 1 for char in body)
    else:
        single, multi = 70, 67
        length = sum(2 if ord(char) > 0xFFFF else 1 for char in body)
    if length <= single:
        return 1
    return -(-length // multi)


@dataclass
class SmsResult:
    message_id: str
    segments: int
    status: str = "sent"


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> SmsResult: ...


class ConsoleSmsBackend:
    """Writes the message to the SmsMessage outbox and the log (development and tests); the
    outbox keeps its newest CONSOLE_OUTBOX_KEEP messages (the developer outbox page lists them)."""

    def send(self, *, to: str, body: str) -> SmsResult:
        from accounts.models import SmsMessage

        message = SmsMessage.objects.create(to=to, body=body)
        outbox_trim(SmsMessage, message.pk)
        logger.info("SMS to %s: %s", to, body)
        return SmsResult(message_id=f"local-{message.pk}", segments=sms_segments(body))


def _twilio_http_client(base_url: str | None):
    """Twilio's HTTP client, optionally pointed at another host (a local test server)."""
    from twilio.http.http_client import TwilioHttpClient

    if not base_url:
        return TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT)

    target = urlsplit(base_url)

    class RedirectingHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            parts = urlsplit(url)
            url = urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
            return super().request(method, url, *args, **kwargs)

    return RedirectingHttpClient(timeout=settings.TWILIO_TIMEOUT)


class TwilioSmsBackend:
    """Sends through Twilio's Messages API with the official client. Arabic goes as Unicode
    (Twilio picks UCS-2); delivery reports come back to the status webhook."""

    # Twilio error codes that no retry can fix (invalid/unreachable/unsubscribed numbers).
    PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614, 21606, 21660}

    def __init__(self):
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=_twilio_http_client(settings.TWILIO_API_BASE_URL),
        )

    def send(self, *, to: str, body: str) -> SmsResult:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        params = {"to": to, "body": body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = settings.TWILIO_FROM_NUMBER
        if settings.TWILIO_STATUS_CALLBACK:
            params["status_callback"] = settings.TWILIO_STATUS_CALLBACK
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            reason = f"Twilio {exc.status} {exc.code or ''}: {exc.msg}".strip()
            if exc.status >= 500 or exc.status == 429:
                raise TransientDeliveryError(reason) from exc
            raise PermanentDeliveryError(reason) from exc
        except (requests.exceptions.RequestException, TwilioException) as exc:
            raise TransientDeliveryError(f"Twilio unreachable: {exc.__class__.__name__}") from exc
        # Through a Messaging Service Twilio answers num_segments "0" until a sender is picked.
        segments = int(message.num_segments or 0) or sms_segments(body)
        return SmsResult(message_id=message.sid, segments=segments, status=message.status or "")


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
