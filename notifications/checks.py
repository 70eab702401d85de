"""Deployment checks of the notifications layer (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks

CONSOLE_EMAIL = {
    "notifications.backends.email.ConsoleEmailBackend",
    "django.core.mail.backends.console.EmailBackend",
}
CONSOLE_SMS = "notifications.backends.sms.ConsoleSmsBackend"


@checks.register(checks.Tags.security, deploy=True)
def console_backends(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The console backends are development's delivery: they write whole messages (password
    reset and invitation links, sign-in and mobile codes) to the process output and the log.
    A deployment sends through a real provider, whose backends never log a message's text."""
    found = []
    if settings.EMAIL_BACKEND in CONSOLE_EMAIL:
        found.append(
            checks.Warning(
                "EMAIL_BACKEND is the console backend: emails, with their password-reset and "
                "invitation links, are written to the server's output (and the ConsoleEmail "
                "table) instead of being sent.",
                hint="Set EMAIL_BACKEND to the SMTP or SES backend.",
                id="notifications.W001",
            )
        )
    if getattr(settings, "SMS_BACKEND", CONSOLE_SMS) == CONSOLE_SMS:
        found.append(
            checks.Warning(
                "SMS_BACKEND is the console backend: SMS, with their verification codes, are "
                "written to the log and the SmsMessage table instead of being sent.",
                hint="Set SMS_BACKEND=notifications.backends.sms.TwilioSmsBackend.",
                id="notifications.W002",
            )
        )
    return found
