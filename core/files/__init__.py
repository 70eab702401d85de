"""Files of any module: upload checks (``checks``: size, type from the content), private
storage with the agency's schema as key prefix (``storage``: local disk, or S3 through
django-storages), downloads after the caller's permission check (``downloads``: streamed, or a
short-lived presigned URL) and an abstract model of a stored file (``models``).

Configuration (portal.settings): PRIVATE_MEDIA_ROOT, ATTACHMENTS_S3_BUCKET,
ATTACHMENTS_S3_ENDPOINT_URL, ATTACHMENTS_S3_REGION, ATTACHMENT_URL_TTL_SECONDS,
ATTACHMENT_MAX_BYTES.
"""
