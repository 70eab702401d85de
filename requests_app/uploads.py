"""Attachment checks: size limit and type detected from the content, not the name."""

import codecs
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

DOCUMENTS = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
IMAGES = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/tiff",
    "image/bmp",
}
AUDIO = {
    "audio/mpeg",
    "audio/ogg",
    "audio/x-wav",
    "audio/wav",
    "audio/webm",
    "audio/mp4",
    "audio/m4a",
    "audio/x-m4a",
    "audio/aac",
    "audio/x-flac",
    "audio/amr",
    "video/webm",
}
TEXT_EXTENSIONS = {"txt": "text/plain", "csv": "text/csv"}
ALLOWED = DOCUMENTS | IMAGES | AUDIO


@dataclass
class CheckedFile:
    upload: UploadedFile
    content_type: str
    name: str
    size: int


def _head(upload: UploadedFile, size: int = 8192) -> bytes:
    upload.seek(0)
    head = upload.read(size)
    upload.seek(0)
    return head


def check_upload(upload: UploadedFile, *, allowed: set[str] | None = None) -> CheckedFile:
    """Refuse files that are too big or whose content is not an allowed type (a renamed
    executable stays an executable)."""
    allowed = allowed or ALLOWED
    name = (upload.name or "file").rsplit("/", 1)[-1][:200]
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is too big (%(size)s); the limit is %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            },
            code="too_big",
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, code="empty")
    head = _head(upload)
    kind = filetype.guess(head)
    if kind is not None:
        content_type = {"audio/x-wav": "audio/wav"}.get(kind.mime, kind.mime)
        if kind.mime in allowed or content_type in allowed:
            return CheckedFile(upload, content_type, name, upload.size)
    else:
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in TEXT_EXTENSIONS and allowed is ALLOWED and _is_text(upload):
            return CheckedFile(upload, TEXT_EXTENSIONS[extension], name, upload.size)
    raise ValidationError(
        _("%(name)s is not an accepted type of file (documents, images and audio only).")
        % {"name": name},
        code="bad_type",
    )


def _is_text(upload: UploadedFile) -> bool:
    upload.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in upload.chunks():
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        upload.seek(0)
    return True
