"""A sign-up with registered details answers as a new one does; the owner is told (point 13)."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import SmsMessage, User
from notifications.models import Notification
from tests.accounts.signup import sign_up, signup_data
from tests.factories import PASSWORD, make_beneficiary, mobile_number, national_id
from tests.jobs import run_pending_jobs

VERIFY = reverse("accounts:verify_mobile")
NOTICE = "account.registered_details_used"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def neutral_page(html: str, *values: str) -> str:
    """The main part of a page with what the person typed and the CSRF tokens blanked."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", main)
    for value in values:
        main = main.replace(value, "TYPED")
    return main


def new_details() -> dict:
    n = mobile_number()
    return {
        "identity_number": national_id(),
        "mobile": n,
        "email": f"new{n[-7:]}@example.sa",
    }


@pytest.mark.parametrize("registered", ["identity_number", "email", "email_upper", "mobile"])
def test_registered_details_lead_to_the_same_page_as_new_ones(client, db, registered):
    owner = make_beneficiary(mobile=mobile_number())
    client.cookies["muamalat_language"] = "en"

    genuine = new_details()
    response = sign_up(client, signup_data(**genuine))
    assert response.status_code == 302 and response["Location"] == VERIFY
    genuine_page = client.get(VERIFY)
    assert "_auth_user_id" not in client.session  # signed in only once the code is confirmed

    other = client.__class__()
    other.cookies["muamalat_language"] = "en"
    attempt = new_details()
    attempt[registered.removesuffix("_upper")] = {
        "identity_number": owner.identity_number,
        "email": owner.email,
        "email_upper": owner.email.upper(),
        "mobile": "0" + owner.mobile.removeprefix("+966"),
    }[registered]
    users_before = User.objects.count()
    response = sign_up(other, signup_data(**attempt))
    assert response.status_code == 302 and response["Location"] == VERIFY
    attempt_page = other.get(VERIFY)
    assert User.objects.count() == users_before
    assert "_auth_user_id" not in other.session

    typed_mobile = attempt["mobile"] if registered != "mobile" else owner.mobile
    assert neutral_page(
        genuine_page.content.decode(), genuine["mobile"], genuine["email"]
    ) == neutral_page(
        attempt_page.content.decode(), typed_mobile, attempt["email"].lower(), attempt["email"]
    )
    html = attempt_page.content.decode().lower()
    assert "already" not in html and "registered" not in html

    # The owner is told by email and SMS, without anything about who tried.
    notice = Notification.objects.get(recipient=owner, event=NOTICE)
    run_pending_jobs()
    sms = SmsMessage.objects.filter(to=owner.mobile).values_list("body", flat=True)
    assert any("برقم هويتك" in body for body in sms), list(sms)
    for text in (*sms, notice.body if hasattr(notice, "body") else ""):
        assert "Abdullah" not in text and "عبدالله" not in text
        assert attempt["email"].lower() not in text.lower()


def test_the_genuine_journey_signs_in_after_the_code(client, db):
    sign_up(client, signup_data())
    user = User.objects.get(email="abdullah@example.sa")
    run_pending_jobs()
    bodies = SmsMessage.objects.filter(to=user.mobile).values_list("body", flat=True)
    code = next(m.group() for b in bodies if (m := re.search(r"\d{6}", b)))
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert client.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.mobile_verified
    assert client.get(VERIFY)["Location"] == reverse("portal:home")


def test_codes_typed_for_a_refused_sign_up_fail_like_wrong_codes(client, db, settings):
    owner = make_beneficiary()
    client.cookies["muamalat_language"] = "en"
    sign_up(client, signup_data(identity_number=owner.identity_number))
    for _ in range(settings.MOBILE_CODE_MAX_ATTEMPTS):
        response = client.post(VERIFY, {"code": "123456"})
        assert response.status_code == 200
        assert "The code is not correct." in response.content.decode()
    response = client.post(VERIFY, {"code": "123456"})
    assert "This code has expired" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Resending answers as for a real account: throttled a minute, then "sent" (nothing is).
    response = client.post(reverse("accounts:resend_mobile_code"), follow=True)
    assert "You can ask for a new one at" in response.content.decode()
    assert not SmsMessage.objects.filter(to="+966551234567").exists()


def test_real_errors_stay_errors_and_tell_nobody(client, db):
    owner = make_beneficiary()
    client.cookies["muamalat_language"] = "en"
    response = sign_up(
        client,
        signup_data(identity_number=owner.identity_number, password1="short", password2="short"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "password1" in errors and "identity_number" not in errors
    response = sign_up(client, signup_data(email=owner.email, password2=PASSWORD + "x"))
    assert response.status_code == 200
    assert "email" not in response.context["form"].errors
    assert not Notification.objects.filter(recipient=owner, event=NOTICE).exists()


def test_an_owner_gets_at_most_three_notices_a_day(client, db):
    owner = make_beneficiary()
    for _ in range(5):
        sign_up(client, signup_data(identity_number=owner.identity_number))
    assert Notification.objects.filter(recipient=owner, event=NOTICE).count() == 3
