"""Email attachments (e.g. a meeting's .ics): kept on the notification or the account email,
attached when the email is sent (locmem backend), ignored by the other channels."""

import pytest
from django.core import mail

from notifications.models import AccountEmail, Notification
from notifications.services import address_email_send, notification_send
from tests.factories import make_beneficiary
from tests.jobs import run_pending_jobs

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
ATTACHMENT = {"name": "invite.ics", "mimetype": "text/calendar; method=REQUEST", "content": ICS}


@pytest.mark.django_db
def test_a_notification_email_carries_its_attachment():
    user = make_beneficiary()
    run_pending_jobs()
    mail.outbox.clear()
    notification = notification_send(
        recipient=user,
        event="calendar.reminder",
        context={"title": "x", "starts_at": None, "notes": ""},
        attachments=[ATTACHMENT],
    )
    assert Notification.objects.get(pk=notification.pk).attachments == [ATTACHMENT]
    run_pending_jobs()
    [message] = [m for m in mail.outbox if m.to == [user.email]]
    [(name, content, mimetype)] = message.attachments
    assert name == "invite.ics" and mimetype.startswith("text/calendar")
    assert (content if isinstance(content, str) else content.decode()) == ICS
    # the raw message has the calendar part
    assert "text/calendar" in message.message().as_string()


@pytest.mark.django_db
def test_an_address_email_carries_its_attachment():
    mail.outbox.clear()
    email = address_email_send(
        address="guest@example.org",
        event="calendar.reminder",
        context={"title": "x", "starts_at": None, "notes": ""},
        attachments=[ATTACHMENT],
    )
    assert AccountEmail.objects.get(pk=email.pk).attachments == [ATTACHMENT]
    run_pending_jobs()
    [message] = [m for m in mail.outbox if m.to == ["guest@example.org"]]
    assert message.attachments[0][0] == "invite.ics"


def test_attachments_must_be_text():
    from notifications.services import attachments_clean

    with pytest.raises(ValueError):
        attachments_clean([{"name": "a", "mimetype": "b", "content": b"bytes"}])
