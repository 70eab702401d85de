"""Files uploaded first (issue 12), the views' side, shared by every form with attachments
(the new-request form, the beneficiary's reply, the employee's comment): the files a posted
form carries are stored as the person's pending uploads whatever else the form lacks, so that
they are listed (with "remove") when the form comes back with an error. The services check
every id against its owner again when they take them."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from core.converters import parse_id
from requests_app.services import uploads
from requests_app.services.uploads import MAX_ATTACHMENTS
from tenants.models import Agency

PENDING_FIELD = "pending_upload"


def pending_ids(data) -> list[int]:
    """The pending upload ids a posted form carries (checked against their owner by the
    services; anything that is not an id is ignored)."""
    ids = [parse_id(value) for value in data.getlist(PENDING_FIELD)[: 3 * MAX_ATTACHMENTS]]
    return list(dict.fromkeys(i for i in ids if i is not None))


def files_first(request, agency: Agency) -> dict:
    """The "files uploaded first" round of a posted form with attachments: the pending
    uploads it carries (the user's own only), minus one the person removed, plus the files
    just chosen, stored now whatever else the form lacks. Returns ``pending`` (what the form
    now holds), ``errors`` (for the attachments field) and ``changed_only`` (the person asked
    to add or remove a file, not to go on)."""
    errors: list[str] = []
    ids = pending_ids(request.POST)
    with schema_context(agency.schema_name):
        pending = uploads.pending_uploads_owned(user=request.user, ids=ids)
        if len(pending) != len(ids):
            errors.append(
                _(
                    "Some of the files are no longer available: they were removed, sent "
                    "already, or waited more than a day. Attach them again."
                )
            )
        remove = parse_id(request.POST.get("remove"))
        if remove is not None:
            try:
                uploads.pending_upload_remove(agency=agency, user=request.user, upload_id=remove)
            except ValidationError as exc:
                errors.extend(exc.messages)
            else:
                pending = [p for p in pending if p.pk != remove]
        chosen = [f for f in request.FILES.getlist("attachments") if f]
        if chosen:
            created, refused = uploads.pending_upload_add(
                agency=agency, user=request.user, uploads=chosen, kept=len(pending)
            )
            pending += created
            errors += refused
    return {
        "pending": pending,
        "errors": errors,
        "changed_only": remove is not None or "upload" in request.POST,
    }
