"""Storing attachments: the private file, its row, and (when the beneficiary may see it) the
public document index row, in the caller's transaction."""

from core.files.checks import CheckedFile
from requests_app.constants import Visibility
from requests_app.models import Attachment, Comment, Request
from requests_app.public.models import DocumentIndex
from tenants.models import Agency


def attachment_store(
    *,
    agency: Agency,
    item: Request,
    uploaded_by,
    visibility: str,
    checked: CheckedFile,
    comment: Comment | None = None,
    is_voice: bool = False,
    duration_seconds: int | None = None,
) -> Attachment:
    attachment = Attachment.objects.create(
        request=item,
        comment=comment,
        uploaded_by=uploaded_by,
        visibility=visibility,
        file=checked.upload,
        original_name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        is_voice=is_voice,
        duration_seconds=duration_seconds,
    )
    if visibility == Visibility.EXTERNAL:
        request_type = item.transaction_type
        DocumentIndex.objects.create(
            agency=agency,
            request_id=item.pk,
            reference=item.reference,
            attachment_id=attachment.pk,
            beneficiary_id=item.beneficiary_id,
            type_name_ar=request_type.name_ar,
            type_name_en=request_type.name_en,
            name=attachment.original_name,
            content_type=attachment.content_type,
            size=attachment.size,
            uploaded_by_agency=uploaded_by.pk != item.beneficiary_id,
            created_at=attachment.created_at,
        )
    return attachment
