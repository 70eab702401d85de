"""Private file storage: local disk by default, S3 when configured.

Files are never served from a public URL: downloads go through permission-checked views
(core.files.downloads), which stream local files or redirect to a short-lived presigned S3 URL.
Keys are prefixed with the agency's schema (private_key).
"""

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.utils.functional import LazyObject


def build_private_storage():
    if settings.ATTACHMENTS_S3_BUCKET:
        from storages.backends.s3 import S3Storage

        return S3Storage(
            bucket_name=settings.ATTACHMENTS_S3_BUCKET,
            endpoint_url=settings.ATTACHMENTS_S3_ENDPOINT_URL or None,
            region_name=settings.ATTACHMENTS_S3_REGION,
            # No ACL on upload: objects are then private to the bucket owner, and buckets with
            # ACLs disabled (S3's default since 2023) refuse any ACL but bucket-owner-full-control
            # with AccessControlListNotSupported, which "private" would hit on every upload.
            default_acl=None,
            querystring_auth=True,
            signature_version="s3v4",
            querystring_expire=settings.ATTACHMENT_URL_TTL_SECONDS,
            file_overwrite=False,
            location="attachments",
        )
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


class PrivateStorage(LazyObject):
    def _setup(self):
        self._wrapped = build_private_storage()


private_storage = PrivateStorage()


def is_remote() -> bool:
    return bool(settings.ATTACHMENTS_S3_BUCKET)


def private_key(*parts: object) -> str:
    """A new storage key ``<schema>/<parts...>/<random>``: the current agency's schema first
    (one prefix per agency, for lifecycle rules and for deleting an agency's files), never the
    uploaded name (kept in the row; keys carry no name or extension)."""
    return "/".join([connection.schema_name, *(str(part) for part in parts), uuid.uuid4().hex])


def select_private_storage():
    """FileField's storage callable (keeps migrations independent of the configuration)."""
    return private_storage


def reset_private_storage() -> None:
    """Rebuild the storage from the current settings (tests switching to S3)."""
    from django.utils.functional import empty

    private_storage._wrapped = empty
