"""Upload checks: size limit and type detected from the content, not the name."""

import codecs
import zipfile
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
ZIP = "application/zip"
# Office Open XML packages are zips; their main part says which document they are.
OOXML_MAIN_PARTS = {
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
}
OOXML = set(OOXML_MAIN_PARTS.values())


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
    detected = kind.mime if kind is not None else None
    if detected == ZIP or detected in OOXML:
        # filetype only looks at the first few entries of a zip: Word, Excel and LibreOffice
        # often put docProps/ and customXml/ first, so a real .docx can look like a bare zip.
        # Read the archive's directory (and its small content-types manifest) instead.
        detected = _ooxml_type(upload)
    if detected is not None:
        content_type = {"audio/x-wav": "audio/wav"}.get(detected, detected)
        if detected in allowed or content_type in allowed:
            return _accepted(upload, content_type, name)
    elif kind is None:
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in TEXT_EXTENSIONS and allowed is ALLOWED and _is_text(upload):
            return _accepted(upload, TEXT_EXTENSIONS[extension], name)
    raise ValidationError(
        _("%(name)s is not an accepted type of file (documents, images and audio only).")
        % {"name": name},
        code="bad_type",
    )


def _accepted(upload: UploadedFile, content_type: str, name: str) -> CheckedFile:
    # The browser's claimed type is never used again: storage (S3 keeps it as the object's
    # Content-Type) gets the type detected from the content.
    upload.content_type = content_type
    return CheckedFile(upload, content_type, name, upload.size)


def _ooxml_type(upload: UploadedFile) -> str | None:
    """The OOXML type of a zip upload, from its entries; None for any other zip, a damaged
    one, or a macro-enabled document (vbaProject.bin) disguised under an OOXML name."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            manifest = archive.getinfo("[Content_Types].xml")
            # The manifest names the main part's type; it is small (refuse a bomb).
            types = archive.read(manifest) if manifest.file_size <= 1_000_000 else b""
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        return None
    finally:
        upload.seek(0)
    if any(entry.rsplit("/", 1)[-1].lower() == "vbaproject.bin" for entry in names):
        return None
    found = {
        mime
        for part, mime in OOXML_MAIN_PARTS.items()
        if part in names or f"{mime.split('officedocument.')[1]}.main+xml".encode() in types
    }
    return found.pop() if len(found) == 1 else None


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
