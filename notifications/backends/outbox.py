"""The console backends' outboxes (accounts.SmsMessage, notifications.ConsoleEmail): what
development's delivery would have sent, read by the developer outbox page (DEBUG only).

Each keeps only its newest ``CONSOLE_OUTBOX_KEEP`` rows: after a write, the rows that many ids
behind it go, in one indexed DELETE (ids only grow; gaps left by rolled-back inserts make it keep
a few less)."""

from django.conf import settings
from django.db import models


def outbox_trim(model: type[models.Model], newest_pk: int) -> None:
    keep = settings.CONSOLE_OUTBOX_KEEP
    if newest_pk > keep:
        model.objects.filter(pk__lte=newest_pk - keep).delete()
