"""The beneficiary's turn in a real browser (issue 12, "How it is shown"): an employee asks for
information with 3 working days to reply; the beneficiary's home page lists the request as
waiting for them with the question and the date, the request page opens with the banner (the
question, the date, a button straight to the reply form), which also fits a 320 px phone; the
SMS carries the question; once the beneficiary answers, the banner is gone.

Screenshots go to tests/e2e/artifacts/your-turn-*.png.
"""

import re

import pytest
from django.utils import translation
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import Screenshots, assert_lang
from tests.e2e.test_request_journey import in_thread, log_in, sms_with
from tests.factories import (
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
    mobile_number,
    national_id,
)

pytestmark = pytest.mark.e2e

QUESTION = "نحتاج صورة واضحة من عقد الإيجار الموقّع، مع رقم العقد في منصة إيجار."
REPLY = "أرفقت صورة العقد، ورقمه ٢٠٢٥٠٠١٢٣."


@pytest.fixture
def asked(agencies, orm, seed) -> dict:
    """Committed: one employee in their own department of alpha, and a request of a
    beneficiary (Arabic, with a mobile) assigned to them."""
    from tenants.services import department_save
    from tenants.staff.models import Membership

    alpha = agencies["alpha"]

    def prepare() -> dict:
        admin = make_employee(alpha, roles=("admin",), email=f"e2e-turn-admin-{seed}@alpha.example")
        employee = make_employee(alpha, email=f"e2e-turn-staff-{seed}@alpha.example")
        with schema_context(alpha.schema_name):
            department = department_save(
                actor=admin, name_ar=f"العقود {seed}", name_en=f"Contracts {seed}"
            )
            Membership.objects.filter(user_id=employee.pk).update(department=department)
        service = make_type(alpha, actor=admin, department=department, name_ar="توثيق عقد")
        beneficiary = make_beneficiary(
            email=f"e2e-turn-{seed}@example.sa",
            identity_number=national_id(seed),
            mobile=mobile_number(seed),
            preferred_language="ar",
        )
        item = make_request(
            alpha, beneficiary=beneficiary, request_type=service, subject="توثيق عقد إيجار"
        )
        return {
            "employee": employee,
            "beneficiary": beneficiary,
            "request_id": item.pk,
            "reference": item.reference,
        }

    with orm():
        return in_thread(prepare)


def test_employee_asks_and_beneficiary_sees_the_question_and_the_date(
    live_url, new_context, agencies, asked, orm, artifacts
):
    from requests_app.models import Request

    shot = Screenshots(artifacts, "your-turn")
    reference = asked["reference"]
    public = f"/requests/alpha/{reference}/"

    # The employee asks, giving 3 working days.
    staff = new_context().new_page()
    detail = f"/a/alpha/requests/{asked['request_id']}/"
    log_in(staff, live_url, asked["employee"].email, detail)
    staff.locator("details[data-shortcut='a'] > summary").click()  # one panel at a time
    ask = staff.locator("form[action$='/ask/']")
    ask.locator("#ask-text").fill(QUESTION)
    ask.locator("#ask-days").fill("3")
    ask.locator("button[type=submit]").click()
    staff.wait_for_url(live_url + detail)
    expect(staff.locator("main .card .status--awaiting_beneficiary")).to_have_count(1)
    with orm(), schema_context(agencies["alpha"].schema_name):
        reply_by = Request.objects.get(pk=asked["request_id"]).reply_by
    assert reply_by is not None
    from frontend.human import human_date_parts

    with translation.override("ar"):
        date_text = human_date_parts(reply_by).text  # the Gregorian part, Hijri beside it
    expect(staff.locator("main")).to_contain_text(date_text)
    shot(staff, "1-employee-asked")

    # Home: "waiting for you", at the top, with the question and the date.
    person = new_context().new_page()
    log_in(person, live_url, asked["beneficiary"].email, "/")
    assert_lang(person, "ar", "rtl")
    waiting = person.get_by_role("region", name=re.compile("بانتظار"))
    expect(waiting).to_be_visible()
    item = waiting.locator("li", has_text=reference)
    expect(item).to_contain_text(QUESTION)
    expect(item).to_contain_text(date_text)
    shot(person, "2-home-waiting-for-you")

    # The request page opens with the banner.
    item.get_by_role("link", name="توثيق عقد إيجار").click()
    person.wait_for_url(live_url + public)
    turn = person.locator("#your-turn")
    expect(turn).to_have_attribute("role", "region")
    expect(turn).to_have_class(re.compile(r"\balert\b"))
    expect(turn.get_by_role("heading", level=2)).to_contain_text("دورك الآن")
    expect(turn).to_contain_text(QUESTION)
    expect(turn.locator("time")).to_have_text(date_text)
    expect(turn.locator("time")).to_have_attribute("datetime", reply_by.isoformat())
    banner_top = turn.bounding_box()["y"]
    timeline_top = person.locator("#timeline-title").bounding_box()["y"]
    assert banner_top < timeline_top, "the banner is at the top of the page"
    shot(person, "3-request-banner")

    # Its button leads straight to the reply form.
    turn.get_by_role("link", name="الرد الآن").click()
    person.wait_for_url(re.compile(r"#id_body$"))
    reply = person.locator("#id_body")
    expect(reply).to_be_in_viewport()
    expect(reply).to_be_focused()

    # The SMS names the question (the worker sends it a moment after the ask commits).
    bodies = sms_with(orm, asked["beneficiary"].mobile, reference)
    assert any(QUESTION in body and date_text in body for body in bodies), bodies

    # On a 320 px phone the banner fits the screen.
    phone = new_context(viewport={"width": 320, "height": 640}).new_page()
    log_in(phone, live_url, asked["beneficiary"].email, public)
    box = phone.locator("#your-turn").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320, box
    shot(phone, "4-request-banner-320px")

    # The beneficiary answers: the banner and the home entry are gone.
    # (the redirect after sending keeps the page's #id_body: wait for the reply itself)
    reply.fill(REPLY)
    person.locator("#reply form button.btn-primary[type=submit]").click()
    expect(person.locator(".timeline .comment", has_text=REPLY)).to_have_count(1)
    expect(person.locator("#your-turn")).to_have_count(0)
    person.goto(live_url + "/")
    expect(person.get_by_role("region", name=re.compile("بانتظار"))).to_have_count(0)
    shot(person, "5-answered")
