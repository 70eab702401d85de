"""Files uploaded first (issue 12): what a person attaches on a form is checked and stored as a
pending upload as soon as the form is posted, whatever else the form lacks, so that nothing
attached is lost when the form comes back with an error. The form carries the pending uploads'
ids in hidden fields; every use of an id is checked here against its owner (a person can never
list, remove or attach someone else's upload). The request (or comment) the form finally creates
takes them: each stored file becomes an attachment's file, without a copy. Pending uploads left
unused are deleted by a periodic job after PENDING_UPLOAD_TTL.

Pending uploads live in the agency's schema (the forms are the agency's) and its private
storage prefix, with the same checks as attachments (core.files.checks: size, type from the
content; at most MAX_ATTACHMENTS per form)."""

from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.actions import use_case
from core.files.checks import CheckedFile, check_upload
from requests_app.models import PendingUpload
from tenants.models import Agency

MAX_ATTACHMENTS = 10
PENDING_UPLOAD_TTL = timedelta(hours=24)
# Beyond one form's files: what one person may keep waiting in one agency (a bound on the
# storage an account can hold without ever submitting).
MAX_PENDING_PER_USER = 3 * MAX_ATTACHMENTS


def _ensure_schema(agency: Agency) -> None:
    if connection.schema_name != agency.schema_name:
        raise RuntimeError("pending uploads are stored in the agency's schema")


def files_check(uploads: Sequence[UploadedFile]) -> tuple[list[CheckedFile], list[str]]:
    """Each file checked (size, type from its content): the accepted ones, and the messages
    of the refused ones."""
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    return checked, errors


def pending_uploads_owned(*, user: User, ids: Iterable[int]) -> list[PendingUpload]:
    """The user's own unexpired pending uploads among ``ids``, in upload order (others' ids,
    expired and unknown ones are left out: the caller compares with what it asked for)."""
    ids = list(dict.fromkeys(ids))
    if not ids or not user.is_authenticated:
        return []
    return list(
        PendingUpload.objects.filter(
            pk__in=ids,
            uploaded_by=user,
            created_at__gte=timezone.now() - PENDING_UPLOAD_TTL,
        )
    )


@use_case
def pending_upload_add(
    *, agency: Agency, user: User, uploads: Sequence[UploadedFile], kept: int = 0
) -> tuple[list[PendingUpload], list[str]]:
    """Store the accepted files of ``uploads`` as the user's pending uploads; ``kept`` is how
    many the form holds already. Returns the new pending uploads and the messages of the files
    refused (wrong type, too big, empty, over the form's or the person's limit): accepted files
    are stored even when others are refused, since a refused file cannot be kept anyway."""
    _ensure_schema(agency)
    if not uploads:
        return [], []
    if kept + len(uploads) > MAX_ATTACHMENTS:
        return [], [_("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}]
    since = timezone.now() - PENDING_UPLOAD_TTL
    waiting = PendingUpload.objects.filter(uploaded_by=user, created_at__gte=since).count()
    if waiting + len(uploads) > MAX_PENDING_PER_USER:
        return [], [
            _("You have too many files waiting to be sent. Send or remove some and try again.")
        ]
    checked, errors = files_check(uploads)
    created = []
    for upload in checked:
        pending = PendingUpload(uploaded_by=user)
        pending.take(upload)
        pending.save()
        created.append(pending)
    return created, errors


@use_case
def pending_upload_remove(*, agency: Agency, user: User, upload_id: int) -> None:
    """Remove one of the user's pending uploads and its file (once the removal commits). An id
    that is not the user's changes nothing and is refused."""
    _ensure_schema(agency)
    pending = PendingUpload.objects.select_for_update().filter(pk=upload_id).first()
    if pending is None or pending.uploaded_by_id != user.pk:
        raise ValidationError({"attachments": _("This file is not among your uploads.")})
    _delete_files_on_commit([pending.file.name])
    pending.delete()


def pending_uploads_take(*, user: User, ids: Sequence[int]) -> list[PendingUpload]:
    """Lock the user's pending uploads ``ids`` for a request or comment being created in the
    caller's transaction, and delete their rows (their stored files now belong to the
    attachments the caller creates). Refuses, changing nothing, when any of them is not the
    user's, has expired or was used already."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    rows = list(
        PendingUpload.objects.select_for_update()
        .filter(pk__in=ids, uploaded_by=user, created_at__gte=timezone.now() - PENDING_UPLOAD_TTL)
        .order_by("created_at", "id")
    )
    if len(rows) != len(ids):
        raise ValidationError(
            {
                "attachments": _(
                    "Some of the files are no longer available: they were removed, sent "
                    "already, or waited more than a day. Attach them again."
                )
            }
        )
    PendingUpload.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return rows


def pending_uploads_clean(*, now=None) -> int:
    """Delete the current agency's pending uploads older than PENDING_UPLOAD_TTL, and their
    files once that commits. Returns how many."""
    cutoff = (now or timezone.now()) - PENDING_UPLOAD_TTL
    with transaction.atomic():
        stale = PendingUpload.objects.select_for_update(skip_locked=True).filter(
            created_at__lt=cutoff
        )
        rows = list(stale.values_list("pk", "file"))
        if not rows:
            return 0
        PendingUpload.objects.filter(pk__in=[pk for pk, _name in rows]).delete()
        _delete_files_on_commit([name for _pk, name in rows])
    return len(rows)


def _delete_files_on_commit(names: list[str]) -> None:
    from core.files.storage import private_storage

    def delete() -> None:
        for name in names:
            try:
                private_storage.delete(name)
            except OSError:  # already gone: nothing to free
                pass

    transaction.on_commit(delete)
