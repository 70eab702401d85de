"""The abstract model of a stored private file: a module's attachment model extends it with
what the file belongs to (and may redeclare ``file`` with its own ``upload_to``)."""

from django.conf import settings
from django.db import models

from core.files.checks import CheckedFile
from core.files.storage import private_key, select_private_storage


def private_file_path(instance: "PrivateFile", filename: str) -> str:
    """``<schema>/<app label>/<model>/<random>`` (see private_key); a subclass may name its
    own prefix with ``upload_to``."""
    return private_key(instance._meta.app_label, instance._meta.model_name)


class PrivateFile(models.Model):
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(
        storage=select_private_storage, upload_to=private_file_path, max_length=300
    )
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    def take(self, checked: CheckedFile) -> None:
        """Fill the file fields from a checked upload (core.files.checks.check_upload): the
        type detected from the content, never the browser's claim."""
        self.file = checked.upload
        self.original_name = checked.name
        self.content_type = checked.content_type
        self.size = checked.size
