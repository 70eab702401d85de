"""No secret link or code stays readable anywhere but in the message actually delivered (issue 10,
point 5): not in the outbox rows (deliveries, notifications, account emails), not in the jobs'
arguments (procrastinate_jobs.args, also once the job ran), not in a log record.

The jobs run in-process here (tests.jobs); tests/notifications/test_worker.py has the real worker
variant, whose log lines (procrastinate logs each job's arguments) are checked too.
"""

import json
import logging
import re
import smtplib

import pytest
from allauth.account.models import EmailAddress
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import User
from notifications import tasks
from notifications.events import EMAIL, EVENTS, INAPP
from notifications.models import AccountEmail, Delivery, Notification
from notifications.services import notification_send, unseal
from tenants.services import employee_invite
from tests.factories import make_beneficiary, make_employee
from tests.jobs import pending_jobs, render_pending, run_pending_jobs

NEW_PASSWORD = "Another-Strong-Pass-77"
INVITATION = re.compile(r"http://[^\s\"<]+/accounts/invitation/([^/\s]+)/([^/\s?\"<]+)/[^\s\"<]*")
RESET = re.compile(r"/accounts/password/reset/key/([^/\s]+)/")
CONFIRM = re.compile(r"/accounts/confirm-email/([^/\s]+)/")


def stored_texts() -> dict[str, str]:
    """Everything the outbox and the job queue keep, as text, per place."""
    places = {
        "notifications_delivery": "SELECT subject || body || html FROM notifications_delivery",
        "notifications_notification": (
            "SELECT title || body || link || context::text FROM notifications_notification"
        ),
        "notifications_accountemail": (
            "SELECT subject || body || html || headers::text FROM notifications_accountemail"
        ),
        "procrastinate_jobs": "SELECT args::text FROM procrastinate_jobs",
    }
    texts = {}
    with connection.cursor() as cursor:
        cursor.execute("SET search_path TO public")
        for name, sql in places.items():
            cursor.execute(sql)
            texts[name] = "\n".join(row[0] or "" for row in cursor.fetchall())
    return texts


def args_of(job: dict) -> dict:
    return json.loads(job["args"]) if isinstance(job["args"], str) else job["args"]


def logged_text(caplog) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)


def assert_nowhere(secret: str, caplog) -> None:
    assert len(secret) >= 10
    leaks = [name for name, text in stored_texts().items() if secret in text]
    assert leaks == [], f"{secret!r} readable in {leaks}"
    assert secret not in logged_text(caplog)


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("procrastinate", "procrastinate.worker", "procrastinate.jobs", "muamalat"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_staff_invitation_is_sensitive():
    assert EVENTS["staff.invited"].sensitive


def test_invitation_link_only_in_the_delivered_email(client, agency_a, mailoutbox, debug_logs):
    inviter = make_employee(agency_a, roles=("admin",))
    run_pending_jobs()  # the inviter's own invitation: only the one under test stays queued
    mailoutbox.clear()
    with schema_context(agency_a.schema_name):
        employee_invite(agency=agency_a, email="secret.invitee@example.sa", actor=inviter)
    # recorded, not yet rendered: the stored context (with the link) is encrypted
    assert "/accounts/invitation/" not in str(stored_texts())
    assert [args_of(job)["notification_id"] for job in pending_jobs("notifications.render")]
    render_pending()
    user = User.objects.get(email="secret.invitee@example.sa")
    notification = Notification.objects.get(recipient=user, event="staff.invited")
    email = Delivery.objects.get(notification=notification, channel=EMAIL)
    # queued, not yet sent: encrypted, so no set-password link in clear
    assert email.status == Delivery.QUEUED and email.sealed
    assert "/accounts/invitation/" not in email.body + email.html
    queued_link = INVITATION.search(unseal(email.body)).group()
    assert "/accounts/invitation/" not in str(stored_texts())
    assert [args_of(job) for job in pending_jobs("notifications.deliver")] == [
        {"delivery_id": email.pk}
    ]

    assert run_pending_jobs() >= 1
    (message,) = [m for m in mailoutbox if m.to == [user.email]]
    link = INVITATION.search(message.body).group()
    assert link == queued_link
    assert link in message.alternatives[0][0]  # the HTML part has it as well
    token = INVITATION.search(message.body).group(2)
    assert_nowhere(link, debug_logs)
    assert_nowhere(token, debug_logs)
    # the in-app notification says it, without any link with a token
    assert notification.body and INAPP in EVENTS["staff.invited"].channels
    assert "/accounts/" not in notification.body + notification.link + notification.title
    email.refresh_from_db()
    assert email.status == Delivery.SENT and not email.sealed
    assert re.fullmatch(r"\[.+\]", email.body) and email.html == ""
    # and the delivered link works (sets the password once)
    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_link_only_in_the_delivered_email(client, db, mailoutbox, debug_logs):
    user = make_beneficiary()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    queued = AccountEmail.objects.get(to=[user.email])
    assert queued.status == Delivery.QUEUED
    assert "/accounts/password/reset/key/" not in queued.body + queued.html
    assert RESET.search(unseal(queued.body))  # encrypted, not lost
    assert "/accounts/password/reset/key/" not in str(stored_texts())
    jobs = pending_jobs("notifications.send_account_email")
    assert [args_of(job) for job in jobs] == [{"email_id": queued.pk}]
    assert not pending_jobs("notifications.send_email")

    assert run_pending_jobs() == 1
    (message,) = [m for m in mailoutbox if m.to == [user.email]]
    link = RESET.search(message.body).group()
    key = RESET.search(message.body).group(1)
    assert_nowhere(link, debug_logs)
    assert_nowhere(key, debug_logs)
    queued.refresh_from_db()
    assert queued.status == Delivery.SENT
    assert re.fullmatch(r"\[.+\]", queued.body) and queued.html == ""
    # the delivered link works
    response = client.get(link, follow=True)
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_email_confirmation_link_only_in_the_delivered_email(client, db, mailoutbox, debug_logs):
    from tests.accounts.signup import sign_up, signup_data

    # an address of its own: allauth rate-limits confirmation emails per address (in the cache)
    sign_up(client, signup_data(email="confirm.secret@example.sa"))
    address = EmailAddress.objects.get(email="confirm.secret@example.sa")
    assert "/accounts/confirm-email/" not in str(stored_texts())
    run_pending_jobs()
    message = next(m for m in mailoutbox if CONFIRM.search(m.body))
    link = CONFIRM.search(message.body).group()
    assert_nowhere(CONFIRM.search(message.body).group(1), debug_logs)
    client.post(link)
    address.refresh_from_db()
    assert address.verified


def test_mobile_code_is_encrypted_while_queued(db, debug_logs):
    user = make_beneficiary()
    notification = notification_send(
        recipient=user, event="account.mobile_code", context={"code": "975312"}
    )
    assert "975312" not in str(stored_texts())  # the stored context is encrypted
    assert notification.context and "975312" not in str(notification.context)
    render_pending()
    notification.refresh_from_db()
    assert notification.context == {}  # emptied once rendered
    delivery = Delivery.objects.get(notification__recipient=user, channel="sms")
    assert delivery.sealed and "975312" not in delivery.body
    assert "975312" not in str(stored_texts())
    assert "975312" in unseal(delivery.body)


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.sa": (550, b"no such user")})


class DownBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("down")


def test_failed_sensitive_delivery_is_removed_too(agency_a, settings, debug_logs):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    inviter = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        employee_invite(agency=agency_a, email="refused.invitee@example.sa", actor=inviter)
    run_pending_jobs()
    email = Delivery.objects.get(
        notification__recipient__email="refused.invitee@example.sa", channel=EMAIL
    )
    assert email.status == Delivery.FAILED and "address refused" in email.failure_reason
    assert re.fullmatch(r"\[.+\]", email.body) and email.html == "" and not email.sealed
    assert "/accounts/invitation/" not in str(stored_texts()) + logged_text(debug_logs)


def test_account_email_retried_then_removed_after_the_last_attempt(client, db, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    user = make_beneficiary()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    client.post(reverse("account_reset_password"), {"email": user.email})
    queued = AccountEmail.objects.get(to=[user.email])
    run_pending_jobs(raise_errors=False)  # a transient error: queued again, still encrypted
    queued.refresh_from_db()
    assert queued.status == Delivery.QUEUED and queued.attempts == 1
    assert RESET.search(unseal(queued.body))
    with connection.cursor() as cursor:  # the retry that is the last one
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'todo', attempts = %s "
            "WHERE task_name = 'notifications.send_account_email' AND args->>'email_id' = %s",
            [tasks.MAX_ATTEMPTS - 1, str(queued.pk)],
        )
    run_pending_jobs()
    queued.refresh_from_db()
    assert queued.status == Delivery.FAILED and "down" in queued.failure_reason
    assert re.fullmatch(r"\[.+\]", queued.body) and queued.html == ""


def test_deploy_check_flags_the_console_backends(settings):
    from notifications.checks import console_backends

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.SMS_BACKEND = "notifications.backends.sms.ConsoleSmsBackend"
    assert {m.id for m in console_backends()} == {"notifications.W001", "notifications.W002"}
    # the default, which also keeps the developer outbox
    settings.EMAIL_BACKEND = "notifications.backends.email.ConsoleEmailBackend"
    assert "notifications.W001" in {m.id for m in console_backends()}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SMS_BACKEND = "notifications.backends.sms.TwilioSmsBackend"
    assert console_backends() == []
