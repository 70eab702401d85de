"""Serving private attachments: only after the caller's permission check."""

from django.http import FileResponse, HttpResponseRedirect

from requests_app.models import Attachment
from requests_app.storage import is_remote


def attachment_response(attachment: Attachment):
    """Stream a local file, or redirect to a short-lived presigned S3 URL."""
    if is_remote():
        response = HttpResponseRedirect(attachment.file.url)
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
