"""A beneficiary submits a request (R-4): created, numbered, assigned, indexed, notified."""

import uuid
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.models import User
from core import audit
from core.files.checks import check_upload
from core.numbering import number_next, reference_format
from notifications.services import notification_send
from requests_app.constants import REFERENCE_NUMBERING, Priority, Status, Visibility
from requests_app.models import Assignment, Request, TimelineEvent, TransactionType
from requests_app.public.models import DocumentIndex
from requests_app.services.distribution import distribution_assign
from requests_app.services.files import attachment_from_pending, attachment_store
from requests_app.services.index import index_sync
from requests_app.services.sla import agency_calendar, sla_due_dates
from requests_app.services.uploads import MAX_ATTACHMENTS, pending_uploads_take
from tenants.models import Agency


def _next_reference(agency: Agency, year: int) -> str:
    """Agency code, year and the agency's gapless sequence of the year, e.g. MOH-2026-000123.
    Its counter row stays locked until the caller's transaction ends: take it last."""
    number = number_next(REFERENCE_NUMBERING, year=year, gapless=True)
    return reference_format(agency.code or agency.slug.upper(), year, number)


def request_submit(
    *,
    agency: Agency,
    beneficiary: User,
    transaction_type_id: int,
    subject: str,
    description: str,
    priority: str | None = None,
    attachments: Sequence[UploadedFile] = (),
    pending_upload_ids: Sequence[int] = (),
) -> Request:
    """Create the request in the agency's schema, assign it, index it, notify: one transaction.

    Attachments are checked (size, type from content) before anything is written;
    ``pending_upload_ids`` name the beneficiary's pending uploads (services.uploads), locked and
    taken in the transaction: another person's, an expired or an already used one refuses the
    whole submission. Invalid input raises ValidationError and changes nothing.
    """
    pending_upload_ids = list(dict.fromkeys(pending_upload_ids))
    subject = (subject or "").strip()
    description = (description or "").strip()
    errors: dict[str, list[str]] = {}
    if not subject:
        errors.setdefault("subject", []).append(_("Enter a subject."))
    elif len(subject) > 200:
        errors.setdefault("subject", []).append(_("The subject is at most 200 characters."))
    if not description:
        errors.setdefault("description", []).append(_("Describe your request."))
    if priority and priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Choose a valid priority."))
    if len(attachments) + len(pending_upload_ids) > MAX_ATTACHMENTS:
        errors.setdefault("attachments", []).append(
            _("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}
        )
    checked = []
    for upload in attachments:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.setdefault("attachments", []).extend(exc.messages)
    if not agency.is_active:
        errors.setdefault("agency", []).append(_("This agency does not accept requests."))
    with schema_context(agency.schema_name):
        request_type = TransactionType.objects.filter(
            pk=transaction_type_id, is_active=True
        ).first()
        if request_type is None:
            errors.setdefault("transaction_type", []).append(_("Choose a service of this agency."))
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            taken = pending_uploads_take(user=beneficiary, ids=pending_upload_ids)
            now = timezone.now()
            item = Request.objects.create(
                # A placeholder: the number is taken last (below), so the agency's counter
                # row stays locked only for the end of the transaction, not all of it.
                reference=f"~{uuid.uuid4().hex}",
                transaction_type=request_type,
                beneficiary=beneficiary,
                subject=subject,
                description=description,
                priority=priority or request_type.default_priority,
                department_id=request_type.department_id,
            )
            calendar, _config = agency_calendar()
            item.first_response_due_at, item.due_at = sla_due_dates(item, calendar)
            item.save(update_fields=["first_response_due_at", "due_at"])
            for upload in checked:
                attachment_store(
                    agency=agency,
                    item=item,
                    uploaded_by=beneficiary,
                    visibility=Visibility.EXTERNAL,
                    checked=upload,
                )
            for pending in taken:
                attachment_from_pending(
                    agency=agency, item=item, visibility=Visibility.EXTERNAL, pending=pending
                )
            TimelineEvent.objects.create(
                request=item,
                kind=TimelineEvent.SUBMITTED,
                visibility=Visibility.EXTERNAL,
                actor=beneficiary,
                data={"attachments": len(checked) + len(taken)},
            )
            assignee, decision = distribution_assign(request=item, now=now)
            Assignment.objects.create(request=item, assignee=assignee, decision=decision)
            if assignee is not None:
                item.assignee = assignee
                item.save(update_fields=["assignee", "updated_at"])
                TimelineEvent.objects.create(
                    request=item,
                    kind=TimelineEvent.ASSIGNED,
                    visibility=Visibility.INTERNAL,
                    data={"assignee": assignee.pk, "auto": True},
                )
            item.reference = _next_reference(agency, timezone.localtime(now).year)
            item.save(update_fields=["reference"])
            DocumentIndex.objects.filter(agency=agency, request_id=item.pk).update(
                reference=item.reference
            )
            index_sync(agency=agency, request=item)
            audit.agency_record(
                actor=beneficiary,
                action="request.submit",
                obj=item,
                after={"type": request_type.pk, "assignee": assignee.pk if assignee else None},
            )
            context = {"reference": item.reference, "subject": item.subject}
            link = f"/requests/{agency.slug}/{item.reference}/"
            notification_send(
                recipient=beneficiary,
                event="request.submitted",
                agency=agency,
                context=context,
                link=link,
                idempotency_key=f"request.submitted:{agency.pk}:{item.pk}",
            )
            if assignee is not None:
                notification_send(
                    recipient=assignee.user,
                    event="request.assigned",
                    agency=agency,
                    context=context,
                    link=f"/a/{agency.slug}/requests/{item.pk}/",
                    idempotency_key=f"request.assigned:{agency.pk}:{item.pk}:{assignee.pk}",
                )
    return item


__all__ = ["MAX_ATTACHMENTS", "request_submit", "Status"]
