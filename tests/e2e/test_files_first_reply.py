"""Issue 12 ("How it is shown"): an attachment of a reply survives a validation error, in a real
browser, on a 320 px phone, in Arabic.

The beneficiary replies on their request page with no message, a file and a refused second
file (a program renamed to .pdf): the form comes back with the error, linked from the error
summary, and the good file listed with "remove"; the page fits the screen. They type the message
and send: the comment has the file (the same stored file), nothing is left waiting. An empty
message with a file alone is a valid reply (text, a file or a voice message), so the error here
is the refused file. Screenshots go to tests/e2e/artifacts/files-first-reply-*.png.
"""

import re

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from tests.e2e.helpers import Screenshots, assert_lang
from tests.e2e.test_request_journey import in_thread, log_in
from tests.factories import PNG_BYTES, make_beneficiary, make_request, make_type, national_id

pytestmark = pytest.mark.e2e

FILE_NAME = "صورة-العقد.png"
REFUSED_NAME = "برنامج.pdf"
MESSAGE = "أرفقت صورة العقد كما طلبتم."


@pytest.fixture
def setup(agencies, orm, seed) -> dict:
    alpha = agencies["alpha"]

    def prepare() -> dict:
        service = make_type(alpha, name_ar="توثيق عقد", name_en="Contract")
        person = make_beneficiary(
            email=f"e2e-reply-files-{seed}@example.sa",
            identity_number=national_id(seed),
            preferred_language="ar",
        )
        item = make_request(alpha, beneficiary=person, request_type=service, subject="توثيق عقد")
        return {"person": person, "reference": item.reference}

    with orm():
        return in_thread(prepare)


def page_fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_reply_attachment_survives_an_error(live_url, new_context, setup, orm, artifacts, tmp_path):
    shot = Screenshots(artifacts, "files-first-reply")
    reference = setup["reference"]
    page = new_context(viewport={"width": 320, "height": 800}).new_page()
    log_in(page, live_url, setup["person"].email, f"/requests/alpha/{reference}/")
    assert_lang(page, "ar", "rtl")

    good = tmp_path / FILE_NAME
    good.write_bytes(PNG_BYTES)
    refused = tmp_path / REFUSED_NAME
    refused.write_bytes(b"MZ\x90\x00" + b"\x00" * 60)
    form = page.locator("#reply-form")
    page.set_input_files("#id_attachments", [str(good), str(refused)])
    form.locator("button.btn-primary").click()
    page.wait_for_load_state()

    # The error, linked from the summary (which takes the focus); the good file kept.
    expect(page.locator("#id_attachments_error")).to_be_visible()
    summary_link = page.locator("a[href='#id_attachments']")
    expect(summary_link).to_have_count(1)
    listed = page.locator("#reply-form [data-pending-uploads] li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(FILE_NAME)
    expect(listed.locator("button[name=remove]")).to_be_visible()
    assert REFUSED_NAME not in listed.inner_text()
    assert page_fits(page), "the request page with the error is wider than 320 px"
    shot(page, "1-error-file-kept")

    # The message typed, sent: the comment carries the file.
    page.fill("#id_body", MESSAGE)
    page.locator("#reply-form button.btn-primary").click()
    page.wait_for_url(re.compile(rf".*/requests/alpha/{reference}/$"))
    timeline = page.locator("main .timeline")
    expect(timeline).to_contain_text(MESSAGE)
    expect(timeline.locator("a", has_text=FILE_NAME)).to_have_count(1)
    expect(page.locator("#reply-form [data-pending-uploads]")).to_have_count(0)
    assert page_fits(page), "the request page is wider than 320 px"
    shot(page, "2-sent")

    with orm():
        from requests_app.models import Comment, PendingUpload

        def check():
            with schema_context("agency_alpha"):
                comment = Comment.objects.get(request__reference=reference, author=setup["person"])
                names = [a.original_name for a in comment.attachments.all()]
                waiting = PendingUpload.objects.filter(uploaded_by=setup["person"]).count()
            return comment.body, names, waiting

        body, names, waiting = in_thread(check)
    assert body == MESSAGE
    assert names == [FILE_NAME]
    assert waiting == 0
