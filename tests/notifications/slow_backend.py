"""Test-only SMS backend for tests/notifications/test_worker.py: the console backend (an
SmsMessage row per message) with pauses, so a worker can be killed at a known point of a job.

The worker subprocess selects it with
SMS_BACKEND=tests.notifications.slow_backend.SlowConsoleBackend and these variables:

SLOW_SMS_BEFORE=<s>      sleep before the message is written: the delivery is committed as
                         ``sending`` (attempt counted) but nothing has been sent yet.
SLOW_SMS_AFTER_SENT=<s>  sleep once the delivery has been committed as ``sent``, before the
                         job returns: the message is out and recorded, but procrastinate has not
                         marked the job succeeded.
SLOW_SMS_EACH=<s>        sleep before every message (keeps jobs in flight long enough for two
                         workers to overlap).
"""

import os
import time

from django.db.models.signals import post_save

from notifications.backends.sms import ConsoleSmsBackend, SmsResult
from notifications.models import Delivery


def _seconds(name: str) -> float:
    return float(os.environ.get(name) or 0)


class SlowConsoleBackend(ConsoleSmsBackend):
    def send(self, *, to: str, body: str) -> SmsResult:
        time.sleep(_seconds("SLOW_SMS_BEFORE") + _seconds("SLOW_SMS_EACH"))
        return super().send(to=to, body=body)


def _pause_after_sent(sender, instance: Delivery, **kwargs) -> None:
    # delivery_attempt marks the delivery outside any transaction (autocommit), so by the time
    # post_save runs the ``sent`` status is committed.
    if instance.status == Delivery.SENT and _seconds("SLOW_SMS_AFTER_SENT"):
        time.sleep(_seconds("SLOW_SMS_AFTER_SENT"))


# Connected when the worker first loads the backend (get_sms_backend imports it on each send).
post_save.connect(_pause_after_sent, sender=Delivery, dispatch_uid="slow-sms-after-sent")
