"""The developer outbox (/dev/outbox/): under DEBUG, the SMS and emails that the console
backends kept, newest first; a 404 otherwise. Both outboxes keep their newest
CONSOLE_OUTBOX_KEEP messages."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import SmsMessage, User
from notifications.backends.sms import ConsoleSmsBackend
from notifications.models import ConsoleEmail
from tests.accounts.signup import sign_up, signup_data
from tests.factories import make_beneficiary
from tests.jobs import run_pending_jobs

OUTBOX = "/dev/outbox/"
CONSOLE_EMAIL = "notifications.backends.email.ConsoleEmailBackend"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def sent_codes(mobile: str) -> list[str]:
    """The 6-digit codes sent to ``mobile``, oldest first."""
    bodies = SmsMessage.objects.filter(to=mobile).order_by("id").values_list("body", flat=True)
    return [code for body in bodies for code in re.findall(r"(?<!\d)\d{6}(?!\d)", body)]


def test_outbox_lists_the_signup_code_newest_first(client, db, settings):
    settings.DEBUG = True
    settings.MOBILE_CODE_RESEND_SECONDS = 0
    settings.EMAIL_BACKEND = CONSOLE_EMAIL
    assert reverse("dev_outbox") == OUTBOX
    response = sign_up(client, signup_data(mobile="0551234567"))
    assert response.status_code == 302
    run_pending_jobs()
    (first_code,) = sent_codes("+966551234567")
    # a second code, then an email: the page shows them above the sign-up's code
    assert client.post(reverse("accounts:resend_mobile_code")).status_code == 302
    run_pending_jobs()
    first_again, second_code = sent_codes("+966551234567")
    assert first_again == first_code and second_code != first_code
    mail.send_mail("Outbox check", "Open http://127.0.0.1:8123/x/ <b>", None, ["a@example.sa"])

    visitor = client.__class__()  # no session: the code is wanted before signing in
    response = visitor.get(OUTBOX)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    entries = re.findall(r'<li class="list-group-item dev-outbox__entry" data-kind="(\w+)"', page)
    assert entries[0] == "email" and entries.count("sms") >= 2
    assert page.index("Outbox check") < page.index(second_code) < page.index(first_code)
    assert "+966551234567" in page
    # the email's text: links made clickable, the rest escaped
    assert '<a href="http://127.0.0.1:8123/x/"' in page
    assert "&lt;b&gt;" in page and "<b>" not in page
    assert ConsoleEmail.objects.get(subject="Outbox check").to == "a@example.sa"


def test_outbox_is_a_404_without_debug(client, db, settings):
    settings.DEBUG = False
    assert client.get(OUTBOX).status_code == 404
    staff = make_beneficiary()
    User.objects.filter(pk=staff.pk).update(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(OUTBOX).status_code == 404


@pytest.mark.parametrize(
    "page", [reverse("account_login"), reverse("account_signup")], ids=["sign-in", "sign-up"]
)
def test_sign_in_and_sign_up_link_to_the_outbox_only_under_debug(client, db, settings, page):
    settings.DEBUG = False
    assert OUTBOX not in client.get(page).content.decode()
    settings.DEBUG = True
    content = client.get(page).content.decode()
    assert f'<a href="{OUTBOX}">Developer outbox</a>' in content or (
        f'<a href="{OUTBOX}">صندوق الرسائل للمطوّرين</a>' in content
    )


def test_outbox_page_in_english_and_arabic(client, db, settings):
    settings.DEBUG = True
    ConsoleSmsBackend().send(to="+966500000001", body="Your code 123456")
    client.post(reverse("portal:set_language"), {"language": "en", "next": OUTBOX})
    assert "Developer outbox" in client.get(OUTBOX).content.decode()
    client.post(reverse("portal:set_language"), {"language": "ar", "next": OUTBOX})
    content = client.get(OUTBOX).content.decode()
    assert "صندوق الرسائل للمطوّرين" in content and "Your code 123456" in content


def test_both_outboxes_keep_only_the_newest(db, settings):
    settings.CONSOLE_OUTBOX_KEEP = 3
    backend = ConsoleSmsBackend()
    for n in range(5):
        backend.send(to="+966500000002", body=f"message {n}")
    kept = list(SmsMessage.objects.order_by("id").values_list("body", flat=True))
    assert kept == ["message 2", "message 3", "message 4"]
    settings.EMAIL_BACKEND = CONSOLE_EMAIL
    for n in range(5):
        mail.send_mail(f"subject {n}", "text", None, ["b@example.sa"])
    kept = list(ConsoleEmail.objects.order_by("id").values_list("subject", flat=True))
    assert kept == ["subject 2", "subject 3", "subject 4"]
