"""SMS through the real ``twilio`` client against a local server that speaks Twilio's Messages API
(tests/notifications/twilio_server.py), and Twilio's signed delivery reports on the webhook."""

import re
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from procrastinate.jobs import Job
from twilio.request_validator import RequestValidator

from accounts.services import mobile_verification_confirm, mobile_verification_send
from notifications import tasks
from notifications.backends.errors import PermanentDeliveryError, TransientDeliveryError
from notifications.backends.sms import TwilioSmsBackend, sms_segments
from notifications.events import EMAIL, INAPP, SMS
from notifications.models import Delivery, Notification
from notifications.services import delivery_attempt, notification_send, preferences_save
from tests.factories import make_beneficiary
from tests.jobs import pending_jobs, render_pending, run_pending_jobs
from tests.notifications.twilio_server import FakeTwilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "5f1c7e0a9b2d4c6e8f0a1b3c5d7e9f21"
FROM_NUMBER = "+15005550006"
SITE_URL = "https://muamalat.example.sa"
STATUS_PATH = "/notifications/twilio/status/"
ARABIC = re.compile(r"[\u0600-\u06FF]")
# 88 Arabic characters: more than one UCS-2 segment (70), less than two (134).
LONG_ARABIC = (
    "مرحبًا بك في منصة معاملات. حسابك جاهز الآن، ويمكنك تقديم طلباتك إلى أي جهة حكومية مسجلة."
)


@pytest.fixture(scope="module")
def twilio_server():
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def twilio(twilio_server, settings):
    twilio_server.reset()
    settings.SMS_BACKEND = "notifications.backends.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = twilio_server.base_url
    settings.TWILIO_TIMEOUT = 5
    settings.SITE_URL = SITE_URL
    settings.TWILIO_STATUS_CALLBACK = SITE_URL + STATUS_PATH
    return twilio_server


def _send_code(user, code="482913") -> Notification:
    _sent = notification_send(recipient=user, event="account.mobile_code", context={"code": code})
    render_pending()
    return _sent


def _sms(notification: Notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel=SMS)


def _requeue_job(job_id: int, *, attempts: int | None = None) -> None:
    """What procrastinate does when it retries a job: back to 'todo', one more attempt."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'todo', "
            "attempts = COALESCE(%s, attempts + 1) WHERE id = %s",
            [attempts, job_id],
        )


def _job_status(job_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])
        return cursor.fetchone()[0]


def _job(attempts: int) -> Job:
    return Job(
        id=1,
        queue="notifications",
        lock=None,
        queueing_lock=None,
        task_name="notifications.deliver",
        attempts=attempts,
    )


# --- sending ---------------------------------------------------------------------------------


def test_arabic_code_goes_through_twilio_as_unicode(twilio, db):
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user, "482913")
    assert run_pending_jobs() == 1

    assert len(twilio.requests) == 1
    request = twilio.requests[0]
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.authorization.startswith("Basic ")
    assert request.basic_credentials() == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.form["To"] == user.mobile
    assert re.fullmatch(r"\+9665\d{8}", request.form["To"])  # E.164
    assert request.form["From"] == FROM_NUMBER
    assert "MessagingServiceSid" not in request.form
    assert request.form["StatusCallback"] == SITE_URL + STATUS_PATH
    with translation.override("ar"):
        expected = gettext("Muamalat verification code: %(code)s") % {"code": "482913"}
    assert request.form["Body"] == expected
    assert ARABIC.search(request.form["Body"])  # Arabic text, sent as Unicode
    assert "482913" in request.form["Body"]

    assert request.status == 201
    message = twilio.messages[0]
    delivery = _sms(notification)
    assert delivery.status == Delivery.SENT
    assert delivery.provider_message_id == message["sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", delivery.provider_message_id)
    assert delivery.attempts == 1
    assert delivery.failure_reason == ""
    assert delivery.segments == int(message["num_segments"]) == sms_segments(expected) == 1
    # a one-time code does not stay in the outbox once it is sent
    assert "482913" not in delivery.body


def test_long_arabic_text_takes_two_segments(twilio, db):
    assert 70 < len(LONG_ARABIC) <= 134
    assert sms_segments(LONG_ARABIC) == 2
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    # the welcome SMS is short (and awaits its translation): stand a long Arabic text in for it
    Delivery.objects.filter(notification=notification, channel=SMS).update(body=LONG_ARABIC)
    run_pending_jobs()

    [request] = twilio.requests
    assert request.form["Body"] == LONG_ARABIC  # every character arrives intact
    assert twilio.messages[0]["num_segments"] == "2"
    delivery = _sms(notification)
    assert delivery.status == Delivery.SENT
    assert delivery.segments == 2
    assert delivery.body == LONG_ARABIC  # not sensitive: kept for the delivery log

    # the backend on its own says the same
    result = TwilioSmsBackend().send(to=user.mobile, body=LONG_ARABIC)
    assert result.segments == 2
    assert result.message_id == twilio.messages[1]["sid"]


@pytest.mark.parametrize(
    "body, segments",
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("[" * 80, 1),  # extension characters count twice
        ("[" * 81, 2),
        ("م" * 70, 1),
        ("م" * 71, 2),
        ("م" * 134, 2),
        ("م" * 135, 3),
        ("a" * 69 + "م", 1),  # one Arabic letter makes the whole message UCS-2
        ("a" * 70 + "م", 2),
    ],
    ids=lambda v: v if isinstance(v, int) else f"{len(v)}x{'ar' if re.search('[م]', v) else v[0]}",
)
def test_sms_segments(body, segments):
    assert sms_segments(body) == segments


def test_messaging_service_segments_are_counted_locally(twilio, db, settings):
    """With a Messaging Service Twilio answers num_segments "0" (no sender picked yet)."""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    Delivery.objects.filter(notification=notification, channel=SMS).update(body=LONG_ARABIC)
    run_pending_jobs()

    [request] = twilio.requests
    assert request.form["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID
    assert "From" not in request.form
    assert twilio.messages[0]["num_segments"] == "0"
    delivery = _sms(notification)
    assert delivery.status == Delivery.SENT
    assert delivery.provider_message_id == twilio.messages[0]["sid"]
    assert delivery.segments == 2


def test_verification_code_through_twilio_verifies_the_mobile(twilio, db):
    user = make_beneficiary(preferred_language="ar", mobile_verified=False)
    mobile_verification_send(user=user)
    run_pending_jobs()
    [request] = twilio.requests
    assert request.form["To"] == user.mobile
    code = re.search(r"\d{6}", request.form["Body"]).group()
    mobile_verification_confirm(user=user, code=code)
    user.refresh_from_db()
    assert user.mobile_verified


# --- provider errors, retries ----------------------------------------------------------------


def test_server_error_is_retried_and_then_succeeds(twilio, db):
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user)
    [job] = pending_jobs("notifications.deliver")
    twilio.fail_next(1, status=500)

    with pytest.raises(TransientDeliveryError) as excinfo:
        run_pending_jobs()
    delivery = _sms(notification)
    assert delivery.status == Delivery.QUEUED
    assert delivery.attempts == 1
    assert "500" in delivery.failure_reason
    assert delivery.provider_message_id == ""
    assert len(twilio.requests) == 1
    assert twilio.messages == []

    # procrastinate's decision for this failure: retry, 2 seconds later
    before = timezone.now()
    retry = tasks.deliver.get_retry_exception(exception=excinfo.value, job=_job(attempts=0))
    assert retry is not None
    wait = (retry.retry_decision.retry_at - before).total_seconds()
    assert 1.5 < wait < 3

    _requeue_job(job["id"])
    assert run_pending_jobs() == 1
    assert len(twilio.requests) == 2
    assert len(twilio.messages) == 1  # exactly one message created
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    assert delivery.attempts == 2
    assert delivery.failure_reason == ""
    assert delivery.provider_message_id == twilio.messages[0]["sid"]


def test_retry_strategy_backs_off_exponentially_up_to_a_maximum():
    assert tasks.deliver.retry_strategy is tasks.DELIVERY_RETRY
    error = TransientDeliveryError("Twilio 503 20500: Service Unavailable")
    waits = []
    for attempts in range(tasks.MAX_ATTEMPTS - 1):
        before = timezone.now()
        decision = tasks.DELIVERY_RETRY.get_retry_decision(exception=error, job=_job(attempts))
        assert decision is not None
        waits.append(round((decision.retry_at - before).total_seconds()))
    assert waits == [2, 4, 8, 16, 32]
    # the last attempt is not retried, and neither is an error no retry can fix
    last = _job(tasks.MAX_ATTEMPTS - 1)
    assert tasks.DELIVERY_RETRY.get_retry_decision(exception=error, job=last) is None
    for exc in (PermanentDeliveryError("21211"), ValueError("bug")):
        assert tasks.DELIVERY_RETRY.get_retry_decision(exception=exc, job=_job(0)) is None


def test_transient_error_on_the_final_attempt_fails_with_reason(twilio, db):
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user)
    [job] = pending_jobs("notifications.deliver")
    # as if procrastinate had already tried it MAX_ATTEMPTS - 1 times
    _requeue_job(job["id"], attempts=tasks.MAX_ATTEMPTS - 1)
    Delivery.objects.filter(pk=_sms(notification).pk).update(attempts=tasks.MAX_ATTEMPTS - 1)
    twilio.fail_next(1, status=503)

    assert run_pending_jobs() == 1  # no exception: nothing left to retry
    delivery = _sms(notification)
    assert delivery.status == Delivery.FAILED
    assert delivery.attempts == tasks.MAX_ATTEMPTS
    assert "503" in delivery.failure_reason
    assert _job_status(job["id"]) == "succeeded"
    assert twilio.messages == []


def test_unreachable_provider_is_transient(twilio, db, settings):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user)
    with pytest.raises(TransientDeliveryError):
        run_pending_jobs()
    delivery = _sms(notification)
    assert delivery.status == Delivery.QUEUED
    assert delivery.attempts == 1
    assert "unreachable" in delivery.failure_reason


def test_invalid_number_fails_at_once_with_the_reason(twilio, db):
    user = make_beneficiary(preferred_language="ar")
    twilio.invalid_numbers.add(user.mobile)
    notification = _send_code(user)
    [job] = pending_jobs("notifications.deliver")

    assert run_pending_jobs() == 1  # does not raise: nothing to retry
    assert _job_status(job["id"]) == "succeeded"
    assert pending_jobs() == []
    delivery = _sms(notification)
    assert delivery.status == Delivery.FAILED
    assert delivery.attempts == 1
    assert "21211" in delivery.failure_reason
    assert "not a valid phone number" in delivery.failure_reason
    assert len(twilio.requests) == 1
    assert twilio.requests[0].status == 400
    assert twilio.messages == []


# --- preferences -----------------------------------------------------------------------------


def test_user_who_turned_sms_off_gets_none_but_codes_still_arrive(twilio, db, mailoutbox):
    user = make_beneficiary(preferred_language="ar")
    preferences_save(user=user, choices={"account.welcome": {EMAIL, INAPP}})
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    assert set(notification.deliveries.values_list("channel", flat=True)) == {EMAIL, INAPP}
    run_pending_jobs()
    assert twilio.requests == []
    assert [m.to for m in mailoutbox] == [[user.email]]

    # a verification code is mandatory: it goes by SMS whatever the preference
    code = _send_code(user)
    run_pending_jobs()
    assert [r.form["To"] for r in twilio.requests] == [user.mobile]
    assert _sms(code).status == Delivery.SENT


# --- idempotency -----------------------------------------------------------------------------


def test_delivering_a_sent_delivery_again_sends_nothing(twilio, db):
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user)
    [job] = pending_jobs("notifications.deliver")
    run_pending_jobs()
    assert len(twilio.messages) == 1
    delivery = _sms(notification)

    _requeue_job(job["id"])  # a re-run of the same job (stalled worker, duplicate pick-up)
    assert run_pending_jobs() == 1
    delivery_attempt(delivery_id=delivery.pk)
    assert len(twilio.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    assert delivery.attempts == 1


# --- status callbacks ------------------------------------------------------------------------


def _sent(twilio) -> tuple[Delivery, dict]:
    user = make_beneficiary(preferred_language="ar")
    notification = _send_code(user)
    run_pending_jobs()
    return _sms(notification), twilio.messages[-1]


def _post(client, params: dict, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
    return client.post(
        STATUS_PATH,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def _signed(params: dict, token: str = AUTH_TOKEN, url: str = SITE_URL + STATUS_PATH) -> str:
    return RequestValidator(token).compute_signature(url, params)


def test_status_callback_marks_delivered_and_late_reports_do_not_downgrade(twilio, client, db):
    delivery, message = _sent(twilio)
    assert message["_status_callback"] == SITE_URL + STATUS_PATH
    assert reverse("notifications:twilio_status") == STATUS_PATH

    params = twilio.status_callback_params(message, "delivered")
    response = _post(client, params, _signed(params))
    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == Delivery.DELIVERED

    for late in ("sent", "queued", "undelivered"):
        params = twilio.status_callback_params(message, late, error_code="30003")
        assert _post(client, params, _signed(params)).status_code == 204
        delivery.refresh_from_db()
        assert delivery.status == Delivery.DELIVERED
        assert delivery.failure_reason == ""


def test_status_callback_sent_then_delivered(twilio, client, db):
    delivery, message = _sent(twilio)
    for status, expected in (("queued", Delivery.SENT), ("sent", Delivery.SENT)):
        params = twilio.status_callback_params(message, status)
        assert _post(client, params, _signed(params)).status_code == 204
        delivery.refresh_from_db()
        assert delivery.status == expected
    params = twilio.status_callback_params(message, "delivered")
    assert _post(client, params, _signed(params)).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == Delivery.DELIVERED


def test_status_callback_undelivered_fails_with_the_error_code(twilio, client, db):
    delivery, message = _sent(twilio)
    params = twilio.status_callback_params(
        message, "undelivered", error_code="30003", ErrorMessage="Unreachable destination handset"
    )
    assert _post(client, params, _signed(params)).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED
    assert "undelivered" in delivery.failure_reason
    assert "30003" in delivery.failure_reason
    # a failed message does not come back to life with a late report
    params = twilio.status_callback_params(message, "delivered")
    assert _post(client, params, _signed(params)).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED


def test_status_callback_without_signature_is_refused(twilio, client, db):
    delivery, message = _sent(twilio)
    params = twilio.status_callback_params(message, "delivered")
    for signature in (None, ""):
        assert _post(client, params, signature).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT


@pytest.mark.parametrize("forgery", ["other token", "tampered params", "other url"])
def test_status_callback_with_forged_signature_is_refused(twilio, client, db, forgery):
    delivery, message = _sent(twilio)
    params = twilio.status_callback_params(message, "delivered")
    if forgery == "other token":
        signature = _signed(params, token="0" * 32)
    elif forgery == "tampered params":
        signature = _signed(params)
        params = {**params, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    else:
        signature = _signed(params, url="https://attacker.example" + STATUS_PATH)
    response = _post(client, params, signature)
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    assert delivery.failure_reason == ""


def test_status_callback_for_an_unknown_message_changes_nothing(twilio, client, db):
    delivery, message = _sent(twilio)
    params = twilio.status_callback_params({**message, "sid": "SM" + "0" * 32}, "failed")
    assert _post(client, params, _signed(params)).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT


def test_status_callback_only_accepts_post(twilio, client, db):
    assert client.get(STATUS_PATH).status_code == 405
