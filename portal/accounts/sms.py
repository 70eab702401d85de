"""SMS backend interface. The default writes to the database outbox and the console; the
Twilio backend arrives with the notifications layer and is selected by ``SMS_BACKEND``."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("muamalat.sms")


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> str:
        """Send one message; return the provider's message id."""


class DatabaseConsoleSmsBackend:
    def send(self, *, to: str, body: str) -> str:
        from portal.accounts.models import SmsMessage

        message = SmsMessage.objects.create(to=to, body=body)
        logger.info("SMS to %s: %s", to, body)
        return f"local-{message.pk}"


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
