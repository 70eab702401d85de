"""core.files: the building blocks any module uses for its files (the requests' attachments are
one user; their behaviour is tested in tests/requests)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import schema_context

from core.files.checks import check_upload
from core.files.downloads import private_file_response
from core.files.models import PrivateFile
from core.files.storage import private_key, private_storage
from requests_app.models import Attachment
from tests.factories import PDF_BYTES


def test_keys_start_with_the_agency_schema(agency_a):
    with schema_context(agency_a.schema_name):
        key = private_key("meetings", 12)
        again = private_key("meetings", 12)
    schema, module, owner, random = key.split("/")
    assert (schema, module, owner) == (agency_a.schema_name, "meetings", "12")
    assert len(random) == 32 and key != again


def test_the_requests_attachment_extends_the_abstract_file_and_keeps_its_table():
    assert issubclass(Attachment, PrivateFile)
    assert Attachment._meta.db_table == "requests_app_attachment"
    fields = {f.name for f in Attachment._meta.concrete_fields}
    assert {"uploaded_by", "file", "original_name", "content_type", "size", "created_at"} <= fields
    # its own key prefix, as before: <schema>/requests/<request id>/<random>
    assert Attachment._meta.get_field("file").upload_to.__name__ == "attachment_path"


def test_checks_refuse_a_disguised_executable_and_take_the_type_from_the_content():
    with pytest.raises(ValidationError) as refused:
        check_upload(SimpleUploadedFile("letter.pdf", b"MZ\x90\x00" + b"\x00" * 200))
    assert refused.value.code == "bad_type"
    checked = check_upload(SimpleUploadedFile("scan.png", PDF_BYTES, content_type="image/png"))
    assert checked.content_type == "application/pdf"


@pytest.mark.django_db
def test_a_local_private_file_is_streamed_as_a_download(agency_a, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    from core.files.storage import reset_private_storage

    reset_private_storage()
    try:
        with schema_context(agency_a.schema_name):
            name = private_storage.save(private_key("tests", 1), SimpleUploadedFile("x", PDF_BYTES))
            assert name.startswith(connection.schema_name + "/tests/1/")
        row = Attachment(original_name="رسالة.pdf", content_type="application/pdf")
        row.file.name = name
        row.file.storage = private_storage
        response = private_file_response(row)
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "private, no-store"
        assert "attachment" in response["Content-Disposition"]
    finally:
        reset_private_storage()
