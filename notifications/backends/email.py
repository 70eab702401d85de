"""Email goes through Django's email backends (console by default, SMTP via settings).
``SesEmailBackend`` sends through Amazon SES with boto3 when ``EMAIL_BACKEND`` names it;
``ConsoleEmailBackend`` (the default) prints like Django's and keeps a bounded outbox for the
developer outbox page."""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend
from django.utils.html import strip_tags

from notifications.backends.outbox import outbox_trim


class ConsoleEmailBackend(DjangoConsoleBackend):
    """Development's delivery: prints each message (Django's console backend) and keeps it in
    the ConsoleEmail outbox, which the developer outbox page lists (DEBUG only)."""

    def send_messages(self, email_messages):
        from notifications.models import ConsoleEmail

        sent = super().send_messages(email_messages)
        if not sent:
            return sent
        newest = None
        for message in email_messages:
            if not message.recipients():
                continue
            body = message.body or ""
            if not body.strip():
                html = [
                    c for c, kind in getattr(message, "alternatives", []) if kind == "text/html"
                ]
                body = strip_tags(html[0]) if html else ""
            newest = ConsoleEmail.objects.create(
                to=", ".join(message.recipients())[:1000],
                subject=(message.subject or "")[:255],
                body=body,
            )
        if newest is not None:
            outbox_trim(ConsoleEmail, newest.pk)
        return sent


class SesEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently, **kwargs)
        import boto3

        self.client = boto3.client(
            "ses",
            region_name=settings.AWS_SES_REGION,
            endpoint_url=settings.AWS_SES_ENDPOINT_URL or None,
        )

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages:
            response = self.client.send_raw_email(
                Source=message.from_email,
                Destinations=message.recipients(),
                RawMessage={"Data": message.message().as_bytes(linesep="\r\n")},
            )
            message.extra_headers["X-SES-Message-Id"] = response["MessageId"]
            sent += 1
        return sent
