"""POST /accounts/mobile/resend/ is throttled per account and per network (issue 10, point 8)."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db.models import F
from django.urls import reverse

from accounts.models import MobileVerification, SmsMessage, User
from tests.accounts.signup import sign_up, signup_data
from tests.factories import make_beneficiary, mobile_number
from tests.jobs import run_pending_jobs

RESEND = reverse("accounts:resend_mobile_code")
THROTTLED = "You can ask for a new one at"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def travel(user, seconds: int) -> None:
    """Move the account's code history back in time (as if ``seconds`` had passed)."""
    MobileVerification.objects.filter(user=user).update(
        created_at=F("created_at") - timedelta(seconds=seconds)
    )


def codes_sent_to(mobile: str) -> int:
    bodies = SmsMessage.objects.filter(to=mobile).values_list("body", flat=True)
    return sum(1 for body in bodies if re.search(r"\d{6}", body))


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_a_burst_of_resends_after_signup_sends_only_the_first_code(client, db):
    client.cookies["muamalat_language"] = "en"
    sign_up(client, signup_data())
    user = User.objects.get(email="abdullah@example.sa")
    for _ in range(8):
        response = client.post(RESEND, follow=True)
        assert response.status_code == 200
        assert THROTTLED in messages_of(response)
    run_pending_jobs()
    assert codes_sent_to(user.mobile) == 1  # the sign-up's code only
    assert MobileVerification.objects.filter(user=user).count() == 1


def test_a_signed_in_account_gets_one_code_a_minute_and_five_an_hour(client, db):
    user = make_beneficiary(mobile=mobile_number(), mobile_verified=False, preferred_language="en")
    client.force_login(user)
    statuses = []
    for _ in range(12):
        response = client.post(RESEND, follow=True)
        assert response.status_code == 200
        text = messages_of(response)
        statuses.append("sent" if "A new code was sent." in text else "refused")
        if "sent" == statuses[-1]:
            travel(user, 61)
    run_pending_jobs()
    # Five in the hour, each a minute apart; the rest refused with the time to come back.
    assert statuses[:5] == ["sent"] * 5
    assert set(statuses[5:]) == {"refused"}
    assert codes_sent_to(user.mobile) == 5
    assert THROTTLED in text
    # An hour later codes can be asked for again.
    travel(user, 3600)
    response = client.post(RESEND, follow=True)
    assert "A new code was sent." in messages_of(response)


def test_the_refusal_is_in_arabic_for_an_arabic_user(client, db):
    user = make_beneficiary(mobile=mobile_number(), mobile_verified=False)
    client.force_login(user)
    client.post(RESEND)
    response = client.post(RESEND, follow=True)
    assert "يمكنك طلب رمز جديد" in messages_of(response)


def test_one_network_cannot_ask_for_codes_for_many_accounts(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "mobile_code": "2/h/ip"}
    sent = 0
    for _ in range(4):
        user = make_beneficiary(
            mobile=mobile_number(), mobile_verified=False, preferred_language="en"
        )
        client.force_login(user)
        response = client.post(RESEND, follow=True)
        assert response.status_code == 200
        sent += "A new code was sent." in messages_of(response)
    assert sent == 2
    assert "Too many codes were asked for from this network" in messages_of(response)


def test_resend_without_an_account_or_sign_up_goes_to_login(client, db):
    response = client.post(RESEND)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not MobileVerification.objects.exists()
