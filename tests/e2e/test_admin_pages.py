"""The admin pages of issue 12 (roles, a role, an employee's permissions, the audit trail) in
Arabic and English, at 320 CSS px and on a desktop: no horizontal scroll (the roles page was
2,079 px wide on a phone and 2,402 px on a desktop, 17 checkboxes in one row), permission
checkboxes one under the other, grouped in fieldsets. With MUAMALAT_AXE_JS set (axe-core's
axe.min.js), axe-core finds no serious or critical violation on them."""

import os
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from tests.e2e.helpers import submit_main_form
from tests.factories import PASSWORD, make_employee, membership_of

pytestmark = pytest.mark.e2e

AXE_JS = os.environ.get("MUAMALAT_AXE_JS")


def check(page, name: str, width: int, artifacts) -> None:
    page.screenshot(path=str(artifacts / f"admin-{name}.png"), full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"{name}: {page.url} is {scroll}px wide at {width}"
    if AXE_JS:
        page.evaluate(Path(AXE_JS).read_text())  # evaluated by the browser's debugger: no CSP
        result = page.evaluate("async () => (await axe.run()).violations")
        serious = [v["id"] for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name}: {serious}"


def stacked(page, name: str) -> None:
    """The permission checkboxes of the first area are one under the other."""
    boxes = page.locator("fieldset fieldset .form-check-input")
    assert boxes.count() >= 2, name
    first, second = boxes.nth(0).bounding_box(), boxes.nth(1).bounding_box()
    assert second["y"] > first["y"] + first["height"], f"{name}: checkboxes side by side"
    assert abs(second["x"] - first["x"]) < 2, f"{name}: checkboxes not aligned"


def test_admin_pages_reflow_and_stack_in_both_languages(
    live_url, new_context, orm, seed, agencies, artifacts
):
    from accounts.models import User
    from core import audit
    from tenants.staff.models import Role

    alpha = agencies["alpha"]
    with orm():
        admin = make_employee(alpha, roles=("admin",), email=f"roles-{seed}@alpha.example")
        employee = make_employee(alpha, email=f"roles-emp-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            role_id = Role.objects.get(codename="employee").pk
            membership_id = membership_of(alpha, employee).pk
            audit.agency_record(actor=admin, action="request.reassign.approved")
    pages = [
        ("/a/alpha/roles/", "roles", True),
        (f"/a/alpha/roles/{role_id}/", "role", True),
        (f"/a/alpha/staff/{membership_id}/", "employee", True),
        ("/a/alpha/audit/", "audit", False),
    ]
    for lang in ("ar", "en"):
        with orm():
            User.objects.filter(pk=admin.pk).update(preferred_language=lang)
        for width in (320, 1280):
            ctx = new_context(viewport={"width": width, "height": 800})
            page = ctx.new_page()
            page.goto(live_url + "/accounts/login/")
            page.fill("#id_login", admin.email)
            page.fill("#id_password", PASSWORD)
            submit_main_form(page)
            page.wait_for_load_state()
            for path, name, has_permissions in pages:
                page.goto(live_url + path)
                assert page.evaluate("document.documentElement.lang") == lang
                label = f"{lang}-{width}-{name}"
                check(page, label, width, artifacts)
                if has_permissions:
                    stacked(page, label)
                    text = page.locator("main").inner_text()
                    assert "requests.manage_sla" not in text and "staff.view" not in text
            if lang == "ar":
                assert "الموافقة على إعادة الإسناد" in page.locator("main").inner_text()
            ctx.close()
