"""Issue 12 ("How it is shown"): an attachment survives a validation error, in a real browser,
on a phone-sized screen, in Arabic.

The beneficiary chooses a file and leaves the subject empty: the form comes back with the error
and the file listed (with "remove"); they fill the subject and press Enter in it (the form's
default button goes on, it never removes the file); "check your answers" lists the file; the
confirmation panel gives the reference; the request has the file. Check answers and the
confirmation reflow at 320 CSS px. Screenshots go to tests/e2e/artifacts/files-first-*.png.
"""

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import Screenshots, assert_lang
from tests.e2e.test_request_journey import in_thread, log_in
from tests.factories import PNG_BYTES, make_beneficiary, make_type, national_id

pytestmark = pytest.mark.e2e

FILE_NAME = "شهادة-الميلاد.png"
SUBJECT = "إصدار بدل فاقد لشهادة"
DESCRIPTION = "فقدت الشهادة الأصلية وأرفقت صورة منها."


@pytest.fixture
def setup(agencies, orm, seed) -> dict:
    alpha = agencies["alpha"]

    def prepare() -> dict:
        service = make_type(alpha, name_ar="بدل فاقد", name_en="Replacement")
        person = make_beneficiary(
            email=f"e2e-files-first-{seed}@example.sa",
            identity_number=national_id(seed),
            preferred_language="ar",
        )
        return {"type_id": service.pk, "person": person}

    with orm():
        return in_thread(prepare)


def page_fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_attachment_survives_a_validation_error(
    live_url, new_context, setup, orm, artifacts, tmp_path
):
    shot = Screenshots(artifacts, "files-first")
    page = new_context(viewport={"width": 320, "height": 800}).new_page()
    log_in(page, live_url, setup["person"].email, "/")
    page.goto(f"{live_url}/requests/new/alpha/?type={setup['type_id']}")
    assert_lang(page, "ar", "rtl")

    # A required field empty, a file chosen: the error, and the file kept and listed.
    page.fill("#id_description", DESCRIPTION)
    upload = tmp_path / FILE_NAME
    upload.write_bytes(PNG_BYTES)
    page.set_input_files("#id_attachments", str(upload))
    page.locator("main form button.btn-primary").click()
    page.wait_for_load_state()
    expect(page.locator("#id_subject_error")).to_be_visible()
    listed = page.locator("[data-pending-uploads] li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(FILE_NAME)
    expect(listed.locator("button[name=remove]")).to_be_visible()
    expect(page.locator("#id_description")).to_have_value(DESCRIPTION)
    shot(page, "1-error-file-kept")

    # Enter in the subject: the default button goes on (it does not remove the file).
    page.fill("#id_subject", SUBJECT)
    page.press("#id_subject", "Enter")
    page.wait_for_url(re.compile(r".*/requests/new/alpha/check/$"))
    expect(page.locator("[data-files]")).to_contain_text(FILE_NAME)
    expect(page.locator("[data-answers]")).to_contain_text(SUBJECT)
    assert page_fits(page), "check your answers is wider than 320 px"
    shot(page, "2-check-answers")

    # "Change" goes back with everything kept, the file included.
    page.locator("[data-answers] a[href$='#id_subject']").click()
    expect(page.locator("#id_subject")).to_have_value(SUBJECT)
    expect(page.locator("[data-pending-uploads] li")).to_contain_text(FILE_NAME)
    page.locator("main form button.btn-primary").click()
    # (the browser keeps the link's #fragment across the redirect)
    page.wait_for_url(re.compile(r".*/requests/new/alpha/check/(#id_subject)?$"))

    page.locator("main form button.btn-primary").click()
    page.wait_for_url(
        re.compile(r".*/requests/alpha/[A-Z0-9]+-\d{4}-\d{6}/submitted/(#id_subject)?$")
    )
    reference = page.locator("[data-reference]").inner_text().strip()
    assert reference in page.url
    expect(page.locator("[data-reply-by]")).to_be_visible()
    assert page_fits(page), "the confirmation page is wider than 320 px"
    shot(page, "3-confirmation")

    page.locator(f"main a[href$='/{reference}/']").click()
    expect(page.locator("main")).to_contain_text(FILE_NAME)
    with orm():
        from requests_app.models import Attachment, PendingUpload

        def check():
            with schema_context("agency_alpha"):
                names = list(
                    Attachment.objects.filter(request__reference=reference).values_list(
                        "original_name", flat=True
                    )
                )
                waiting = PendingUpload.objects.filter(uploaded_by=setup["person"]).count()
            return names, waiting

        names, waiting = in_thread(check)
    assert names == [FILE_NAME]
    assert waiting == 0
