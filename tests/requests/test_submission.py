import re

from django_tenants.utils import schema_context

from requests_app.models import Request
from requests_app.public.models import DocumentIndex, RequestIndex
from tests.factories import make_request, pdf_upload, png_upload


def test_reference_is_final_everywhere_after_submission(agency_a):
    """The number is taken at the end of the transaction: the request, its index row and its
    documents' index rows all carry the final reference, never the placeholder."""
    item = make_request(agency_a, attachments=[png_upload(), pdf_upload()])
    assert re.fullmatch(rf"{agency_a.code}-\d{{4}}-\d{{6}}", item.reference)
    with schema_context(agency_a.schema_name):
        assert Request.objects.get(pk=item.pk).reference == item.reference
    assert RequestIndex.objects.get(agency=agency_a, request_id=item.pk).reference == (
        item.reference
    )
    documents = DocumentIndex.objects.filter(agency=agency_a, request_id=item.pk)
    assert documents.count() == 2
    assert set(documents.values_list("reference", flat=True)) == {item.reference}
