"""Attachments (R-4): refused with a clear message and nothing written, accepted by content;
stored privately on local disk, and on S3 (moto's server over real HTTP) behind presigned URLs.
"""

import io
import logging
import re
import struct
import urllib.error
import urllib.request
import uuid
import wave
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import filetype
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from notifications.models import Notification
from requests_app.models import Attachment, Request
from requests_app.public.models import RequestIndex
from requests_app.services import request_submit
from tests.factories import PDF_BYTES, PNG_BYTES, make_beneficiary, make_employee, make_type

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- sample files -----------------------------------------------------------------------------

JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00C\x00" + bytes(range(1, 65)) + b"\xff\xd9"
)
OGG_BYTES = (
    b"OggS\x00\x02" + b"\x00" * 8 + b"\x01\x00\x00\x00" + b"\x00" * 8 + b"\x01\x1e"
    b"\x01vorbis\x00\x00\x00\x00\x01\x44\xac\x00\x00" + b"\x00" * 12 + b"\xb8\x01"
)
MP3_BYTES = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413
ARABIC_TEXT = "السلام عليكم\nأرفقت صورة الهوية الوطنية، وشكراً.\n".encode()
# A DOS stub pointing at a PE header: what a renamed Windows program starts with.
PE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + struct.pack("<I", 0x80)
    + b"\x00" * (0x80 - 64)
    + b"PE\x00\x00\x4c\x01\x03\x00"
    + b"\x00" * 200
)
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x00" * 800)  # 0.1 s of silence
    return buffer.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="{part}" ContentType="application/vnd.openxmlformats-officedocument.'
    '{kind}.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="{target}"/></Relationships>'
)
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>طلب إصدار شهادة</w:t></w:r></w:p></w:body></w:document>"
)


def docx_bytes(*, extra_first: int = 0, macros: bool = False) -> bytes:
    """A minimal Word document; ``extra_first`` parts (docProps, customXml) come before
    word/document.xml, as Word and LibreOffice often write them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            CONTENT_TYPES.format(part="/word/document.xml", kind="wordprocessingml.document"),
        )
        archive.writestr("_rels/.rels", RELS.format(target="word/document.xml"))
        for n in range(extra_first):
            folder = "docProps" if n < 2 else "customXml"
            archive.writestr(f"{folder}/item{n}.xml", f"<item n='{n}'/>")
        archive.writestr("word/document.xml", DOCUMENT)
        if macros:
            archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro" * 20)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            CONTENT_TYPES.format(part="/xl/workbook.xml", kind="spreadsheetml.sheet"),
        )
        archive.writestr("_rels/.rels", RELS.format(target="xl/workbook.xml"))
        for n in range(4):
            archive.writestr(f"docProps/item{n}.xml", "<x/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", PE_BYTES)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    # The browser's claimed type is deliberately ignored by the checks.
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def local_storage(settings, tmp_path) -> Path:
    """Attachments on local disk, in a directory of this test."""
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    settings.ATTACHMENTS_S3_BUCKET = ""
    reset_private_storage()
    yield tmp_path
    reset_private_storage()  # rebuilt lazily, from the restored settings


@pytest.fixture
def person(agency_a):
    return make_beneficiary()


@pytest.fixture
def service(agency_a):
    return make_type(agency_a)


def submit(agency, person, service, files):
    return request_submit(
        agency=agency,
        beneficiary=person,
        transaction_type_id=service.pk,
        subject="طلب مع مرفقات",
        description="أرجو الاطلاع على المرفقات",
        attachments=files,
    )


def snapshot(agency, person, root: Path | None = None) -> dict:
    with schema_context(agency.schema_name):
        state = {
            "requests": Request.objects.count(),
            "attachments": Attachment.objects.count(),
        }
    state["index"] = RequestIndex.objects.filter(beneficiary=person).count()
    state["notifications"] = Notification.objects.filter(recipient=person).count()
    if root is not None:
        state["files"] = sorted(str(p) for p in root.rglob("*") if p.is_file())
    return state


def saved_attachment(agency, item) -> Attachment:
    with schema_context(agency.schema_name):
        return Attachment.objects.get(request_id=item.pk)


# --- refused ----------------------------------------------------------------------------------

REFUSED = {
    "too_big": ("scan.pdf", PDF_BYTES + b"%" * 3000, "scan.pdf is too big"),
    "exe_as_pdf": ("invoice.pdf", PE_BYTES, "invoice.pdf is not an accepted type"),
    "elf_as_pdf": ("report.pdf", ELF_BYTES, "report.pdf is not an accepted type"),
    "exe_as_png": ("photo.png", PE_BYTES, "photo.png is not an accepted type"),
    "empty": ("empty.pdf", b"", "empty.pdf is empty"),
    "txt_with_nuls": ("notes.txt", b"hello\x00\x00world\n", "notes.txt is not an accepted type"),
    "txt_not_utf8": ("latin.txt", "café olé".encode("latin-1"), "latin.txt is not an accepted"),
    "text_as_pdf": ("letter.pdf", "نص عادي".encode(), "letter.pdf is not an accepted type"),
    "zip_as_docx": ("contract.docx", plain_zip(), "contract.docx is not an accepted type"),
    "macro_docx": ("memo.docx", docx_bytes(macros=True), "memo.docx is not an accepted type"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_attachment_is_refused_and_nothing_is_created(
    case, agency_a, person, service, local_storage, settings
):
    name, content, message = REFUSED[case]
    settings.ATTACHMENT_MAX_BYTES = 2048
    before = snapshot(agency_a, person, local_storage)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        submit(agency_a, person, service, [upload(name, content, "application/pdf")])
    errors = caught.value.message_dict
    assert list(errors) == ["attachments"]
    assert len(errors["attachments"]) == 1
    assert errors["attachments"][0].startswith(message), errors
    if case == "too_big":
        assert "the limit is 2.0\xa0KB" in errors["attachments"][0]
    assert snapshot(agency_a, person, local_storage) == before
    assert before["files"] == []


def test_the_refusal_is_said_in_arabic_too(agency_a, person, service, local_storage):
    with translation.override("ar"), pytest.raises(ValidationError) as caught:
        submit(agency_a, person, service, [upload("invoice.pdf", PE_BYTES)])
    (message,) = caught.value.message_dict["attachments"]
    assert "invoice.pdf" in message
    assert re.search("[\u0600-\u06ff]", message), message


def test_one_bad_file_refuses_the_whole_submission(agency_a, person, service, local_storage):
    before = snapshot(agency_a, person, local_storage)
    files = [
        upload("letter.pdf", PDF_BYTES),
        upload("invoice.pdf", PE_BYTES),
        upload("tool.pdf", ELF_BYTES),
    ]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        submit(agency_a, person, service, files)
    messages = caught.value.message_dict["attachments"]
    assert len(messages) == 2
    assert messages[0].startswith("invoice.pdf") and messages[1].startswith("tool.pdf")
    assert snapshot(agency_a, person, local_storage) == before  # not even letter.pdf


def test_the_form_shows_the_refusal_and_creates_nothing(
    client, agency_a, person, service, local_storage
):
    client.force_login(person)
    before = snapshot(agency_a, person, local_storage)
    response = client.post(
        reverse("requests:new", kwargs={"agency_slug": agency_a.slug}),
        {
            "transaction_type": service.pk,
            "subject": "طلب",
            "priority": "normal",
            "description": "وصف",
            "attachments": [upload("invoice.pdf", PE_BYTES, "application/pdf")],
        },
    )
    assert response.status_code == 200
    with translation.override(person.preferred_language):  # the page speaks the user's language
        expected = gettext(
            "%(name)s is not an accepted type of file (documents, images and audio only)."
        ) % {"name": "invoice.pdf"}
    assert expected != "" and escape(expected) in response.content.decode()
    assert snapshot(agency_a, person, local_storage) == before


# --- accepted ---------------------------------------------------------------------------------

ACCEPTED = {
    "pdf": ("letter.pdf", PDF_BYTES, "application/pdf"),
    "png": ("photo.png", PNG_BYTES, "image/png"),
    "jpeg": ("photo.jpg", JPEG_BYTES, "image/jpeg"),
    "wav": ("voice.wav", wav_bytes(), "audio/wav"),
    "ogg": ("voice.ogg", OGG_BYTES, "audio/ogg"),
    "mp3": ("voice.mp3", MP3_BYTES, "audio/mpeg"),
    "arabic_txt": ("ملاحظات.txt", ARABIC_TEXT, "text/plain"),
    "docx": ("خطاب.docx", docx_bytes(), DOCX),
    "docx_parts_late": ("report.docx", docx_bytes(extra_first=4), DOCX),
    "xlsx_parts_late": ("table.xlsx", xlsx_bytes(), XLSX),
    "wav_named_bin": ("recording", wav_bytes(), "audio/wav"),  # the name does not matter
}


def test_filetype_recognises_the_minimal_docx():
    kind = filetype.guess(docx_bytes())
    assert kind is not None and kind.mime == DOCX


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_allowed_attachment_is_stored_and_downloadable(
    case, client, agency_a, person, service, local_storage
):
    name, content, content_type = ACCEPTED[case]
    item = submit(agency_a, person, service, [upload(name, content, "text/html")])
    attachment = saved_attachment(agency_a, item)
    assert attachment.content_type == content_type
    assert attachment.original_name == name
    assert attachment.size == len(content)
    # Stored privately under the agency's schema, by a generated name.
    stored = local_storage / attachment.file.name
    assert attachment.file.name.startswith(f"{agency_a.schema_name}/requests/{item.pk}/")
    assert stored.read_bytes() == content
    assert name not in attachment.file.name

    client.force_login(person)
    response = client.get(
        reverse(
            "requests:file",
            kwargs={
                "agency_slug": agency_a.slug,
                "reference": item.reference,
                "file_id": attachment.pk,
            },
        )
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


# --- S3 through moto's server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's S3 in server mode: real HTTP on a local port, for the module's tests."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, settings, monkeypatch):
    """Attachments on S3: a fresh private bucket, storage rebuilt for it, and back after."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    region = "me-south-1"
    bucket = f"muamalat-attachments-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=region)
    # As S3 creates buckets by default since 2023: ACLs disabled (moto does not enforce it;
    # the upload test checks that no ACL is sent, which such buckets would refuse).
    client.create_bucket(
        Bucket=bucket,
        CreateBucketConfiguration={"LocationConstraint": region},
        ObjectOwnership="BucketOwnerEnforced",
    )
    settings.ATTACHMENTS_S3_BUCKET = bucket
    settings.ATTACHMENTS_S3_ENDPOINT_URL = moto_endpoint
    settings.ATTACHMENTS_S3_REGION = region
    settings.ATTACHMENT_URL_TTL_SECONDS = 120
    reset_private_storage()
    yield {"client": client, "bucket": bucket, "endpoint": moto_endpoint}
    reset_private_storage()  # rebuilt lazily, from the restored settings (local disk)


def keys(s3, prefix: str = "") -> list[str]:
    listing = s3["client"].list_objects_v2(Bucket=s3["bucket"], Prefix=prefix)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def test_s3_attachment_is_private_and_served_by_a_presigned_url(
    s3, client, agency_a, person, service
):
    from core.files.storage import private_storage

    sent: list[dict] = []
    private_storage.connection.meta.client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **kwargs: sent.append({k.lower(): v for k, v in request.headers.items()}),
    )
    name = "صورة الهوية.png"
    # The browser claims text/html: the bucket must keep the type found in the content.
    item = submit(agency_a, person, service, [upload(name, PNG_BYTES, "text/html")])
    attachment = saved_attachment(agency_a, item)
    # One upload over HTTP, with no ACL (a bucket with ACLs disabled refuses "private").
    assert len(sent) == 1
    assert "x-amz-acl" not in sent[0] and "x-amz-grant-read" not in sent[0]

    # In the bucket, under the agency's schema.
    (key,) = keys(s3)
    assert key == f"attachments/{attachment.file.name}"
    assert re.fullmatch(rf"attachments/agency_alpha/requests/{item.pk}/[0-9a-f]{{32}}", key)
    stored = s3["client"].get_object(Bucket=s3["bucket"], Key=key)
    assert stored["Body"].read() == PNG_BYTES
    assert stored["ContentType"] == "image/png"

    # Private: an unsigned request is refused, and no grant opens it to everyone.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3['endpoint']}/{s3['bucket']}/{key}", timeout=10)
    assert refused.value.code == 403
    grants = s3["client"].get_object_acl(Bucket=s3["bucket"], Key=key)["Grants"]
    public = {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
    assert not [g for g in grants if g["Grantee"].get("URI") in public], grants

    # The beneficiary's download answers a redirect to a short-lived presigned URL ...
    url = reverse(
        "requests:file",
        kwargs={
            "agency_slug": agency_a.slug,
            "reference": item.reference,
            "file_id": attachment.pk,
        },
    )
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    location = response["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == s3["endpoint"]
    assert parts.path == f"/{s3['bucket']}/{key}"
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Signature"][0]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=120" in location

    # ... which, fetched over HTTP, gives the file as a download with its name and type.
    with urllib.request.urlopen(location, timeout=10) as fetched:
        assert fetched.status == 200
        assert fetched.read() == PNG_BYTES
        assert fetched.headers["Content-Type"] == "image/png"
        disposition = fetched.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote(name)}" in disposition

    # Nobody else is sent there.
    client.force_login(make_beneficiary())
    assert client.get(url).status_code == 404
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "X-Amz-Signature" not in response["Location"]

    # Staff of the agency download through their own permission-checked view.
    admin = make_employee(agency_a, roles=("admin",))
    client.force_login(admin)
    response = client.get(
        reverse(
            "workspace:request_file",
            kwargs={"agency_slug": agency_a.slug, "request_id": item.pk, "file_id": attachment.pk},
        )
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3['endpoint']}/{s3['bucket']}/{key}?")
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read() == PNG_BYTES


def test_s3_refused_attachment_writes_no_object(s3, agency_a, person, service):
    before = snapshot(agency_a, person)
    with pytest.raises(ValidationError):
        submit(
            agency_a,
            person,
            service,
            [upload("letter.pdf", PDF_BYTES), upload("invoice.pdf", PE_BYTES)],
        )
    assert keys(s3) == []
    assert snapshot(agency_a, person) == before
    # And a good submission afterwards writes exactly its own files.
    item = submit(
        agency_a, person, service, [upload("letter.pdf", PDF_BYTES), upload("v.wav", wav_bytes())]
    )
    stored = keys(s3, prefix=f"attachments/agency_alpha/requests/{item.pk}/")
    assert len(stored) == 2 and keys(s3) == stored
