"""Kept for the migrations, which name ``requests_app.storage.select_private_storage`` as the
attachments' storage: the storage itself is core.files.storage."""

from core.files.storage import select_private_storage

__all__ = ["select_private_storage"]
