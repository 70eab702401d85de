"""The pages added for issue 10 (invitation link, 400 page, sign-in security, pending
invitations, invite form, two-factor settings, email page) reflow at 320 CSS px in Arabic and
English (the invite form's role choices used to overflow; the staff tables are focusable
scrolling regions)."""

import pytest
from django_tenants.utils import schema_context

from tests.e2e.helpers import submit_main_form
from tests.factories import PASSWORD, make_employee

pytestmark = pytest.mark.e2e


def check(page, name, artifacts):
    """No horizontal scroll at 320 CSS px; a screenshot for a person to look at."""
    page.screenshot(path=str(artifacts / f"security-pages-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.lang") == name.split("-")[0], page.url
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 321, f"{name}: {page.url} is {width}px wide at 320"


def test_pages_of_issue_10_reflow_at_320_px_in_both_languages(
    live_url, new_context, orm, seed, agencies, artifacts
):
    from tenants.services import employee_invite
    from tenants.staff.models import Role

    alpha = agencies["alpha"]
    with orm():
        admin = make_employee(alpha, roles=("admin",), email=f"probe-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            inv = employee_invite(
                agency=alpha,
                email=f"probe-new-{seed}@example.sa",
                roles=list(Role.objects.filter(codename="employee")),
                actor=admin,
            )
    from accounts.models import User

    for lang in ("ar", "en"):
        with orm():  # a signed-in person's pages follow their own language
            User.objects.filter(pk=admin.pk).update(preferred_language=lang)
        ctx = new_context(viewport={"width": 320, "height": 700})
        ctx.add_cookies([{"name": "muamalat_language", "value": lang, "url": live_url}])
        page = ctx.new_page()
        page.goto(live_url + f"/accounts/invitation/alpha/{inv.token}/")
        check(page, f"{lang}-invitation", artifacts)
        page.goto(live_url + "/guide/?q=a%00b")
        check(page, f"{lang}-400", artifacts)
        page.goto(live_url + "/accounts/login/")
        page.fill("#id_login", f"probe-{seed}@alpha.example")
        page.fill("#id_password", PASSWORD)
        submit_main_form(page)
        page.wait_for_load_state()
        for path, name in [
            ("/a/alpha/settings/security/", "security"),
            ("/a/alpha/staff/", "staff"),
            ("/a/alpha/staff/invite/", "invite"),
            ("/accounts/2fa/", "2fa"),
            ("/accounts/email/", "email"),
        ]:
            page.goto(live_url + path)
            check(page, f"{lang}-{name}", artifacts)
