"""Email through Django's SMTP backend to a real SMTP server on localhost (aiosmtpd)."""

import email
import email.policy
import json
import re
import socket
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from frontend.human import isolate
from notifications.backends.errors import TransientDeliveryError
from notifications.events import EMAIL
from notifications.models import Delivery
from notifications.services import notification_send
from tests.factories import make_beneficiary
from tests.jobs import pending_jobs, render_pending, run_pending_jobs

ARABIC = re.compile(r"[\u0600-\u06FF]")
SITE_URL = "https://muamalat.example.sa"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every accepted envelope; can refuse recipients or defer data."""

    def __init__(self):
        self.envelopes = []
        self.refused: set[str] = set()
        self.defer_data = 0

    def reset(self):
        self.envelopes.clear()
        self.refused.clear()
        self.defer_data = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.defer_data:
            self.defer_data -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.envelopes.append(envelope)
        return "250 2.0.0 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    controller, mailbox = smtp_server
    mailbox.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = SITE_URL
    return mailbox


def _parts(envelope):
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    raw = email.message_from_bytes(envelope.content)  # compat32: headers as sent on the wire
    parts = {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}
    return message, raw, parts


def _args(job: dict) -> dict:
    raw = job["args"]
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def _email_delivery(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel=EMAIL)


def test_arabic_invitation_arrives_as_rtl_multipart(smtp, agency_a, db):
    user = make_beneficiary(preferred_language="ar")
    action_url = f"{SITE_URL}/a/{agency_a.slug}/"
    notification = notification_send(
        recipient=user,
        event="staff.invited",
        agency=agency_a,
        context={"new_account": False, "action_url": action_url},
        link=f"/a/{agency_a.slug}/",
    )
    render_pending()
    run_pending_jobs()

    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == [user.email]
    assert envelope.mail_from == "no-reply@muamalat.local"
    message, raw, parts = _parts(envelope)
    assert message.get_content_type() == "multipart/alternative"
    assert set(parts) == {"text/plain", "text/html"}

    with translation.override("ar"):
        subject = gettext("You are invited to %(agency)s on Muamalat") % {
            "agency": isolate(agency_a.name_ar)
        }
        sentence = gettext("You are invited to join %(agency)s on Muamalat as an employee.") % {
            "agency": isolate(agency_a.name_ar)
        }
    assert ARABIC.search(subject)  # already translated in locale/ar
    assert raw["Subject"].strip().startswith("=?utf-8?")  # MIME-encoded on the wire
    assert str(make_header(decode_header(raw["Subject"]))).strip() == subject
    # Python's compat32 generator folds a long encoded subject right after "Subject:"; the fold's
    # whitespace is not part of the text.
    assert message["Subject"].strip() == subject

    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    assert sentence in text
    assert action_url in text
    assert 'dir="rtl"' in html
    assert 'lang="ar"' in html
    assert sentence in html
    assert f'href="{action_url}"' in html

    delivery = _email_delivery(notification)
    assert delivery.status == Delivery.SENT
    assert delivery.attempts == 1
    assert delivery.provider_message_id == message["Message-ID"]


def test_english_welcome_arrives_in_english_ltr(smtp, db):
    user = make_beneficiary(preferred_language="en")
    notification = notification_send(recipient=user, event="account.welcome", link="/")
    render_pending()
    run_pending_jobs()

    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == [user.email]
    message, raw, parts = _parts(envelope)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Welcome to Muamalat"
    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    assert f"Welcome, {isolate('Mohammed Ali Alharbi')}." in text
    assert f"{SITE_URL}/" in text
    assert not ARABIC.search(text)
    assert 'dir="ltr"' in html
    assert 'lang="en"' in html
    assert f"Welcome, {isolate('Mohammed Ali Alharbi')}." in html
    assert _email_delivery(notification).status == Delivery.SENT


def test_smtp_server_down_is_transient_and_kept_queued(smtp, db, settings):
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    with pytest.raises(TransientDeliveryError):
        run_pending_jobs("notifications.deliver")
    delivery = _email_delivery(notification)
    assert delivery.status == Delivery.QUEUED
    assert delivery.attempts == 1
    assert "ConnectionRefused" in delivery.failure_reason
    assert smtp.envelopes == []


def test_temporary_smtp_refusal_is_retried_then_delivered(smtp, db):
    user = make_beneficiary(preferred_language="en")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    email_id = _email_delivery(notification).pk
    [job] = [
        j for j in pending_jobs("notifications.deliver") if _args(j) == {"delivery_id": email_id}
    ]
    smtp.defer_data = 1
    with pytest.raises(TransientDeliveryError):
        run_pending_jobs("notifications.deliver")
    delivery = _email_delivery(notification)
    assert delivery.status == Delivery.QUEUED
    assert "451" in delivery.failure_reason

    with connection.cursor() as cursor:  # procrastinate's retry: back to 'todo'
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'todo', attempts = attempts + 1 WHERE id = %s",
            [job["id"]],
        )
    run_pending_jobs("notifications.deliver")
    assert len(smtp.envelopes) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    assert delivery.attempts == 2
    assert delivery.failure_reason == ""


def test_refused_recipient_fails_with_reason(smtp, db):
    user = make_beneficiary(preferred_language="ar")
    smtp.refused.add(user.email)
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    run_pending_jobs()  # no exception: a refused address is not retried
    delivery = _email_delivery(notification)
    assert delivery.status == Delivery.FAILED
    assert delivery.attempts == 1
    assert "550" in delivery.failure_reason
    assert user.email in delivery.failure_reason
    assert smtp.envelopes == []
    assert pending_jobs() == []
