"""Issue 12: files uploaded first (pending uploads: owner only, removal, cleanup job), "check
your answers" before a request is created, and the confirmation page after it."""

import math
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from requests_app.constants import Priority
from requests_app.models import Attachment, PendingUpload, Request
from requests_app.public.models import DocumentIndex
from requests_app.services import request_submit
from requests_app.services.sla import agency_calendar, sla_targets
from requests_app.services.uploads import (
    PENDING_UPLOAD_TTL,
    pending_upload_add,
    pending_upload_remove,
)
from requests_app.tasks import pending_uploads_clean
from tests.factories import (
    PNG_BYTES,
    make_beneficiary,
    make_employee,
    make_type,
    pdf_upload,
    png_upload,
)


@pytest.fixture
def local_storage(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    settings.ATTACHMENTS_S3_BUCKET = ""
    reset_private_storage()
    yield tmp_path
    reset_private_storage()


@pytest.fixture
def service(agency_a):
    return make_type(agency_a, name_ar="تجديد رخصة", name_en="Licence renewal")


@pytest.fixture
def person(agency_a):
    return make_beneficiary()


def files_in(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


def form_url(agency):
    return reverse("requests:new", kwargs={"agency_slug": agency.slug})


def check_url(agency):
    return reverse("requests:check", kwargs={"agency_slug": agency.slug})


def answers(service, **overrides) -> dict:
    return {
        "transaction_type": service.pk,
        "subject": "تجديد رخصتي",
        "priority": Priority.NORMAL,
        "description": "أرجو تجديد الرخصة",
        **overrides,
    }


def pending_of(agency, user) -> list[PendingUpload]:
    with schema_context(agency.schema_name):
        return list(PendingUpload.objects.filter(uploaded_by=user))


def add_pending(agency, user, *uploads) -> list[PendingUpload]:
    with schema_context(agency.schema_name):
        created, errors = pending_upload_add(agency=agency, user=user, uploads=list(uploads))
    assert errors == []
    return created


def requests_of(agency, user) -> int:
    with schema_context(agency.schema_name):
        return Request.objects.filter(beneficiary=user).count()


# --- the attachment survives a validation error ---------------------------------------------


def test_attachment_survives_a_validation_error_and_reaches_the_request(
    client, agency_a, service, person, local_storage, django_capture_on_commit_callbacks
):
    client.force_login(person)
    response = client.post(
        form_url(agency_a),
        {**answers(service, subject=""), "attachments": [png_upload("هوية.png")]},
    )
    assert response.status_code == 200
    assert "subject" in response.context["form"].errors
    (pending,) = pending_of(agency_a, person)
    html = response.content.decode()
    assert "هوية.png" in html
    assert f'name="pending_upload" value="{pending.pk}"' in html
    assert f'name="remove" value="{pending.pk}"' in html
    assert requests_of(agency_a, person) == 0
    assert len(files_in(local_storage)) == 1  # stored at once, in the private storage

    # corrected, with the hidden id the page gave back: check your answers, nothing created
    response = client.post(form_url(agency_a), {**answers(service), "pending_upload": pending.pk})
    assert response.status_code == 302 and response["Location"] == check_url(agency_a)
    assert requests_of(agency_a, person) == 0
    page = client.get(check_url(agency_a))
    assert page.status_code == 200
    html = page.content.decode()
    for shown in ("هوية.png", "تجديد رخصتي", "أرجو تجديد الرخصة", service.name_ar):
        assert escape(shown) in html, shown
    assert html.count("?change=1#id_") == 5

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(check_url(agency_a))
    assert response.status_code == 302
    with schema_context(agency_a.schema_name):
        item = Request.objects.get(beneficiary=person)
        (attachment,) = Attachment.objects.filter(request=item)
        assert attachment.original_name == "هوية.png"
        assert attachment.file.name == pending.file.name  # the same stored file, not a copy
        with attachment.file.open("rb") as stored:
            assert stored.read() == PNG_BYTES
        assert not PendingUpload.objects.filter(pk=pending.pk).exists()
    assert response["Location"] == reverse(
        "requests:submitted", kwargs={"agency_slug": agency_a.slug, "reference": item.reference}
    )
    assert DocumentIndex.objects.filter(agency=agency_a, request_id=item.pk).count() == 1
    assert len(files_in(local_storage)) == 1
    # the draft is gone: the check page sends back to the form, a second POST creates nothing
    assert client.get(check_url(agency_a))["Location"] == form_url(agency_a)
    client.post(check_url(agency_a))
    assert requests_of(agency_a, person) == 1


def test_a_refused_file_is_said_and_the_accepted_one_kept(client, agency_a, service, person):
    client.force_login(person)
    bad = SimpleUploadedFile("tool.pdf", b"MZ\x90\x00" + b"\x00" * 60, "application/pdf")
    response = client.post(
        form_url(agency_a), {**answers(service), "attachments": [png_upload("ok.png"), bad]}
    )
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert [p.original_name for p in pending_of(agency_a, person)] == ["ok.png"]
    assert "ok.png" in response.content.decode()


# --- ownership ------------------------------------------------------------------------------


def test_another_persons_pending_upload_is_refused_everywhere(
    client, agency_a, service, person, local_storage
):
    owner = make_beneficiary()
    (theirs,) = add_pending(agency_a, owner, pdf_upload("their-letter.pdf"))
    client.force_login(person)

    # carried in the form's hidden field: refused with a message, not listed, nothing made
    response = client.post(form_url(agency_a), {**answers(service), "pending_upload": theirs.pk})
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert "their-letter.pdf" not in response.content.decode()
    assert response.context["pending"] == []

    # removing it: refused, it stays
    response = client.post(form_url(agency_a), {**answers(service), "remove": theirs.pk})
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert pending_of(agency_a, owner) == [theirs]

    # the service refuses it too, and changes nothing
    with schema_context(agency_a.schema_name), pytest.raises(ValidationError) as caught:
        request_submit(
            agency=agency_a,
            beneficiary=person,
            transaction_type_id=service.pk,
            subject="s",
            description="d",
            pending_upload_ids=[theirs.pk],
        )
    assert "attachments" in caught.value.message_dict
    assert requests_of(agency_a, person) == 0
    assert pending_of(agency_a, owner) == [theirs]
    assert len(files_in(local_storage)) == 1
    with schema_context(agency_a.schema_name):
        assert not Attachment.objects.filter(file=theirs.file.name).exists()

    # and a draft that names it (a forged session is not possible, but an expired or stolen
    # id is the same case) cannot take it either
    session = client.session
    session[f"requests:draft:{agency_a.pk}"] = {**answers(service), "pending": [theirs.pk]}
    session.save()
    response = client.post(check_url(agency_a))
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert requests_of(agency_a, person) == 0
    assert pending_of(agency_a, owner) == [theirs]


def test_remove_deletes_the_upload_and_its_file(
    client, agency_a, service, person, local_storage, django_capture_on_commit_callbacks
):
    client.force_login(person)
    keep, drop = add_pending(agency_a, person, png_upload("keep.png"), pdf_upload("drop.pdf"))
    assert len(files_in(local_storage)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            form_url(agency_a),
            {
                **answers(service, subject=""),
                "pending_upload": [keep.pk, drop.pk],
                "remove": drop.pk,
            },
        )
    assert response.status_code == 200
    # the form comes back as typed, without judging it (the person only removed a file)
    assert not response.context["form"].is_bound
    assert [p.pk for p in response.context["pending"]] == [keep.pk]
    assert pending_of(agency_a, person) == [keep]
    assert files_in(local_storage) == [str(local_storage / keep.file.name)]
    html = response.content.decode()
    assert "keep.png" in html and "drop.pdf" not in html


def test_more_than_ten_files_on_one_form_are_refused(agency_a, person, local_storage):
    with schema_context(agency_a.schema_name):
        created, errors = pending_upload_add(
            agency=agency_a,
            user=person,
            uploads=[png_upload(f"p{n}.png") for n in range(3)],
            kept=8,
        )
    assert created == [] and len(errors) == 1
    assert pending_of(agency_a, person) == []
    assert files_in(local_storage) == []


# --- cleanup ----------------------------------------------------------------------------------


def test_cleanup_job_deletes_stale_pending_uploads_and_their_files(
    agency_a, agency_b, person, local_storage, django_capture_on_commit_callbacks
):
    old_a, fresh_a = add_pending(agency_a, person, png_upload("old.png"), png_upload("new.png"))
    (old_b,) = add_pending(agency_b, person, pdf_upload("old-b.pdf"))
    long_ago = timezone.now() - PENDING_UPLOAD_TTL - timedelta(minutes=1)
    for agency, row in ((agency_a, old_a), (agency_b, old_b)):
        with schema_context(agency.schema_name):
            PendingUpload.objects.filter(pk=row.pk).update(created_at=long_ago)
    assert len(files_in(local_storage)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_uploads_clean(timestamp=0) == 2
    assert pending_of(agency_a, person) == [fresh_a]
    assert pending_of(agency_b, person) == []
    assert files_in(local_storage) == [str(local_storage / fresh_a.file.name)]
    # an expired one can no longer be used
    with schema_context(agency_a.schema_name):
        PendingUpload.objects.filter(pk=fresh_a.pk).update(created_at=long_ago)
        with pytest.raises(ValidationError):
            pending_upload_remove(agency=agency_a, user=make_beneficiary(), upload_id=fresh_a.pk)


# --- check your answers -----------------------------------------------------------------------


def test_check_your_answers_keeps_everything_on_change(client, agency_a, service, person):
    client.force_login(person)
    assert client.get(check_url(agency_a))["Location"] == form_url(agency_a)  # no draft yet
    data = answers(service, subject="موضوع أول", description="سطر أول\nسطر ثان")
    assert client.post(form_url(agency_a), data).status_code == 302
    assert requests_of(agency_a, person) == 0
    page = client.get(check_url(agency_a)).content.decode()
    assert "موضوع أول" in page and "سطر أول<br>سطر ثان" in page

    # "change": the form again with every value, then a new answer replaces the old one
    form = client.get(form_url(agency_a) + "?change=1")
    assert form.context["form"].initial["subject"] == "موضوع أول"
    assert "موضوع أول" in form.content.decode()
    client.post(form_url(agency_a), {**data, "subject": "موضوع ثان"})
    page = client.get(check_url(agency_a)).content.decode()
    assert "موضوع ثان" in page and "موضوع أول" not in page
    assert requests_of(agency_a, person) == 0
    client.post(check_url(agency_a))
    with schema_context(agency_a.schema_name):
        assert Request.objects.get(beneficiary=person).subject == "موضوع ثان"


def test_check_page_and_form_need_sign_in(client, agency_a):
    for url in (form_url(agency_a), check_url(agency_a)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert client.post(url).status_code == 302


# --- the confirmation page --------------------------------------------------------------------


def submit_through_the_pages(client, agency, service) -> Request:
    client.post(form_url(agency), answers(service))
    response = client.post(check_url(agency))
    assert response.status_code == 302
    reference = response["Location"].rstrip("/").split("/")[-2]
    with schema_context(agency.schema_name):
        return Request.objects.select_related("transaction_type").get(reference=reference)


def test_confirmation_page_gives_reference_reply_date_and_next_steps(
    client, agency_a, service, person
):
    client.force_login(person)
    item = submit_through_the_pages(client, agency_a, service)
    url = reverse(
        "requests:submitted", kwargs={"agency_slug": agency_a.slug, "reference": item.reference}
    )
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'dir="ltr" data-reference>{item.reference}<' in html
    assert "text-nowrap" in html
    with schema_context(agency_a.schema_name):
        calendar, _config = agency_calendar()
        hours = sla_targets(item)[1]
    days = math.ceil(hours / (calendar.seconds_per_day / 3600))
    assert response.context["working_days"] == days == 6  # 48 working hours of 8-hour days
    assert response.context["reply_by"] == timezone.localtime(item.due_at).date()
    assert (
        reverse(
            "requests:detail", kwargs={"agency_slug": agency_a.slug, "reference": item.reference}
        )
        in html
    )
    assert reverse("requests:mine") in html
    assert "data-reply-by" in html and "data-confirmation-panel" in html


def test_confirmation_page_refuses_others(client, agency_a, agency_b, service, person):
    client.force_login(person)
    item = submit_through_the_pages(client, agency_a, service)
    url = reverse(
        "requests:submitted", kwargs={"agency_slug": agency_a.slug, "reference": item.reference}
    )
    for someone_else in (make_beneficiary(), make_employee(agency_a, roles=("admin",))):
        client.force_login(someone_else)
        assert client.get(url).status_code == 404
    # the same reference under another agency is not it
    client.force_login(person)
    other = reverse(
        "requests:submitted", kwargs={"agency_slug": agency_b.slug, "reference": item.reference}
    )
    assert client.get(other).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
