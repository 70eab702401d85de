"""notification_send: transactional, idempotent, in the recipient's language and channels."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import SmsMessage
from frontend.human import isolate
from notifications.events import EMAIL, INAPP, SMS
from notifications.models import Delivery, Notification
from notifications.services import notification_send, unseal
from tests.factories import make_beneficiary
from tests.jobs import pending_jobs, render_pending, run_pending_jobs

ARABIC = re.compile(r"[\u0600-\u06FF]")


def _job_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs")
        return cursor.fetchone()[0]


def _channels(notification: Notification) -> set[str]:
    return set(notification.deliveries.values_list("channel", flat=True))


def test_send_in_a_rolled_back_transaction_leaves_nothing(db, django_capture_on_commit_callbacks):
    user = make_beneficiary(preferred_language="ar")
    jobs_before = _job_count()

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                notification = notification_send(recipient=user, event="account.welcome")
                # inside the transaction everything exists: the notification, its channels
                # and the one job that renders and sends them
                assert notification.channels == [INAPP, EMAIL, SMS]
                assert [job["task_name"] for job in pending_jobs()] == ["notifications.render"]
                assert _job_count() == jobs_before + 1
                raise RuntimeError("the caller's transaction fails")

    assert not Notification.objects.filter(recipient=user).exists()
    assert not Delivery.objects.filter(notification__recipient=user).exists()
    assert _job_count() == jobs_before
    assert pending_jobs() == []
    assert callbacks == []  # no live push either
    assert run_pending_jobs() == 0
    assert not SmsMessage.objects.filter(to=user.mobile).exists()


def test_send_that_commits_schedules_jobs_and_push(db, django_capture_on_commit_callbacks):
    """The counterpart of the rollback test: the same call in a transaction that commits."""
    user = make_beneficiary(preferred_language="ar")
    jobs_before = _job_count()
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            notification = notification_send(recipient=user, event="account.welcome")
    assert callbacks == []  # the business transaction only records; the job pushes
    assert notification.title and notification.body  # what pages show is there at once
    assert _job_count() == jobs_before + 1
    with django_capture_on_commit_callbacks() as callbacks:
        assert render_pending() == 1
    assert len(callbacks) == 1  # the live push, after the rendering job's commit
    assert _job_count() == jobs_before + 3
    deliveries = {d.channel: d for d in notification.deliveries.all()}
    assert deliveries[INAPP].status == Delivery.SENT  # the in-app copy is there at once
    assert deliveries[EMAIL].status == deliveries[SMS].status == Delivery.QUEUED
    assert run_pending_jobs() == 2
    assert SmsMessage.objects.filter(to=user.mobile).count() == 1


def test_same_idempotency_key_sends_once(db, mailoutbox):
    user = make_beneficiary(preferred_language="ar")
    first = notification_send(
        recipient=user, event="account.welcome", idempotency_key=f"account.welcome:{user.pk}"
    )
    render_pending()
    second = notification_send(
        recipient=user,
        event="account.welcome",
        idempotency_key=f"account.welcome:{user.pk}",
        link="/other/",
    )
    assert second.pk == first.pk
    assert second.link == ""
    assert Notification.objects.filter(recipient=user).count() == 1
    assert Delivery.objects.filter(notification=first).count() == 3
    assert not pending_jobs("notifications.render")
    assert len(pending_jobs("notifications.deliver")) == 2
    run_pending_jobs()
    assert len(mailoutbox) == 1
    assert SmsMessage.objects.filter(to=user.mobile).count() == 1


def test_without_key_each_call_is_its_own_notification(db):
    user = make_beneficiary(preferred_language="ar")
    a = notification_send(recipient=user, event="account.welcome")
    b = notification_send(recipient=user, event="account.welcome")
    assert a.pk != b.pk
    assert a.idempotency_key != b.idempotency_key


def test_unknown_event_is_refused(db):
    user = make_beneficiary(preferred_language="ar")
    jobs_before = _job_count()
    with pytest.raises(ValidationError):
        notification_send(recipient=user, event="no.such.event")
    assert not Notification.objects.filter(recipient=user).exists()
    assert _job_count() == jobs_before


def test_user_without_mobile_gets_no_sms(db):
    user = make_beneficiary(preferred_language="ar", mobile=None)
    sms_before = SmsMessage.objects.count()
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    assert _channels(notification) == {INAPP, EMAIL}
    assert len(pending_jobs("notifications.deliver")) == 1
    # even a mandatory SMS-only event has nowhere to go
    code = notification_send(recipient=user, event="account.mobile_code", context={"code": "1"})
    assert code.channels == [] and code.rendered_at  # nothing to render: no job
    assert not pending_jobs("notifications.render")
    assert _channels(code) == set()
    assert len(pending_jobs("notifications.deliver")) == 1
    run_pending_jobs()
    assert SmsMessage.objects.count() == sms_before
    assert not Delivery.objects.filter(notification__recipient=user, channel=SMS).exists()


def test_arabic_recipient_gets_arabic(db, agency_a):
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(
        recipient=user,
        event="staff.invited",
        agency=agency_a,
        context={"new_account": False, "action_url": "https://muamalat.example.sa/a/alpha/"},
    )
    render_pending()
    assert notification.language == "ar"
    with translation.override("ar"):
        # Names inside generated text are isolated (FSI…PDI) so they keep their direction.
        agency_name = isolate(agency_a.name_ar)
        title = gettext("You are invited to %(agency)s on Muamalat") % {"agency": agency_name}
        body = gettext(
            "You are invited to join %(agency)s. Accept through the link in the email sent "
            "to your address."
        ) % {"agency": agency_name}
    assert notification.title == title
    assert ARABIC.search(notification.title)  # translated in locale/ar already
    assert notification.body == body
    assert agency_a.name_ar in notification.body
    email = Delivery.objects.get(notification=notification, channel=EMAIL)
    assert email.subject == title
    assert email.sealed  # a sensitive event: its texts are encrypted while queued
    assert 'dir="rtl"' in unseal(email.html)


def test_arabic_welcome_is_rendered_in_arabic(db):
    """Whatever locale/ar says today, the welcome is rendered with it, never in English."""
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    with translation.override("ar"):
        title = gettext("Welcome to Muamalat")
        body = gettext("Welcome, %(name)s. You can now submit requests to any agency.") % {
            "name": isolate(user.full_name_ar)
        }
        sms = gettext("Welcome to Muamalat. Your account is ready.")
    assert notification.language == "ar"
    assert notification.title == title
    assert notification.body == body
    assert "محمد علي الحربي" in notification.body  # the Arabic name, even before translation
    assert Delivery.objects.get(notification=notification, channel=SMS).body == sms


def test_english_recipient_gets_english(db, agency_a):
    user = make_beneficiary(preferred_language="en")
    welcome = notification_send(recipient=user, event="account.welcome")
    render_pending()
    assert welcome.language == "en"
    assert welcome.title == "Welcome to Muamalat"
    assert welcome.body == (
        f"Welcome, {isolate('Mohammed Ali Alharbi')}. You can now submit requests to any agency."
    )
    sms = Delivery.objects.get(notification=welcome, channel=SMS)
    assert sms.body == "Welcome to Muamalat. Your account is ready."
    invited = notification_send(
        recipient=user,
        event="staff.invited",
        agency=agency_a,
        context={"new_account": False, "action_url": "https://muamalat.example.sa/a/alpha/"},
    )
    render_pending()
    assert invited.title == f"You are invited to {isolate(agency_a.name_en)} on Muamalat"
    assert not ARABIC.search(invited.title + invited.body)
    assert 'dir="ltr"' in unseal(Delivery.objects.get(notification=invited, channel=EMAIL).html)


def test_plain_text_parts_are_not_html_escaped(db, mailoutbox):
    user = make_beneficiary(preferred_language="en", family_name_en="O'Neil & Sons")
    notification = notification_send(recipient=user, event="account.welcome")
    render_pending()
    name = isolate("Mohammed Ali O'Neil & Sons")
    assert notification.body.startswith(f"Welcome, {name}.")
    email = Delivery.objects.get(notification=notification, channel=EMAIL)
    assert f"Welcome, {name}." in email.body
    assert "O&#x27;Neil &amp; Sons" in email.html  # the HTML part stays escaped


def test_verification_code_is_removed_after_sending(db):
    user = make_beneficiary(preferred_language="ar")
    notification = notification_send(
        recipient=user, event="account.mobile_code", context={"code": "135790"}
    )
    render_pending()
    assert _channels(notification) == {SMS}
    assert "135790" not in notification.title + notification.body
    delivery = Delivery.objects.get(notification=notification)
    assert "135790" not in delivery.body  # encrypted while queued,
    assert "135790" in unseal(delivery.body)  # kept only until it is sent
    run_pending_jobs()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    assert "135790" not in delivery.body
    assert re.fullmatch(r"\[.+\]", delivery.body)  # a placeholder says it was removed
    assert delivery.provider_message_id.startswith("local-")
    # the provider (the development outbox) got the code, in Arabic
    outbox = SmsMessage.objects.get(to=user.mobile)
    with translation.override("ar"):
        assert outbox.body == gettext("Muamalat verification code: %(code)s") % {"code": "135790"}
    assert ARABIC.search(outbox.body)


def test_context_is_stored_as_json_and_resolved_by_the_job(db, agency_a):
    """Model instances by reference (resolved in their schema by the job), dates tagged,
    nothing pickled; an unsupported value is refused in the business transaction."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django_tenants.utils import schema_context

    from tenants.staff.models import Department

    user = make_beneficiary(preferred_language="en")
    with schema_context(agency_a.schema_name):
        department = Department.objects.create(name_ar="قسم", name_en="Desk")
        when = datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Riyadh"))
        notification = notification_send(
            recipient=user,
            event="calendar.reminder",
            agency=agency_a,
            context={"title": "Team", "starts_at": when, "notes": "", "desk": department},
        )
        with pytest.raises(TypeError):
            notification_send(recipient=user, event="account.welcome", context={"x": object()})
    notification.refresh_from_db()
    assert notification.context == {
        "title": "Team",
        "starts_at": {"_datetime": "2026-03-01T09:30:00+03:00"},
        "notes": "",
        "desk": {"_model": "staff.Department", "pk": department.pk, "schema": "agency_alpha"},
    }
    from notifications.services import context_load

    loaded = context_load(notification.context)  # from the public schema: found in alpha's
    assert loaded["desk"] == department and loaded["starts_at"] == when
    render_pending()
    email = Delivery.objects.get(notification=notification, channel=EMAIL)
    assert "Reminder: \u2068Team\u2069 at \u20681 March 2026, 09:30 (" in email.body


def test_sms_keeps_isolation_marks_only_where_they_matter():
    """Latin inside Latin needs no isolation, and the marks alone would turn a GSM-7 SMS into
    UCS-2 (70 characters a segment instead of 160); a text with Arabic keeps them."""
    from notifications.backends.sms import sms_segments
    from notifications.services import _sms_text

    english = f"Request {isolate('MOI-2026-000123')} was rejected: {isolate('Missing ID')}"
    assert _sms_text(english) == "Request MOI-2026-000123 was rejected: Missing ID"
    assert sms_segments(_sms_text(english)) == 1
    arabic = f"رُفض طلبك {isolate('MOI-2026-000123')}"
    assert _sms_text(arabic) == arabic
