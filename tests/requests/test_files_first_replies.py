"""Issue 12, files uploaded first on the comment forms: the beneficiary's reply on their
request page and the employee's comment in the workspace keep their files (as pending uploads,
listed with "remove") when the form comes back with an error; the comment takes them when it is
sent; nobody can list, remove or attach someone else's."""

from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from requests_app import services
from requests_app.constants import Status, Visibility
from requests_app.models import Attachment, Comment, PendingUpload, Request
from requests_app.public.models import DocumentIndex
from requests_app.services.uploads import pending_upload_add
from tests.factories import PNG_BYTES, make_beneficiary, make_employee, pdf_upload, png_upload

NOT_AVAILABLE = (
    "Some of the files are no longer available: they were removed, sent "
    "already, or waited more than a day. Attach them again."
)


@pytest.fixture
def storage_root(settings, tmp_path) -> Path:
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    settings.ATTACHMENTS_S3_BUCKET = ""
    reset_private_storage()
    yield tmp_path
    reset_private_storage()


def ar(text: str) -> str:
    with translation.override("ar"):
        return gettext(text)


def bad_file(name: str = "tool.pdf") -> SimpleUploadedFile:
    """A program renamed to .pdf: refused by the content check."""
    return SimpleUploadedFile(name, b"MZ\x90\x00" + b"\x00" * 60, "application/pdf")


def files_in(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


def reply_url(team) -> str:
    return reverse(
        "requests:detail",
        kwargs={"agency_slug": team["agency"].slug, "reference": team["item"].reference},
    )


def staff_url(team, name="request_detail") -> str:
    return reverse(
        f"workspace:{name}",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk},
    )


def pending_of(team, user) -> list[PendingUpload]:
    with schema_context(team["agency"].schema_name):
        return list(PendingUpload.objects.filter(uploaded_by=user).order_by("id"))


def add_pending(team, user, *files) -> list[PendingUpload]:
    with schema_context(team["agency"].schema_name):
        created, errors = pending_upload_add(agency=team["agency"], user=user, uploads=list(files))
    assert errors == []
    return created


def snapshot(team) -> dict:
    """What a refused comment must leave as it was."""
    with schema_context(team["agency"].schema_name):
        item = Request.objects.get(pk=team["item"].pk)
        return {
            "status": item.status,
            "comments": Comment.objects.filter(request=item).count(),
            "attachments": Attachment.objects.filter(request=item).count(),
            "pending": sorted(PendingUpload.objects.values_list("pk", flat=True)),
        }


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the beneficiary's reply ------------------------------------------------------------------


def test_reply_file_survives_an_error_and_reaches_the_comment(
    client, team, storage_root, django_capture_on_commit_callbacks
):
    beneficiary, agency = team["beneficiary"], team["agency"]
    client.force_login(beneficiary)
    before = snapshot(team)
    # a good file and a refused one: the error is said, the good one is kept and listed
    response = client.post(
        reply_url(team), {"body": "", "attachments": [png_upload("هوية.png"), bad_file()]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"]
    (pending,) = pending_of(team, beneficiary)
    assert pending.original_name == "هوية.png"
    html = response.content.decode()
    assert "هوية.png" in html and "tool.pdf" not in html.split('id="reply"')[1].split("<h2")[0]
    assert f'name="pending_upload" value="{pending.pk}"' in html
    assert f'name="remove" value="{pending.pk}"' in html
    after_error = snapshot(team)
    assert {**after_error, "pending": before["pending"]} == before  # no comment, no attachment
    assert len(files_in(storage_root)) == 1

    # the message typed, the hidden id given back: sent, and the comment has the file
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reply_url(team), {"body": "هذه صورة الهوية", "pending_upload": pending.pk}
        )
    assert response.status_code == 302 and response["Location"] == reply_url(team)
    assert flashed(response) == [ar("Your comment was sent.")]
    with schema_context(agency.schema_name):
        comment = Comment.objects.get(request_id=team["item"].pk, author=beneficiary)
        assert comment.body == "هذه صورة الهوية"
        assert comment.visibility == Visibility.EXTERNAL
        (attachment,) = comment.attachments.all()
        assert attachment.original_name == "هوية.png"
        assert attachment.visibility == Visibility.EXTERNAL
        assert attachment.file.name == pending.file.name  # the stored file, not a copy
        with attachment.file.open("rb") as stored:
            assert stored.read() == PNG_BYTES
        assert not PendingUpload.objects.exists()
    assert DocumentIndex.objects.filter(
        agency=agency, request_id=team["item"].pk, attachment_id=attachment.pk
    ).exists()
    assert len(files_in(storage_root)) == 1
    # the page lists it under the comment, downloadable by its owner
    page = client.get(reply_url(team)).content.decode()
    assert "هوية.png" in page and 'name="pending_upload"' not in page


def test_a_file_only_reply_is_a_comment(client, team, storage_root):
    """An empty message with a file is a valid reply (the service's rule: text, a file or a
    voice message); with a too long message, the file is kept for the corrected one."""
    client.force_login(team["beneficiary"])
    response = client.post(
        reply_url(team), {"body": "x" * 10_001, "attachments": [pdf_upload("عقد.pdf")]}
    )
    assert response.status_code == 200
    assert "body" in response.context["form"].errors
    (pending,) = pending_of(team, team["beneficiary"])
    assert response.context["form"]["body"].value() == "x" * 10_001  # kept as typed
    response = client.post(reply_url(team), {"body": "", "pending_upload": pending.pk})
    assert response.status_code == 302
    with schema_context(team["agency"].schema_name):
        comment = Comment.objects.get(request_id=team["item"].pk)
        assert comment.body == "" and [a.original_name for a in comment.attachments.all()] == [
            "عقد.pdf"
        ]


def test_an_empty_reply_is_still_refused(client, team, storage_root):
    client.force_login(team["beneficiary"])
    before = snapshot(team)
    response = client.post(reply_url(team), {"body": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["body"] == [ar("Write a comment or attach a file.")]
    assert snapshot(team) == before


def test_answering_the_agency_with_a_kept_file_returns_the_request(client, team, storage_root):
    agency = team["agency"]
    with schema_context(agency.schema_name):
        services.request_ask_information(
            agency=agency, request_obj=team["item"], actor=team["assignee"], question="الهوية؟"
        )
    client.force_login(team["beneficiary"])
    client.post(reply_url(team), {"body": "", "attachments": [png_upload(), bad_file()]})
    (pending,) = pending_of(team, team["beneficiary"])
    with schema_context(agency.schema_name):
        assert Request.objects.get(pk=team["item"].pk).status == Status.AWAITING_BENEFICIARY
    response = client.post(reply_url(team), {"body": "تفضلوا", "pending_upload": pending.pk})
    assert response.status_code == 302
    with schema_context(agency.schema_name):
        assert Request.objects.get(pk=team["item"].pk).status == Status.IN_PROGRESS


def test_another_persons_pending_upload_is_refused_on_the_reply(client, team, storage_root):
    stranger = make_beneficiary()
    (theirs,) = add_pending(team, stranger, pdf_upload("their-letter.pdf"))
    client.force_login(team["beneficiary"])
    before = snapshot(team)

    # carried in the hidden field: refused with a message, not listed, nothing sent
    response = client.post(reply_url(team), {"body": "مرفق", "pending_upload": theirs.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"] == [ar(NOT_AVAILABLE)]
    assert response.context["pending"] == []
    assert "their-letter.pdf" not in response.content.decode()
    # removing it: refused, it stays
    response = client.post(reply_url(team), {"body": "مرفق", "remove": theirs.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"]
    assert snapshot(team) == before
    assert pending_of(team, stranger) == [theirs]
    assert len(files_in(storage_root)) == 1

    # the service refuses it as well, and changes nothing (ownership checked there too)
    with schema_context(team["agency"].schema_name), pytest.raises(ValidationError) as caught:
        services.comment_add(
            agency=team["agency"],
            request_obj=team["item"],
            author=team["beneficiary"],
            body="مرفق",
            visibility=Visibility.EXTERNAL,
            pending_upload_ids=[theirs.pk],
        )
    assert "attachments" in caught.value.message_dict
    assert snapshot(team) == before
    # so does the employee's side: an employee cannot attach the beneficiary's upload
    (beneficiarys,) = add_pending(team, team["beneficiary"], png_upload("mine.png"))
    with schema_context(team["agency"].schema_name), pytest.raises(ValidationError):
        services.comment_add(
            agency=team["agency"],
            request_obj=team["item"],
            author=team["assignee"],
            body="",
            visibility=Visibility.INTERNAL,
            pending_upload_ids=[beneficiarys.pk],
        )
    assert pending_of(team, team["beneficiary"]) == [beneficiarys]
    with schema_context(team["agency"].schema_name):
        assert not Comment.objects.filter(request_id=team["item"].pk).exists()


def test_remove_on_the_reply_deletes_the_upload_and_keeps_the_text(
    client, team, storage_root, django_capture_on_commit_callbacks
):
    client.force_login(team["beneficiary"])
    keep, drop = add_pending(team, team["beneficiary"], png_upload("keep.png"), pdf_upload("x.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reply_url(team),
            {"body": "نص لم يُرسل بعد", "pending_upload": [keep.pk, drop.pk], "remove": drop.pk},
        )
    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound and form.initial["body"] == "نص لم يُرسل بعد"  # not judged
    assert [p.pk for p in response.context["pending"]] == [keep.pk]
    assert pending_of(team, team["beneficiary"]) == [keep]
    assert files_in(storage_root) == [str(storage_root / keep.file.name)]
    html = response.content.decode()
    assert "keep.png" in html and "x.pdf" not in html and "نص لم يُرسل بعد" in html
    with schema_context(team["agency"].schema_name):
        assert not Comment.objects.filter(request_id=team["item"].pk).exists()


def test_attach_button_stores_the_files_without_sending(client, team, storage_root):
    client.force_login(team["beneficiary"])
    response = client.post(
        reply_url(team), {"body": "", "upload": "1", "attachments": [png_upload("a.png")]}
    )
    assert response.status_code == 200
    assert not response.context["form"].errors
    assert [p.original_name for p in response.context["pending"]] == ["a.png"]
    with schema_context(team["agency"].schema_name):
        assert not Comment.objects.filter(request_id=team["item"].pk).exists()


def test_reply_files_are_not_stored_for_others_or_on_a_closed_request(
    client, team, agency_b, storage_root
):
    """Refused before any file is stored: another beneficiary, another agency's employee, an
    anonymous visitor; and the owner on a closed request."""
    others = {
        "another beneficiary": make_beneficiary(),
        "another agency's employee": make_employee(agency_b),
        "the request's own agency employee": team["assignee"],  # staff use the workspace
    }
    for who, user in others.items():
        client.force_login(user)
        response = client.post(reply_url(team), {"body": "x", "attachments": [png_upload()]})
        assert response.status_code == 404, who
    client.logout()
    response = client.post(reply_url(team), {"body": "x", "attachments": [png_upload()]})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # staff of another agency cannot post the employee's comment form either
    client.force_login(others["another agency's employee"])
    response = client.post(
        staff_url(team, "request_comment"), {"body": "x", "attachments": [png_upload()]}
    )
    assert response.status_code in (403, 404)
    client.force_login(others["another beneficiary"])
    response = client.post(
        staff_url(team, "request_comment"), {"body": "x", "attachments": [png_upload()]}
    )
    assert response.status_code in (403, 404)
    with schema_context(team["agency"].schema_name):
        assert not PendingUpload.objects.exists()
    assert files_in(storage_root) == []

    with schema_context(team["agency"].schema_name):
        services.request_resolve(
            agency=team["agency"], request_obj=team["item"], actor=team["assignee"], note="تم"
        )
    client.force_login(team["beneficiary"])
    response = client.post(reply_url(team), {"body": "x", "attachments": [png_upload()]})
    assert response.status_code == 302
    assert flashed(response) == [ar("This request is closed.")]
    with schema_context(team["agency"].schema_name):
        assert not PendingUpload.objects.exists()


# --- the employee's comment -------------------------------------------------------------------


def test_staff_comment_file_survives_an_error_and_reaches_the_comment(
    client, team, storage_root, django_capture_on_commit_callbacks
):
    employee = team["assignee"]
    client.force_login(employee)
    before = snapshot(team)
    response = client.post(
        staff_url(team, "request_comment"),
        {
            "body": "للفريق",
            "visibility": Visibility.INTERNAL,
            "attachments": [pdf_upload("محضر.pdf"), bad_file()],
        },
    )
    assert response.status_code == 302 and response["Location"] == staff_url(team)
    assert flashed(response)  # the refused file, said
    (pending,) = pending_of(team, employee)
    assert {**snapshot(team), "pending": before["pending"]} == before
    # the page (after the redirect, and after any reload) has the text and the file
    for _reload in range(2):
        page = client.get(staff_url(team))
        html = page.content.decode()
        assert "محضر.pdf" in html and "للفريق" in html
        assert f'name="pending_upload" value="{pending.pk}"' in html
        assert f'name="remove" value="{pending.pk}"' in html
        assert page.context["comment_form"].initial["visibility"] == Visibility.INTERNAL

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            staff_url(team, "request_comment"),
            {"body": "للفريق", "visibility": Visibility.INTERNAL, "pending_upload": pending.pk},
        )
    assert response.status_code == 302
    assert flashed(response) == [ar("The comment was added.")]
    with schema_context(team["agency"].schema_name):
        comment = Comment.objects.get(request_id=team["item"].pk, author=employee)
        (attachment,) = comment.attachments.all()
        assert attachment.original_name == "محضر.pdf"
        assert attachment.visibility == Visibility.INTERNAL
        assert attachment.file.name == pending.file.name
        assert not PendingUpload.objects.exists()
    # internal: not in the beneficiary's documents
    assert not DocumentIndex.objects.filter(attachment_id=attachment.pk).exists()
    # the form is empty again
    page = client.get(staff_url(team))
    assert 'name="pending_upload"' not in page.content.decode()
    assert page.context["comment_form"].initial == {}


def test_staff_remove_and_another_persons_id(client, team, storage_root):
    employee = team["assignee"]
    colleague = make_employee(team["agency"])
    (theirs,) = add_pending(team, colleague, pdf_upload("theirs.pdf"))
    keep, drop = add_pending(team, employee, png_upload("keep.png"), png_upload("drop.png"))
    client.force_login(employee)
    url = staff_url(team, "request_comment")
    before = snapshot(team)

    response = client.post(
        url,
        {
            "body": "مسودة",
            "visibility": Visibility.EXTERNAL,
            "pending_upload": [keep.pk, drop.pk],
            "remove": drop.pk,
        },
    )
    assert response.status_code == 302 and flashed(response) == []
    assert pending_of(team, employee) == [keep]
    html = client.get(staff_url(team)).content.decode()
    assert "keep.png" in html and "drop.png" not in html and "مسودة" in html

    # a colleague's upload: neither attached nor removed nor listed
    response = client.post(
        url, {"body": "x", "visibility": Visibility.EXTERNAL, "pending_upload": theirs.pk}
    )
    assert flashed(response) == [ar(NOT_AVAILABLE)]
    response = client.post(
        url, {"body": "x", "visibility": Visibility.EXTERNAL, "remove": theirs.pk}
    )
    assert flashed(response)
    assert pending_of(team, colleague) == [theirs]
    assert "theirs.pdf" not in client.get(staff_url(team)).content.decode()
    after = snapshot(team)
    assert after["comments"] == before["comments"] and after["attachments"] == 0
