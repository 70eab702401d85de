"""Storing attachments: the private file, its row, and (when the beneficiary may see it) the
public document index row, in the caller's transaction."""

from core.files.checks import CheckedFile
from requests_app.constants import Visibility
from requests_app.models import Attachment, Comment, PendingUpload, Request
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
    _document_index(agency=agency, item=item, attachment=attachment, uploaded_by=uploaded_by)
    return attachment


def attachment_from_pending(
    *,
    agency: Agency,
    item: Request,
    visibility: str,
    pending: PendingUpload,
    comment: Comment | None = None,
) -> Attachment:
    """The attachment of a pending upload the caller has taken (services.uploads): its stored
    file (checked when it was uploaded) becomes the attachment's, under the same key."""
    attachment = Attachment.objects.create(
        request=item,
        comment=comment,
        uploaded_by_id=pending.uploaded_by_id,
        visibility=visibility,
        file=pending.file.name,
        original_name=pending.original_name,
        content_type=pending.content_type,
        size=pending.size,
    )
    _document_index(
        agency=agency, item=item, attachment=attachment, uploaded_by=pending.uploaded_by_id
    )
    return attachment


def _document_index(*, agency: Agency, item: Request, attachment: Attachment, uploaded_by) -> None:
    uploaded_by_id = getattr(uploaded_by, "pk", uploaded_by)
    if attachment.visibility == Visibility.EXTERNAL:
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
            uploaded_by_agency=uploaded_by_id != item.beneficiary_id,
            created_at=attachment.created_at,
        )
