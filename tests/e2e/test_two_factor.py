"""Two-factor sign-in (R-2) in a real browser: the code stage after the password, and an
agency that requires it sending an employee without an authenticator to set one up."""

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import html_lang_dir, submit_main_form, uses_project_layout
from tests.factories import PASSWORD, make_beneficiary, make_employee, mobile_number, national_id
from tests.two_factor import TEST_TOTP_SECRET, add_totp

pytestmark = pytest.mark.e2e


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_sign_in_asks_for_the_authenticator_code(live_url, new_context, orm, seed, artifacts):
    with orm():
        user = make_beneficiary(
            email=f"e2e-2fa-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
        )
        add_totp(user)
    page = new_context(viewport={"width": 320, "height": 700}).new_page()
    page.goto(live_url + "/accounts/login/")
    page.fill("#id_login", national_id(seed))  # the identity number, not the email
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    assert uses_project_layout(page)
    assert html_lang_dir(page) == ("ar", "rtl")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "two-factor-code-phone.png"), full_page=True)
    # a wrong code is refused on the same page
    wrong = "000000" if pyotp.TOTP(TEST_TOTP_SECRET).now() != "000000" else "111111"
    page.fill("#id_code", wrong)
    submit_main_form(page)
    expect(page.locator("main .error, main .form-errors").first).to_be_visible()
    assert "/accounts/2fa/authenticate/" in page.url
    page.fill("#id_code", pyotp.TOTP(TEST_TOTP_SECRET).now())
    submit_main_form(page)
    page.wait_for_url(live_url + "/")
    expect(page.locator("form[action='/accounts/logout/']")).to_have_count(1)  # signed in
    # the account page links to the two-factor settings, shown in the portal's layout
    page.get_by_role("link", name="التحقق بخطوتين").click()
    page.wait_for_url("**/accounts/2fa/")
    assert uses_project_layout(page) and no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "two-factor-settings-phone.png"), full_page=True)


def test_agency_requiring_it_sends_an_employee_to_set_it_up(
    live_url, new_context, agencies, orm, seed, artifacts
):
    from tenants.models import Agency

    beta = agencies["beta"]
    with orm():
        employee = make_employee(beta, email=f"e2e-2fa-staff-{seed}@beta.example")
        Agency.objects.filter(pk=beta.pk).update(requires_two_factor=True)
    try:
        page = new_context(viewport={"width": 360, "height": 740}).new_page()
        page.goto(f"{live_url}/a/{beta.slug}/")
        page.wait_for_url("**/accounts/login/**")
        page.fill("#id_login", employee.email)
        page.fill("#id_password", PASSWORD)
        submit_main_form(page)
        # no authenticator: sent to the setup page with the agency's message
        page.wait_for_url(live_url + "/accounts/2fa/")
        expect(page.locator(".messages")).to_contain_text(beta.name_ar)
        assert uses_project_layout(page) and no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / "two-factor-required-phone.png"), full_page=True)
        # the workspace stays closed until it is set up
        page.goto(f"{live_url}/a/{beta.slug}/requests/")
        page.wait_for_url(live_url + "/accounts/2fa/")
        # set up the authenticator app: allauth first confirms the password
        page.locator("main a[href$='/accounts/2fa/totp/activate/']").click()
        page.wait_for_url("**/accounts/reauthenticate/**")
        page.fill("#id_password", PASSWORD)
        submit_main_form(page)
        page.wait_for_url("**/accounts/2fa/totp/activate/")
        expect(page.locator("main img.qr-code")).to_be_visible()
        secret = page.input_value("#authenticator_secret")
        page.fill("#id_code", pyotp.TOTP(secret).now())
        submit_main_form(page)
        page.wait_for_url("**/accounts/2fa/recovery-codes/**")
        # the workspace opens now
        page.goto(f"{live_url}/a/{beta.slug}/")
        page.wait_for_url(f"{live_url}/a/{beta.slug}/")
        expect(page.locator(".agency-name")).to_be_visible()
    finally:
        with orm():
            Agency.objects.filter(pk=beta.pk).update(requires_two_factor=False)
