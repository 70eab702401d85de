"""Email goes through Django's email backends (console by default, SMTP via settings).
``SesEmailBackend`` sends through Amazon SES with boto3 when ``EMAIL_BACKEND`` names it."""

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


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
