"""Serving private attachments: only after the caller's permission check."""

from django.http import FileResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from requests_app.models import Attachment
from requests_app.storage import is_remote


def attachment_response(attachment: Attachment):
    """Stream a local file, or redirect to a short-lived presigned S3 URL."""
    if is_remote():
        # S3 keys carry no name or extension, and S3 would serve its stored (guessed) type:
        # have the signed URL answer as a download with the checked type and the original
        # name, as the local response does (never rendered inline from the bucket's origin).
        url = attachment.file.storage.url(
            attachment.file.name,
            parameters={
                "ResponseContentDisposition": content_disposition_header(
                    True, attachment.original_name
                ),
                "ResponseContentType": attachment.content_type,
            },
        )
        response = HttpResponseRedirect(url)
    else:
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
