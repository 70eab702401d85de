"""Issue 12: after a reassignment, the employee it was taken from opens the request (from a
notification, a bookmark, the back button) and is told where it went, not given a bare 404; a
colleague who never held it still gets the 404. In Arabic, on a phone."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import in_thread, submit_main_form
from tests.e2e.test_every_page import audit_page
from tests.factories import (
    PASSWORD,
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    membership_of,
)

pytestmark = pytest.mark.e2e


def sign_in(page, live_url: str, login: str) -> None:
    page.goto(live_url + "/accounts/login/")
    page.fill("#id_login", login)
    page.fill("#id_password", PASSWORD)
    submit_main_form(page)
    page.wait_for_load_state()


def test_the_previous_assignee_is_told_where_the_request_went(
    live_url, new_context, agencies, orm, seed, artifacts
):
    from requests_app.models import Request
    from requests_app.services.approvals import request_reassign
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"moved-admin-{seed}@alpha.example")
        first = make_employee(alpha, email=f"moved-a-{seed}@alpha.example")
        second = make_employee(alpha, email=f"moved-b-{seed}@alpha.example")
        stranger = make_employee(alpha, email=f"moved-c-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            desk = department_save(actor=admin, name_ar=f"قسم النقل {seed}", name_en=f"Desk {seed}")
            Membership.objects.filter(user_id=first.pk).update(department=desk)
        item = make_request(
            alpha,
            beneficiary=make_beneficiary(),
            request_type=make_type(alpha, actor=admin, department=desk),
            subject="طلب انتقل إلى زميل",
        )
        with schema_context(alpha.schema_name):
            item = Request.objects.get(pk=item.pk)
            assert item.assignee.user_id == first.pk
            Membership.objects.filter(user_id=second.pk).update(department=desk)
            request_reassign(
                agency=alpha,
                request_obj=item,
                actor=admin,
                new_assignee=membership_of(alpha, second),
                reason="توزيع الأحمال",
            )
            assert Request.objects.get(pk=item.pk).assignee.user_id == second.pk
        return {
            "first": first,
            "second": second,
            "stranger": stranger,
            "path": f"/a/alpha/requests/{item.pk}/",
            "desk": desk.name_ar,
        }

    with orm():
        cast = in_thread(prepare)

    page = new_context(viewport={"width": 320, "height": 740}).new_page()
    sign_in(page, live_url, cast["first"].email)
    response = page.goto(live_url + cast["path"])
    assert response.status == 200
    main = page.locator("main")
    expect(main).to_contain_text(cast["second"].display_name)
    expect(main).to_contain_text(cast["desk"])
    with translation.override("ar"):
        back = gettext("Back to my requests")
    assert back != "Back to my requests"
    expect(main.get_by_role("link", name=back)).to_be_visible()
    # the request's own details are not shown to someone who no longer holds it
    assert "توزيع الأحمال" not in main.inner_text()
    assert page.locator("form[action$='/comment/']").count() == 0
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    assert audit_page(page, "ar-320-reassigned-away", 320, folder) == []

    other = new_context().new_page()
    sign_in(other, live_url, cast["stranger"].email)
    assert other.goto(live_url + cast["path"]).status == 404
