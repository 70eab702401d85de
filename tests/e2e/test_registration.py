"""A beneficiary registers in Arabic in a real browser, verifies their mobile, lands home."""

import re
import time
from datetime import date

import pytest
from django.utils import translation
from django.utils.translation import gettext
from hijridate import Hijri
from playwright.sync_api import expect

from accounts.identity import identity_lookup_hash, normalize_digits
from accounts.models import SmsMessage, User
from tests.e2e.helpers import (
    SIGNUP,
    VERIFY,
    Screenshots,
    assert_lang,
    fill_signup,
    registration_data,
    submit_main_form,
)
from tests.factories import PASSWORD, make_beneficiary, mobile_number, national_id

pytestmark = pytest.mark.e2e

REGISTRATION_BUDGET_SECONDS = 60


def latest_code(orm, mobile: str, timeout: float = 15) -> str:
    """The code from the SMS outbox; the worker sends it a moment after the sign-up commits."""
    deadline = time.monotonic() + timeout
    bodies: list[str] = []
    while time.monotonic() < deadline:
        with orm():
            bodies = list(
                SmsMessage.objects.filter(to=mobile).order_by("-id").values_list("body", flat=True)
            )
        for body in bodies:
            match = re.search(r"(?<!\d)\d{6}(?!\d)", normalize_digits(body))
            if match:
                return match.group()
        time.sleep(0.1)
    raise AssertionError(f"no SMS with a 6-digit code reached {mobile}: {bodies!r}")


def test_beneficiary_registers_in_arabic(live_url, new_context, orm, seed, artifacts):
    data = registration_data(seed)
    shot = Screenshots(artifacts, "registration")
    page = new_context().new_page()

    started = time.perf_counter()
    page.goto(live_url + SIGNUP)
    assert_lang(page, "ar", "rtl")
    fill_signup(page, data)
    shot(page, "1-signup-filled")
    submit_main_form(page)

    page.wait_for_url(live_url + VERIFY)
    assert_lang(page, "ar", "rtl")
    expect(page.locator("#id_code")).to_be_visible()
    shot(page, "2-verify-mobile")
    page.fill("#id_code", latest_code(orm, data["mobile"]))
    submit_main_form(page)

    page.wait_for_url(live_url + "/")
    with translation.override("ar"):
        welcome = gettext("Welcome, %(name)s") % {"name": "عبدالله سعد القحطاني"}
        verified = gettext("Your mobile number is verified.")
        not_verified = gettext("Your mobile number is not verified yet.")
    expect(page.locator("main h1")).to_have_text(welcome)
    elapsed = time.perf_counter() - started
    print(
        f"\nregistration took {elapsed:.1f} s "
        f"(of which {shot.seconds:.1f} s taking screenshots) "
        f"from opening {SIGNUP} to seeing the home page"
    )
    assert_lang(page, "ar", "rtl")
    expect(page.locator(".messages")).to_contain_text(verified)
    expect(page.get_by_text(not_verified)).to_have_count(0)
    shot(page, "3-home")
    assert elapsed < REGISTRATION_BUDGET_SECONDS

    with orm():
        user = User.objects.get(email=data["email"])
    assert user.mobile == data["mobile"]
    assert user.mobile_verified
    assert user.identity_hash == identity_lookup_hash(data["identity_number"])
    assert user.full_name_ar == "عبدالله سعد القحطاني"
    assert user.full_name_en == "Abdullah Saad Alqahtani"
    hijri = Hijri(1412, 3, 15).to_gregorian()
    assert user.birth_date == date(hijri.year, hijri.month, hijri.day)
    assert user.birth_calendar == "hijri"
    assert user.preferred_language == "ar"


def test_signup_page_on_a_phone(live_url, new_context, artifacts):
    context = new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.goto(live_url + SIGNUP)
    assert_lang(page, "ar", "rtl")
    page.screenshot(path=str(artifacts / "registration-phone-390x844.png"), full_page=True)
    # Usable on a phone: nothing wider than the screen, inputs as wide as the column.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the page scrolls sideways ({scroll_width}px wide)"
    box = page.locator("#id_first_name_ar").bounding_box()
    assert box and box["width"] > 250, box
    submit = page.locator("main form").first.locator('button[type="submit"]').first.bounding_box()
    assert submit and submit["height"] >= 44, submit  # touch target


def test_bad_identity_number_is_reported_on_the_field(live_url, new_context, orm, seed, artifacts):
    data = registration_data(seed, identity_number="123")
    page = new_context().new_page()
    page.goto(live_url + SIGNUP)
    fill_signup(page, data)
    submit_main_form(page)

    page.wait_for_load_state()
    assert page.url == live_url + SIGNUP  # the form is shown again, nothing redirected
    field = page.locator("#id_identity_number")
    expect(field).to_have_attribute("aria-invalid", "true")
    described_by = (field.get_attribute("aria-describedby") or "").split()
    assert described_by, "the invalid field names no element describing the error"
    with translation.override("ar"):
        message = gettext("A national ID is 10 digits starting with 1.")
    descriptions = " ".join(page.locator(f"#{ident}").inner_text() for ident in described_by)
    assert message in descriptions
    expect(field).to_have_value("123")  # what the person typed is kept
    # Only that field is marked invalid; the others keep their values.
    assert page.locator('[aria-invalid="true"]').count() == 1
    expect(page.locator("#id_email")).to_have_value(data["email"])
    expect(page.locator(".form-errors[role=alert]")).to_be_visible()
    page.screenshot(path=str(artifacts / "registration-bad-identity.png"), full_page=True)

    with orm():
        assert not User.objects.filter(email=data["email"]).exists()
        assert not User.objects.filter(mobile=data["mobile"]).exists()
        assert not SmsMessage.objects.filter(to=data["mobile"]).exists()


@pytest.mark.parametrize("identifier", ["email", "identity_number", "mobile"])
def test_login_accepts_email_identity_number_or_mobile(
    live_url, new_context, orm, seed, identifier
):
    with orm():
        user = make_beneficiary(
            email=f"e2e-login-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
        )
    typed = {
        "email": user.email.upper(),
        "identity_number": national_id(seed),
        "mobile": "0" + mobile_number(seed).removeprefix("+966"),  # typed the local way
    }[identifier]
    page = new_context().new_page()
    page.goto(live_url + "/accounts/login/")
    page.fill("#id_login", typed)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    page.wait_for_url(live_url + "/")
    with translation.override("ar"):
        welcome = gettext("Welcome, %(name)s") % {"name": user.full_name_ar}
    expect(page.locator("main h1")).to_have_text(welcome)
