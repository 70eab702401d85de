"""An agency administrator works in their workspace in a real browser."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.helpers import Screenshots, assert_lang, submit_main_form, wait_for_js
from tests.factories import PASSWORD, make_employee

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpha_admin(agencies, orm, seed) -> User:
    with orm():
        return make_employee(
            agencies["alpha"], roles=("admin",), email=f"e2e-admin-{seed}@alpha.example"
        )


def log_in(page, live_url: str, login: str, next_path: str) -> None:
    page.goto(live_url + next_path)
    page.wait_for_url("**/accounts/login/**")  # anonymous visitors are sent to sign in
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    page.wait_for_url(live_url + next_path)


def test_admin_switches_language_and_invites_an_employee(
    live_url, new_context, alpha_admin, agencies, orm, seed, artifacts
):
    shot = Screenshots(artifacts, "workspace")
    page = new_context().new_page()
    staff = "/a/alpha/staff/"
    log_in(page, live_url, alpha_admin.email, staff)

    assert_lang(page, "ar", "rtl")
    with translation.override("ar"):
        expect(page.locator("main h1")).to_have_text(gettext("Employees"))
    expect(page.locator(".agency-name")).to_have_text("جهة ألفا")
    expect(page.locator("main td", has_text=alpha_admin.email)).to_be_visible()
    shot(page, "1-staff-ar")

    page.locator("form.lang-switch button").click()
    page.wait_for_url(live_url + staff)
    wait_for_js(page, "document.documentElement.lang === 'en'")
    assert_lang(page, "en", "ltr")
    expect(page.locator("main h1")).to_have_text("Employees")
    expect(page.locator(".agency-name")).to_have_text("Alpha Agency")
    expect(page.locator("form.lang-switch button")).to_have_text("العربية")
    shot(page, "2-staff-en")
    with orm():
        assert User.objects.get(pk=alpha_admin.pk).preferred_language == "en"

    invited = f"e2e-invited-{seed}@alpha.example"
    page.get_by_role("link", name="Invite an employee").click()
    page.wait_for_url(live_url + staff + "invite/")
    assert_lang(page, "en", "ltr")
    page.fill("#id_email", invited)
    page.fill("#id_first_name_ar", "نورة")
    page.fill("#id_family_name_ar", "العتيبي")
    page.fill("#id_first_name_en", "Noura")
    page.fill("#id_family_name_en", "Alotaibi")
    page.fill("#id_title", "Case officer")
    page.get_by_label("Employee", exact=True).check()
    shot(page, "3-invite-filled")
    submit_main_form(page)

    page.wait_for_url(live_url + staff)
    expect(page.locator(".messages")).to_contain_text("The invitation was sent.")
    row = page.locator("main tbody tr", has=page.locator("td", has_text=invited))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Noura Alotaibi")
    expect(row).to_contain_text("Case officer")
    expect(row.locator(".tag")).to_have_text(["Employee"])
    shot(page, "4-staff-invited")

    from tenants.staff.models import Invitation, Membership

    with orm(), schema_context(agencies["alpha"].schema_name):
        # a pending invitation: the membership comes only when its emailed link is followed
        invitation = Invitation.objects.get(email=invited)
        assert list(invitation.roles.values_list("codename", flat=True)) == ["employee"]
        assert not Membership.objects.filter(user__email=invited).exists()


def test_workspace_on_a_phone(live_url, new_context, alpha_admin, artifacts):
    context = new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    staff = "/a/alpha/staff/"
    log_in(page, live_url, alpha_admin.email, staff)
    assert_lang(page, "ar", "rtl")
    page.screenshot(path=str(artifacts / "workspace-phone-menu-closed.png"), full_page=True)
    # Nothing wider than the screen: long cells (emails) must wrap or scroll inside the table.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, (
        f"the staff page scrolls sideways on a phone ({scroll_width}px wide for a 390px screen)"
    )
    toggle = page.locator(".sidebar__toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("#workspace-menu")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#workspace-menu")).to_be_visible()
    page.screenshot(path=str(artifacts / "workspace-phone-menu-open.png"), full_page=True)
