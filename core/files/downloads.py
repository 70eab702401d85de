"""Serving private files: only after the caller's permission check (the caller finds the row
through a selector that applies who may see it, and answers 404 otherwise)."""

from django.http import FileResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from core.files.storage import is_remote


def private_file_response(attachment):
    """Stream a local file, or redirect to a short-lived presigned S3 URL. ``attachment``: a
    row with ``file``, ``original_name`` and ``content_type`` (see core.files.models)."""
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
