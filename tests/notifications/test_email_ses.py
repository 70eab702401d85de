"""The SES email option, with boto3 against moto's server over HTTP (no internet)."""

import os
import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

from notifications.models import Delivery
from notifications.services import notification_send
from tests.factories import make_beneficiary
from tests.jobs import render_pending, run_pending_jobs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ses_server(settings, monkeypatch):
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    settings.EMAIL_BACKEND = "notifications.backends.email.SesEmailBackend"
    settings.AWS_SES_ENDPOINT_URL = endpoint
    settings.AWS_SES_REGION = "us-east-1"
    settings.DEFAULT_FROM_EMAIL = "no-reply@muamalat.example"
    client = boto3.client("ses", region_name="us-east-1", endpoint_url=endpoint)
    client.verify_email_identity(EmailAddress="no-reply@muamalat.example")
    yield client
    server.stop()


def test_email_goes_through_ses(db, ses_server):
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    before = ses_server.get_send_quota()["SentLast24Hours"]
    user = make_beneficiary(preferred_language="ar")
    notification_send(recipient=user, event="account.welcome", idempotency_key="ses-1")
    render_pending()
    run_pending_jobs()
    delivery = Delivery.objects.get(notification__idempotency_key="ses-1", channel="email")
    assert delivery.status == Delivery.SENT, delivery.failure_reason
    assert ses_server.get_send_quota()["SentLast24Hours"] > before
    # the provider's message id is recorded
    assert delivery.provider_message_id and "@muamalat" not in delivery.provider_message_id


def test_ses_refusal_is_reported(db, ses_server, settings):
    settings.DEFAULT_FROM_EMAIL = "unverified@elsewhere.example"  # SES refuses this sender
    user = make_beneficiary()
    notification_send(recipient=user, event="account.welcome", idempotency_key="ses-2")
    render_pending()
    run_pending_jobs(raise_errors=False)
    delivery = Delivery.objects.get(notification__idempotency_key="ses-2", channel="email")
    assert delivery.status == Delivery.FAILED  # SES's MessageRejected: retrying cannot help
    assert "MessageRejected" in delivery.failure_reason


class ExplodingSmsBackend:
    def send(self, *, to: str, body: str):
        raise RuntimeError("provider library bug")


def test_unexpected_provider_error_is_retried_not_stuck(db, settings):
    from notifications.backends.errors import TransientDeliveryError
    from notifications.services import delivery_attempt

    settings.SMS_BACKEND = "tests.notifications.test_email_ses.ExplodingSmsBackend"
    user = make_beneficiary()
    notification_send(
        recipient=user,
        event="account.mobile_code",
        context={"code": "123456"},
        idempotency_key="boom-1",
    )
    render_pending()
    delivery = Delivery.objects.get(notification__idempotency_key="boom-1", channel="sms")
    with pytest.raises(TransientDeliveryError):
        delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.QUEUED and "provider library bug" in delivery.failure_reason
    delivery_attempt(delivery_id=delivery.pk, final_attempt=True)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED and delivery.attempts == 2
